/**
 * How a job really runs on an offer in the simulated platform: the ground truth the event
 * generator, the ranking data and the regret benchmark share. Hidden from the advisor,
 * which has its own model of the same thing (processors/advisor/placement.ts) and learns
 * the scaling part from outcomes.
 *
 * - Fit: the job uses `num_gpus` GPUs (at least 1) on one machine, or on several machines of
 *   the offer when it is distributed and `max_nodes` allows; each GPU needs
 *   `gpu_memory_required_gb` (that total split over the GPUs when sharded). A job that does
 *   not fit fails: out of memory, or not enough GPUs.
 * - Speed = per-GPU speed ^ saturation x GPUs used x scaling efficiency (Amdahl with the
 *   job's own parallel fraction, x the inter-node loss when it spans machines). `saturation`
 *   < 1 says a small model cannot keep a fast GPU busy (an H100 is not 2.5x an A100 for a
 *   small CNN). Idle GPUs of the allocation add nothing.
 * - Hours = the job's work (hours on one A100) / speed; cost = hours x price x machines.
 */
import type { WorkloadProfile } from '../schemas/generated/records.ts';
import type { CatalogOffer } from './catalog.ts';

/** What the platform does not tell the advisor about a job. */
export interface HiddenTraits {
  /** Amdahl's parallel fraction of this job. */
  parallelFraction: number;
  /** How much of a faster GPU's speed the job can use: effective speed = gpuSpeed ^ saturation. */
  saturation: number;
}

/** Speed kept when a job spans machines. */
export const TRUE_INTER_NODE_EFFICIENCY = 0.85;

export interface TrueRun {
  fits: boolean;
  /** Why it fails when it does not fit: the error the run ends with. */
  error: 'CUDA out of memory' | 'not enough GPUs' | null;
  nodes: number;
  gpusUsed: number;
  idleGpus: number;
  speed: number;
  /** Hours of the whole run (NaN when it does not fit). */
  hours: number;
  /** On-demand cost of the run (NaN when it does not fit). */
  costUsd: number;
}

export function trueRun(w: WorkloadProfile, traits: HiddenTraits, offer: CatalogOffer, work: number): TrueRun {
  const n = Math.max(1, w.num_gpus);
  let nodes = 1;
  let error: TrueRun['error'] = null;
  if (offer.gpuCount < n) {
    const needed = Math.ceil(n / offer.gpuCount);
    if (w.distributed && needed <= Math.max(1, w.max_nodes)) nodes = needed;
    else error = 'not enough GPUs';
  }
  const perGpuNeed = w.gpu_memory_sharded ? w.gpu_memory_required_gb / n : w.gpu_memory_required_gb;
  if (error === null && offer.gpuMemoryGb < perGpuNeed) error = 'CUDA out of memory';
  const p = traits.parallelFraction;
  const efficiency = (n <= 1 ? 1 : 1 / (n * (1 - p) + p)) * (nodes > 1 ? TRUE_INTER_NODE_EFFICIENCY : 1);
  const speed = offer.gpuSpeed ** traits.saturation * n * efficiency;
  const hours = error ? Number.NaN : work / speed;
  return { fits: error === null, error, nodes, gpusUsed: n, idleGpus: nodes * offer.gpuCount - n, speed, hours, costUsd: hours * offer.onDemand * nodes };
}
