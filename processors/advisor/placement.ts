/**
 * How a workload runs on an offer: whether it fits, how many of the offer's GPUs (and
 * machines) it uses, how fast it goes and what it costs. The one model every estimate in the
 * advisor, the cost comparison and the savings report comes from. Pure.
 *
 * - `num_gpus` is what the job uses (0 counts as 1). A job that is not distributed runs on
 *   one machine with at least that many GPUs; a distributed one too, unless `max_nodes`
 *   lets it span machines of the same offer. GPUs of the allocation it does not use are
 *   idle: paid for, never faster.
 * - Memory fits per GPU: `gpu_memory_required_gb` on each GPU used, or that total split
 *   evenly over them when `gpu_memory_sharded`.
 * - Speed, in reference GPUs (A100 40 GB = 1): per-GPU speed x GPUs used x the scaling
 *   efficiency at that count (Amdahl: efficiency = 1 / (g (1 - p) + p)), x
 *   `interNodeEfficiency` once when the job spans machines. Never perfect scaling unless p = 1.
 * - Hours: the workload's work (`expected_duration_h`, hours on one reference GPU) / speed.
 *   Cost: hours x hourly price x machines.
 * - p comes from the workload class's learned scaling record when there is one
 *   (`workload-scaling`, see scaling.ts), else from the prior for its framework and family.
 */
import type { InstanceOffer, ModelFramework, WorkloadProfile } from '../../schemas/generated/records.ts';

/** Relative training throughput per GPU, A100 40 GB = 1 (order of magnitude of published FP16/BF16 training benchmarks). */
export const GPU_THROUGHPUT: Readonly<Record<string, number>> = { T4: 0.18, A10G: 0.35, A10: 0.35, L4: 0.3, V100: 0.45, A100: 1, H100: 2.2 };

export interface ScalingPriors {
  /** Amdahl's parallel fraction p per framework. */
  parallelFraction: Readonly<Record<ModelFramework, number>>;
  /** Overrides by model family: the longest of these words the family contains wins. */
  familyParallelFraction: Readonly<Record<string, number>>;
  /** Speed kept when a job spans machines, applied once. */
  interNodeEfficiency: number;
}

/** What the advisor knows about scaling: the priors, and the learned p per workload class (scalingClass). */
export interface ScalingKnowledge {
  priors: ScalingPriors;
  learned: ReadonlyMap<string, { parallel_fraction: number }>;
}

export type Misfit = 'no-gpu' | 'too-few-gpus' | 'gpu-memory';

export interface Placement {
  fits: boolean;
  /** Why it does not fit; null when it does. */
  misfit: Misfit | null;
  /** Machines of the offer the job takes. */
  nodes: number;
  /** GPUs the job uses. */
  gpusUsed: number;
  /** GPUs paid for: nodes x the offer's GPUs. */
  gpusAllocated: number;
  idleGpus: number;
  /** GPU memory the job needs on each GPU it uses. */
  memoryPerGpuGb: number;
  /** Per-GPU memory of the offer / the need (NaN when the job states no need). */
  memoryHeadroom: number;
  /** Relative speed of one of the offer's GPUs (NaN: unknown GPU type). */
  perGpuSpeed: number;
  /** Scaling efficiency at gpusUsed (1 on one GPU), inter-node loss included. */
  efficiency: number;
  /** The job's speed on the offer, in reference GPUs (NaN when the GPU is unknown). */
  speed: number;
  /** Estimated hours (NaN without an expectation or a known GPU). */
  hours: number;
  /** Hourly price of the allocation: on-demand price x nodes. */
  hourlyUsd: number;
  /** hours x hourlyUsd (NaN when the hours are). */
  costUsd: number;
}

/** The GPUs a job uses: num_gpus, at least 1. */
export function gpusOf(w: WorkloadProfile): number {
  return Math.max(1, w.num_gpus);
}

/** The workload class scaling is learned for: framework and model family. */
export function scalingClass(w: Pick<WorkloadProfile, 'framework' | 'model_family'>): string {
  return `${w.framework}|${w.model_family.trim().toLowerCase()}`;
}

export function priorParallelFraction(w: Pick<WorkloadProfile, 'framework' | 'model_family'>, priors: ScalingPriors): number {
  const family = w.model_family.trim().toLowerCase();
  let best: string | null = null;
  for (const word of Object.keys(priors.familyParallelFraction)) {
    if (family.includes(word.toLowerCase()) && (best === null || word.length > best.length || (word.length === best.length && word < best))) best = word;
  }
  return best !== null ? (priors.familyParallelFraction[best] as number) : (priors.parallelFraction[w.framework] ?? priors.parallelFraction.OTHER);
}

/** Amdahl's efficiency on g GPUs: speed-up / g, with speed-up 1 / ((1 - p) + p / g). */
export function amdahlEfficiency(p: number, g: number): number {
  return g <= 1 ? 1 : 1 / (g * (1 - p) + p);
}

/** The job's parallel fraction: learned for its class when known, else the prior. */
export function parallelFractionOf(w: WorkloadProfile, knowledge: ScalingKnowledge): { p: number; learned: boolean } {
  const learned = knowledge.learned.get(scalingClass(w));
  return learned ? { p: learned.parallel_fraction, learned: true } : { p: priorParallelFraction(w, knowledge.priors), learned: false };
}

/**
 * Where `w` stands on `o`, for a parallel fraction p. `work` overrides the workload's own
 * expectation (hours on one reference GPU) when given.
 */
export function place(w: WorkloadProfile, o: InstanceOffer, p: number, interNodeEfficiency: number, work: number | null = w.expected_duration_h): Placement {
  const n = gpusOf(w);
  const perGpu = o.gpu_count > 0 ? (GPU_THROUGHPUT[o.gpu_type ?? ''] ?? Number.NaN) : Number.NaN;
  const memoryPerGpuGb = w.gpu_memory_sharded ? w.gpu_memory_required_gb / n : w.gpu_memory_required_gb;
  let nodes = 1;
  let misfit: Misfit | null = null;
  if (o.gpu_count <= 0) misfit = 'no-gpu';
  else if (o.gpu_count < n) {
    const needed = Math.ceil(n / o.gpu_count);
    if (w.distributed && needed <= Math.max(1, w.max_nodes)) nodes = needed;
    else misfit = 'too-few-gpus';
  }
  if (misfit === null && o.gpu_memory_gb < memoryPerGpuGb) misfit = 'gpu-memory';
  const gpusAllocated = nodes * Math.max(0, o.gpu_count);
  const efficiency = amdahlEfficiency(p, n) * (nodes > 1 ? interNodeEfficiency : 1);
  const speed = perGpu * n * efficiency;
  const hours = work === null ? Number.NaN : work / speed;
  const hourlyUsd = o.on_demand_price_usd * nodes;
  return {
    fits: misfit === null,
    misfit,
    nodes,
    gpusUsed: n,
    gpusAllocated,
    idleGpus: Math.max(0, gpusAllocated - n),
    memoryPerGpuGb,
    memoryHeadroom: memoryPerGpuGb > 0 ? o.gpu_memory_gb / memoryPerGpuGb : Number.NaN,
    perGpuSpeed: perGpu,
    efficiency,
    speed,
    hours,
    hourlyUsd,
    costUsd: hours * hourlyUsd,
  };
}

/** One workload against many offers: p is looked up once. */
export interface JobModel {
  readonly workload: WorkloadProfile;
  readonly parallelFraction: number;
  readonly learnedScaling: boolean;
  place(o: InstanceOffer, work?: number | null): Placement;
}

export function jobModel(w: WorkloadProfile, knowledge: ScalingKnowledge): JobModel {
  const { p, learned } = parallelFractionOf(w, knowledge);
  const inter = knowledge.priors.interNodeEfficiency;
  return {
    workload: w,
    parallelFraction: p,
    learnedScaling: learned,
    place: (o, work = w.expected_duration_h) => place(w, o, p, inter, work),
  };
}

/** Words for a misfit, for explanations. */
export function describeMisfit(w: WorkloadProfile, o: InstanceOffer, misfit: Misfit): string {
  const n = gpusOf(w);
  switch (misfit) {
    case 'no-gpu':
      return `${o.instance_type} has no GPU`;
    case 'too-few-gpus':
      return w.distributed && w.max_nodes > 1
        ? `${o.instance_type} has ${o.gpu_count} GPU(s): the job's ${n} would take ${Math.ceil(n / o.gpu_count)} machines, more than its max_nodes ${w.max_nodes}`
        : `${o.instance_type} has ${o.gpu_count} GPU(s) on one machine; the job uses ${n}${w.distributed ? ' and may not span machines (max_nodes 1)' : ' and is not distributed'}`;
    case 'gpu-memory': {
      const need = w.gpu_memory_sharded ? w.gpu_memory_required_gb / n : w.gpu_memory_required_gb;
      return `${o.instance_type} has ${o.gpu_memory_gb} GB per GPU; the job needs ${need.toFixed(1)} GB on each${w.gpu_memory_sharded ? ` (${w.gpu_memory_required_gb} GB sharded over ${n})` : ''}`;
    }
  }
}
