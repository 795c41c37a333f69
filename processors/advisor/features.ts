/**
 * The feature vector of a (workload, instance offer) pair: 31 numbers, documented below, in
 * a fixed order (the ranker's input, and the learned model's). Missing values are NaN,
 * never a made-up number: tree ensembles, ONNX's included, route NaN as "missing".
 * Pure; the preemption history of the offer comes in from spot risk, and what the job gets
 * from the offer (GPUs used, idle GPUs, speed, hours, cost) from its placement
 * (placement.ts), so that idle GPUs count as cost and waste, never as speed.
 */
import { DEFAULTS } from '../../config/options.ts';
import type { InstanceOffer, ModelFramework, SpotRisk, WorkloadProfile } from '../../schemas/generated/records.ts';
import { ModelFrameworkValues } from '../../schemas/generated/records.ts';
import { jobModel, type Placement, type ScalingKnowledge } from './placement.ts';

export const FEATURE_NAMES = [
  'gpu_count', // GPUs on one machine of the offer
  'gpu_memory_per_gpu_gb',
  'gpu_memory_headroom', // per GPU: the offer's memory / what the job needs on each GPU (NaN when it states no need)
  'gpus_used', // GPUs the job uses
  'idle_gpus', // GPUs paid for and not used
  'idle_gpu_share', // idle / allocated
  'nodes', // machines the job takes
  'per_gpu_speed', // relative speed of one GPU, A100 = 1 (NaN: unknown GPU)
  'scaling_efficiency', // at the GPUs used, inter-node loss included (1 on one GPU)
  'job_speed', // per-GPU speed x GPUs used x efficiency: the job's own speed, in A100s
  'vcpus',
  'memory_gb',
  'on_demand_usd_per_hour', // one machine
  'spot_usd_per_hour', // NaN: no spot offer
  'spot_discount', // 1 - spot / on-demand, NaN without spot
  'usd_per_gpu_hour',
  'estimated_hours', // work (hours on one A100) / job speed (NaN without an expectation or a known GPU)
  'estimated_cost_usd', // hours x hourly price x nodes
  'idle_cost_usd', // the share of that cost paid for idle GPUs
  'speed_per_usd', // job speed / hourly price of the allocation
  'preemption_rate', // spot risk's posterior mean for the offer, NaN without history
  'preemption_rate_upper', // the upper end of its credible interval
  'spot_runs_observed', // runs behind that estimate (0 without history)
  'log10_params',
  'log10_dataset_gb',
  'distributed', // 1 or 0
  'available', // 1 or 0
  'framework_code', // index in ModelFramework, so every framework is distinct
  'framework_is_llm_stack', // HUGGINGFACE, JAX, PYTORCH with > 1B parameters: large-memory workloads
  'framework_is_tree', // XGBOOST, LIGHTGBM, SKLEARN: little use for many GPUs
  'gpu_fits', // 1 when GPU count and per-GPU memory are enough
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;
/** Position of each feature in the vector. */
export const FEATURE_INDEX = Object.fromEntries(FEATURE_NAMES.map((name, i) => [name, i])) as Readonly<Record<FeatureName, number>>;

const TREE_FRAMEWORKS: readonly ModelFramework[] = ['XGBOOST', 'LIGHTGBM', 'SKLEARN'];

/** The priors of the default configuration and nothing learned: for callers that have no scaling table at hand. */
export const DEFAULT_SCALING: ScalingKnowledge = { priors: DEFAULTS.advisor.scaling, learned: new Map() };

/**
 * Writes the pair's features into `out` from `offset` on (a row of a matrix), and returns
 * `out`. `placement` is where the workload stands on the offer (placement.ts); computed
 * with the default scaling priors when not given.
 */
export function extractFeatures(
  w: WorkloadProfile,
  o: InstanceOffer,
  risk: SpotRisk | null,
  out = new Float64Array(FEATURE_COUNT),
  offset = 0,
  placement: Placement = jobModel(w, DEFAULT_SCALING).place(o),
): Float64Array {
  const p = placement;
  const spot = o.spot_price_usd ?? Number.NaN;
  const frameworkCode = ModelFrameworkValues.indexOf(w.framework);
  let i = offset;
  out[i++] = o.gpu_count;
  out[i++] = o.gpu_memory_gb;
  out[i++] = p.memoryHeadroom;
  out[i++] = p.gpusUsed;
  out[i++] = p.idleGpus;
  out[i++] = p.gpusAllocated > 0 ? p.idleGpus / p.gpusAllocated : Number.NaN;
  out[i++] = p.nodes;
  out[i++] = p.perGpuSpeed;
  out[i++] = p.efficiency;
  out[i++] = p.speed;
  out[i++] = o.vcpus;
  out[i++] = o.memory_gb;
  out[i++] = o.on_demand_price_usd;
  out[i++] = spot;
  out[i++] = o.on_demand_price_usd > 0 ? 1 - spot / o.on_demand_price_usd : Number.NaN;
  out[i++] = o.gpu_count > 0 ? o.on_demand_price_usd / o.gpu_count : Number.NaN;
  out[i++] = p.hours;
  out[i++] = p.costUsd;
  out[i++] = p.gpusAllocated > 0 ? (p.costUsd * p.idleGpus) / p.gpusAllocated : Number.NaN;
  out[i++] = p.hourlyUsd > 0 ? p.speed / p.hourlyUsd : Number.NaN;
  out[i++] = risk ? risk.preemption_rate : Number.NaN;
  out[i++] = risk ? risk.rate_upper : Number.NaN;
  out[i++] = risk ? risk.runs : 0;
  out[i++] = w.param_count > 0 ? Math.log10(w.param_count) : Number.NaN;
  out[i++] = w.dataset_size_gb > 0 ? Math.log10(w.dataset_size_gb) : Number.NaN;
  out[i++] = w.distributed ? 1 : 0;
  out[i++] = o.available ? 1 : 0;
  out[i++] = frameworkCode;
  out[i++] = w.framework === 'HUGGINGFACE' || w.framework === 'JAX' || (w.framework === 'PYTORCH' && w.param_count > 1e9) ? 1 : 0;
  out[i++] = TREE_FRAMEWORKS.includes(w.framework) ? 1 : 0;
  out[i++] = p.fits ? 1 : 0;
  return out;
}

export function feature(v: Float64Array, name: FeatureName): number {
  return v[FEATURE_INDEX[name]] as number;
}
