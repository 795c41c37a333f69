/** The application's own metrics, registered beside the runtime's: which learned ranker serves. */
import { Gauge, type Registry } from 'prom-client';
import type { AdvisorModel } from '../schemas/generated/records.ts';
import { servingModel } from '../processors/advisor/servingModel.ts';

export function registerAdvisorMetrics(registry: Registry, models: () => ReadonlyMap<string, AdvisorModel> | undefined): void {
  new Gauge({
    name: 'artenic_advisor_model',
    help: 'The learned ranker in service: its sequence number, labelled with its version (absent while the heuristic serves).',
    labelNames: ['version'],
    registers: [registry],
    collect() {
      this.reset();
      const current = servingModel(models() ?? new Map())?.record;
      if (current) this.set({ version: current.model_version }, current.sequence);
    },
  });
}
