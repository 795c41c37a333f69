/**
 * Provider comparison for a workload: for every feasible offer in the catalog, the price per
 * hour, an estimated duration and cost, availability, and whether it is on the Pareto
 * frontier of cost against time (no other offer is both cheaper and faster). Pure.
 *
 * Duration: the median of observed runs of this workload class on the offer when there are
 * any, else the workload's expected duration scaled by the offer's relative GPU throughput
 * (`GPU_THROUGHPUT`, A100 = 1, times the GPU count).
 */
import type { InstanceOffer, WorkloadProfile } from '../../schemas/generated/records.ts';
import { offerKey } from './labelsByOffer.ts';
import { median } from './robust.ts';

/** Relative training throughput per GPU, A100 = 1 (order of magnitude of published FP16 benchmarks). */
export const GPU_THROUGHPUT: Record<string, number> = { T4: 0.18, A10G: 0.35, A10: 0.35, L4: 0.3, V100: 0.45, A100: 1, H100: 2.2 };

export interface OfferComparison {
  provider: string;
  region: string;
  instanceType: string;
  onDemandPerHour: number;
  spotPerHour: number | null;
  estimatedHours: number;
  estimatedCostUsd: number;
  durationSource: 'observed' | 'estimated';
  available: boolean;
  pareto: boolean;
}

export interface ProviderSummary {
  provider: string;
  offers: number;
  regions: number;
  availableShare: number;
  cheapestCostUsd: number;
}

export function isFeasible(w: WorkloadProfile, o: InstanceOffer): boolean {
  return o.gpu_count >= Math.max(1, w.num_gpus) && o.gpu_count * o.gpu_memory_gb >= w.gpu_memory_required_gb;
}

/** Indices of the points no other point dominates (<= on both, < on one). */
export function paretoFront(points: ReadonlyArray<{ cost: number; time: number }>): Set<number> {
  const front = new Set<number>();
  points.forEach((p, i) => {
    const dominated = points.some((q, j) => j !== i && q.cost <= p.cost && q.time <= p.time && (q.cost < p.cost || q.time < p.time));
    if (!dominated) front.add(i);
  });
  return front;
}

export function compareProviders(
  workload: WorkloadProfile,
  catalog: readonly InstanceOffer[],
  observedHours: ReadonlyMap<string, readonly number[]> = new Map(),
): { offers: OfferComparison[]; providers: ProviderSummary[] } {
  const baseHours = workload.expected_duration_h ?? 1;
  const rows = catalog.filter((o) => isFeasible(workload, o)).map((o) => {
    const seen = observedHours.get(offerKey(o)) ?? [];
    const throughput = (GPU_THROUGHPUT[o.gpu_type ?? ''] ?? 0.5) * o.gpu_count;
    const estimatedHours = seen.length > 0 ? median(seen) : baseHours / throughput;
    return {
      provider: o.provider,
      region: o.region,
      instanceType: o.instance_type,
      onDemandPerHour: o.on_demand_price_usd,
      spotPerHour: o.spot_price_usd,
      estimatedHours,
      estimatedCostUsd: estimatedHours * o.on_demand_price_usd,
      durationSource: seen.length > 0 ? ('observed' as const) : ('estimated' as const),
      available: o.available,
      pareto: false,
    };
  });
  const front = paretoFront(rows.map((r) => ({ cost: r.available ? r.estimatedCostUsd : Infinity, time: r.available ? r.estimatedHours : Infinity })));
  const offers = rows.map((r, i) => ({ ...r, pareto: r.available && front.has(i) })).sort((a, b) => a.estimatedCostUsd - b.estimatedCostUsd || a.estimatedHours - b.estimatedHours);
  const providers = [...new Set(offers.map((o) => o.provider))].sort().map((provider) => {
    const own = offers.filter((o) => o.provider === provider);
    return {
      provider,
      offers: own.length,
      regions: new Set(own.map((o) => o.region)).size,
      availableShare: own.filter((o) => o.available).length / own.length,
      cheapestCostUsd: Math.min(...own.map((o) => o.estimatedCostUsd)),
    };
  });
  return { offers, providers };
}
