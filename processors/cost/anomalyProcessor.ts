/**
 * Unusually expensive runs: each succeeded run's cost against the median and MAD of the
 * runs before it of the same workload class (the query id) on the same offer (provider,
 * region, instance type: regions are priced apart). Judged once `anomalies.minSamples`
 * runs are known. Flagged when both hold: the modified z-score exceeds
 * `anomalies.threshold` (3.5, Iglewicz-Hoaglin) and the cost is at least
 * `anomalies.minRatioToMedian` (1.5) times the median. The second is an effect-size floor:
 * with a tight history (10% spread) a z of 3.5 is only ~40% above the median, and a
 * run-of-the-mill tail would alarm every few thousand runs.
 * Failed and preempted runs are not judged (they are short, not expensive) nor kept.
 */
import type { CostAnomaly, OfferRun } from '../../schemas/generated/records.ts';
import type { InputRecord, Processor, ProcessorContext } from '../../topology/processor.ts';
import { LABELS_BY_OFFER, offerKey } from './labelsByOffer.ts';
import { robustZ } from './robust.ts';

export const COST_HISTORY_STORE = 'cost-history';

export interface AnomalyOptions {
  minSamples: number;
  threshold: number;
  minRatioToMedian: number;
  maxHistory: number;
}

/** Judges one cost against a history; pure. */
export function judgeCost(cost: number, history: readonly number[], o: AnomalyOptions): { anomalous: boolean; z: number; median: number; mad: number } | null {
  if (history.length < o.minSamples) return null;
  const r = robustZ(cost, history);
  return { anomalous: r.z > o.threshold && cost >= r.median * o.minRatioToMedian, ...r };
}

export function anomalyProcessor(options: AnomalyOptions): Processor {
  return {
    name: 'cost-anomalies',
    inputs: [],
    repartitions: [LABELS_BY_OFFER],
    stores: [{ name: COST_HISTORY_STORE }],
    process(record: InputRecord, ctx: ProcessorContext): void {
      const label = record.value as OfferRun;
      if (label.status !== 'SUCCEEDED') return;
      const store = ctx.getStateStore<number[]>(COST_HISTORY_STORE);
      const key = `${label.query_id}|${offerKey(label.instance)}`;
      const history = store.get(key) ?? [];
      const verdict = judgeCost(label.cost_usd, history, options);
      if (verdict?.anomalous) {
        const anomaly: CostAnomaly = {
          event_id: `anomaly:${label.job_id}`,
          event_time: label.event_time,
          job_id: label.job_id,
          team: label.team,
          workload_class: label.query_id,
          provider: label.instance.provider,
          region: label.instance.region,
          instance_type: label.instance.instance_type,
          cost_usd: label.cost_usd,
          median_cost_usd: verdict.median,
          mad_usd: verdict.mad,
          robust_z: Number.isFinite(verdict.z) ? verdict.z : 1e9,
          threshold: options.threshold,
          sample_count: history.length,
          reason: `cost ${label.cost_usd.toFixed(2)} vs median ${verdict.median.toFixed(2)} of ${history.length} runs: modified z ${Number.isFinite(verdict.z) ? verdict.z.toFixed(1) : 'inf'} > ${options.threshold}, ${(label.cost_usd / verdict.median).toFixed(2)}x the median`,
        };
        ctx.forward('cost-anomalies', label.job_id, anomaly);
      }
      store.put(key, [...history, label.cost_usd].slice(-options.maxHistory));
    },
  };
}
