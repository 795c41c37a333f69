/**
 * Provider comparison for a workload: for every offer that can take it (enough GPUs on a
 * machine, or machines for a distributed job allowed to span them, and enough memory per
 * GPU), the price per hour, an estimated duration and cost, the GPUs it would leave idle,
 * availability, and whether it is on the Pareto frontier of cost against time (no other
 * offer is both cheaper and faster). Pure.
 *
 * Duration: the median of observed runs of this workload class on the offer when there are
 * any, else the workload's work (hours on one A100) / its speed on the offer: the GPUs it
 * uses x per-GPU speed x scaling efficiency (processors/advisor/placement.ts). A bigger
 * machine's idle GPUs are paid for and never make it faster. Without an expected duration,
 * one A100-hour of work is assumed (`durationSource` says 'per A100-hour').
 */
import type { InstanceOffer, WorkloadProfile } from '../../schemas/generated/records.ts';
import { DEFAULT_SCALING } from '../advisor/features.ts';
import { jobModel, type ScalingKnowledge } from '../advisor/placement.ts';
import { offerKey } from './labelsByOffer.ts';
import { median } from './robust.ts';

export interface OfferComparison {
  provider: string;
  region: string;
  instanceType: string;
  onDemandPerHour: number;
  spotPerHour: number | null;
  estimatedHours: number;
  estimatedCostUsd: number;
  durationSource: 'observed' | 'estimated' | 'per A100-hour';
  gpusUsed: number;
  idleGpus: number;
  nodes: number;
  scalingEfficiency: number;
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

export function isFeasible(w: WorkloadProfile, o: InstanceOffer, scaling: ScalingKnowledge = DEFAULT_SCALING): boolean {
  return jobModel(w, scaling).place(o).fits;
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
  scaling: ScalingKnowledge = DEFAULT_SCALING,
): { offers: OfferComparison[]; providers: ProviderSummary[] } {
  const job = jobModel(workload, scaling);
  const work = workload.expected_duration_h ?? 1;
  const rows = catalog.flatMap((o) => {
    const p = job.place(o, work);
    if (!p.fits) return [];
    const seen = observedHours.get(offerKey(o)) ?? [];
    // An unknown GPU type counts as half an A100 here (as it always has): a comparison needs a number.
    const hours = seen.length > 0 ? median(seen) : Number.isFinite(p.hours) ? p.hours : job.place({ ...o, gpu_type: 'A100' }, work).hours * 2;
    return [
      {
        provider: o.provider,
        region: o.region,
        instanceType: o.instance_type,
        onDemandPerHour: o.on_demand_price_usd,
        spotPerHour: o.spot_price_usd,
        estimatedHours: hours,
        estimatedCostUsd: hours * p.hourlyUsd,
        durationSource: seen.length > 0 ? ('observed' as const) : workload.expected_duration_h === null ? ('per A100-hour' as const) : ('estimated' as const),
        gpusUsed: p.gpusUsed,
        idleGpus: p.idleGpus,
        nodes: p.nodes,
        scalingEfficiency: p.efficiency,
        available: o.available,
        pareto: false,
      },
    ];
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
