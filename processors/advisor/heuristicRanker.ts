/**
 * The heuristic ranker: weighted sum of four scores, each min-max normalised within the
 * candidate set (so weights compare like with like): cost 40% (cheaper is better), GPU 30%
 * (throughput), memory 20% (GPU memory headroom) and reliability 10% (1 - preemption rate;
 * 1 on demand). Infeasible offers leave first: too little GPU memory or too few GPUs,
 * unavailable, over budget, outside the region allow-list. Ties break by estimated cost,
 * then by provider/region/type, so the ranking is deterministic. Pure.
 */
import type { InstanceOffer, SpotRisk, WorkloadProfile } from '../../schemas/generated/records.ts';
import { offerKey } from '../cost/labelsByOffer.ts';
import { extractFeatures, feature } from './features.ts';

export interface HeuristicWeights {
  cost: number;
  gpu: number;
  memory: number;
  reliability: number;
}

export interface RankRequest {
  workload: WorkloadProfile;
  budgetUsd: number | null;
  regionAllowList: readonly string[];
  topK: number;
}

export interface RankedOffer {
  offer: InstanceOffer;
  score: number;
  estimatedCostUsd: number;
  factors: { cost: number; gpu: number; memory: number; reliability: number };
}

function normalise(values: number[], higherIsBetter: boolean): number[] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return values.map(() => 0.5);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return values.map((v) => {
    if (!Number.isFinite(v)) return 0; // unknown is worst
    const x = hi === lo ? 1 : (v - lo) / (hi - lo);
    return higherIsBetter ? x : 1 - x;
  });
}

export function feasible(req: RankRequest, o: InstanceOffer): boolean {
  const w = req.workload;
  if (!o.available) return false;
  if (o.gpu_count < Math.max(1, w.num_gpus) || o.gpu_count * o.gpu_memory_gb < w.gpu_memory_required_gb) return false;
  if (req.regionAllowList.length > 0 && !req.regionAllowList.includes(o.region)) return false;
  return true;
}

export function rankHeuristic(req: RankRequest, catalog: Iterable<InstanceOffer>, risks: ReadonlyMap<string, SpotRisk>, weights: HeuristicWeights): RankedOffer[] {
  const candidates: Array<{ offer: InstanceOffer; cost: number; throughput: number; headroom: number; reliability: number }> = [];
  for (const o of catalog) {
    if (!feasible(req, o)) continue;
    const f = extractFeatures(req.workload, o, risks.get(offerKey(o)) ?? null);
    const cost = feature(f, 'estimated_cost_usd');
    if (req.budgetUsd !== null && Number.isFinite(cost) && cost > req.budgetUsd) continue;
    const rate = feature(f, 'preemption_rate');
    candidates.push({
      offer: o,
      cost: Number.isFinite(cost) ? cost : feature(f, 'on_demand_usd_per_hour'),
      throughput: feature(f, 'gpu_throughput'),
      headroom: feature(f, 'gpu_memory_headroom'),
      // On-demand capacity is not preempted; the spot history says how reliable the hardware pool is.
      reliability: Number.isFinite(rate) ? 1 - rate : 1,
    });
  }
  const cost = normalise(candidates.map((c) => c.cost), false);
  const gpu = normalise(candidates.map((c) => c.throughput), true);
  const memory = normalise(candidates.map((c) => c.headroom), true);
  const reliability = normalise(candidates.map((c) => c.reliability), true);
  const total = weights.cost + weights.gpu + weights.memory + weights.reliability;
  return candidates
    .map((c, i) => {
      const factors = { cost: cost[i] as number, gpu: gpu[i] as number, memory: memory[i] as number, reliability: reliability[i] as number };
      const score = (weights.cost * factors.cost + weights.gpu * factors.gpu + weights.memory * factors.memory + weights.reliability * factors.reliability) / total;
      return { offer: c.offer, score, estimatedCostUsd: c.cost, factors };
    })
    .sort((a, b) => b.score - a.score || a.estimatedCostUsd - b.estimatedCostUsd || offerKey(a.offer).localeCompare(offerKey(b.offer)))
    .slice(0, req.topK);
}
