import { createHash } from 'node:crypto';
import type { WorkloadProfile } from '../../schemas/generated/records.ts';

function log2Bucket(x: number): number {
  return x <= 0 ? 0 : Math.round(Math.log2(x));
}

/**
 * The ranking query id: workloads that ought to be ranked against each other hash alike.
 * Sizes are bucketed on a log2 scale (a 7B and an 8B model are the same query), so the
 * learned ranker sees groups with several candidates rather than one sample per query.
 */
export function workloadHash(w: WorkloadProfile): string {
  const canonical = [
    w.framework,
    w.model_family.trim().toLowerCase(),
    `p${log2Bucket(w.param_count)}`,
    `d${log2Bucket(w.dataset_size_gb)}`,
    `m${Math.ceil(w.gpu_memory_required_gb / 8)}`,
    `g${w.num_gpus}`,
    w.distributed ? 'dist' : 'single',
  ].join('|');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
