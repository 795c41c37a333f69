/**
 * Learns how each workload class scales with GPUs from its runs (scaling.ts), on the labels
 * the trainer reads (every label under one key, so one task holds every class), and
 * publishes the estimate to the compacted workload-scaling topic, keyed by class, when it
 * first sees the class and whenever its parallel fraction moves by `emitMinDelta`. The
 * advisor, the trainer and the CLI read that topic (or its ClickHouse table) and fall back
 * to the prior for a class it does not hold.
 */
import type { InstanceOffer, ModelFramework, RelevanceLabel, WorkloadScaling } from '../../schemas/generated/records.ts';
import type { InputRecord, Processor, ProcessorContext } from '../../topology/processor.ts';
import { priorParallelFraction, scalingClass, type ScalingPriors } from './placement.ts';
import { findOffer } from './processor.ts';
import { addObservation, efficiencyAt, EMPTY_STATS, estimateScaling, observation, type ScalingStats } from './scaling.ts';
import { LABELS_FOR_TRAINING } from './trainer.ts';

export const SCALING_STORE = 'advisor-scaling';

export interface ScalingOptions extends ScalingPriors {
  priorWeightRuns: number;
  emitMinDelta: number;
  maxClasses: number;
}

interface ClassState {
  framework: ModelFramework;
  modelFamily: string;
  stats: ScalingStats;
  /** Parallel fraction last published; null before the first record. */
  published: number | null;
  lastSeen: number;
}

export function toScalingRecord(key: string, state: ClassState, options: ScalingOptions, eventTime: number): WorkloadScaling {
  const e = estimateScaling(state.stats, priorParallelFraction({ framework: state.framework, model_family: state.modelFamily }, options), options.priorWeightRuns);
  return {
    event_id: `scaling:${key}:${state.stats.runs}`,
    event_time: eventTime,
    class_key: key,
    framework: state.framework,
    model_family: state.modelFamily,
    runs: state.stats.runs,
    multi_gpu_runs: state.stats.multiGpuRuns,
    gpu_counts: state.stats.gpuCounts,
    parallel_fraction: e.parallelFraction,
    prior_parallel_fraction: e.prior,
    observed_parallel_fraction: e.observed,
    expectation_ratio: e.expectationRatio,
    efficiency_at_8: efficiencyAt(e, 8),
  };
}

export function scalingProcessor(options: ScalingOptions): Processor {
  return {
    name: 'advisor-scaling',
    inputs: [],
    repartitions: [LABELS_FOR_TRAINING],
    globalTables: ['instance-catalog'],
    stores: [{ name: SCALING_STORE }],
    process(record: InputRecord, ctx: ProcessorContext): void {
      const label = record.value as RelevanceLabel;
      const offer = findOffer(ctx.getGlobalTable('instance-catalog') as ReadonlyMap<string, InstanceOffer>, label.instance);
      const seen = offer ? observation(label, offer, options) : null;
      if (!seen) return;
      const store = ctx.getStateStore<ClassState>(SCALING_STORE);
      const key = scalingClass(label.workload);
      const prev = store.get(key) ?? { framework: label.workload.framework, modelFamily: label.workload.model_family.trim().toLowerCase(), stats: EMPTY_STATS, published: null, lastSeen: 0 };
      const next: ClassState = { ...prev, stats: addObservation(prev.stats, seen), lastSeen: Math.max(prev.lastSeen, label.event_time) };
      const out = toScalingRecord(key, next, options, label.event_time);
      if (next.published === null || Math.abs(out.parallel_fraction - next.published) >= options.emitMinDelta) {
        next.published = out.parallel_fraction;
        ctx.forward('workload-scaling', key, out);
      }
      store.put(key, next);
      if (store.size > options.maxClasses) {
        const excess = store.size - options.maxClasses + Math.ceil(options.maxClasses / 100);
        for (const [k] of [...store.entries()].sort((a, b) => a[1].lastSeen - b[1].lastSeen || (a[0] < b[0] ? -1 : 1)).slice(0, excess)) store.delete(k);
        ctx.count('scaling-classes-evicted', excess);
      }
    },
  };
}
