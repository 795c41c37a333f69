/**
 * The feature vector of a (workload, instance offer) pair: 26 numbers, documented below, in
 * a fixed order (the ranker's input, and later the learned model's). Missing values are NaN,
 * never a made-up number: tree ensembles, ONNX's included, route NaN as "missing".
 * Pure; the preemption history of the offer comes in from spot risk.
 */
import type { InstanceOffer, ModelFramework, SpotRisk, WorkloadProfile } from '../../schemas/generated/records.ts';
import { ModelFrameworkValues } from '../../schemas/generated/records.ts';
import { GPU_THROUGHPUT } from '../cost/providerComparison.ts';

export const FEATURE_NAMES = [
  'gpu_count', // GPUs on the offer
  'gpu_memory_per_gpu_gb',
  'gpu_memory_total_gb',
  'gpu_memory_headroom', // total GPU memory / what the workload needs (NaN when it needs none)
  'gpu_count_ratio', // offer GPUs / requested GPUs
  'gpu_throughput', // relative training throughput of the whole offer, A100 = 1 (NaN: unknown GPU)
  'vcpus',
  'memory_gb',
  'on_demand_usd_per_hour',
  'spot_usd_per_hour', // NaN: no spot offer
  'spot_discount', // 1 - spot / on-demand, NaN without spot
  'usd_per_gpu_hour',
  'estimated_hours', // expected A100 hours / throughput (NaN without an expectation or a known GPU)
  'estimated_cost_usd',
  'throughput_per_usd',
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
  'gpu_fits', // 1 when memory and GPU count are enough
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;
/** Position of each feature in the vector. */
export const FEATURE_INDEX = Object.fromEntries(FEATURE_NAMES.map((name, i) => [name, i])) as Readonly<Record<FeatureName, number>>;

const TREE_FRAMEWORKS: readonly ModelFramework[] = ['XGBOOST', 'LIGHTGBM', 'SKLEARN'];

/** Writes the pair's features into `out` from `offset` on (a row of a matrix), and returns `out`. */
export function extractFeatures(w: WorkloadProfile, o: InstanceOffer, risk: SpotRisk | null, out = new Float64Array(FEATURE_COUNT), offset = 0): Float64Array {
  const totalMem = o.gpu_count * o.gpu_memory_gb;
  const perGpu = GPU_THROUGHPUT[o.gpu_type ?? ''];
  const throughput = perGpu === undefined || o.gpu_count === 0 ? Number.NaN : perGpu * o.gpu_count;
  const hours = w.expected_duration_h === null ? Number.NaN : w.expected_duration_h / throughput;
  const spot = o.spot_price_usd ?? Number.NaN;
  const frameworkCode = ModelFrameworkValues.indexOf(w.framework);
  let i = offset;
  out[i++] = o.gpu_count;
  out[i++] = o.gpu_memory_gb;
  out[i++] = totalMem;
  out[i++] = w.gpu_memory_required_gb > 0 ? totalMem / w.gpu_memory_required_gb : Number.NaN;
  out[i++] = o.gpu_count / Math.max(1, w.num_gpus);
  out[i++] = throughput;
  out[i++] = o.vcpus;
  out[i++] = o.memory_gb;
  out[i++] = o.on_demand_price_usd;
  out[i++] = spot;
  out[i++] = o.on_demand_price_usd > 0 ? 1 - spot / o.on_demand_price_usd : Number.NaN;
  out[i++] = o.gpu_count > 0 ? o.on_demand_price_usd / o.gpu_count : Number.NaN;
  out[i++] = hours;
  out[i++] = hours * o.on_demand_price_usd;
  out[i++] = throughput / o.on_demand_price_usd;
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
  out[i++] = totalMem >= w.gpu_memory_required_gb && o.gpu_count >= w.num_gpus ? 1 : 0;
  return out;
}

export function feature(v: Float64Array, name: FeatureName): number {
  return v[FEATURE_INDEX[name]] as number;
}
