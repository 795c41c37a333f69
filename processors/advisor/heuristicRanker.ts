/**
 * The heuristic ranker: weighted sum of four scores, each min-max normalised within the
 * candidate set (so weights compare like with like): cost 40% (cheaper is better), GPU 30%
 * (throughput), memory 20% (GPU memory headroom) and reliability 10% (1 - preemption rate;
 * 1 on demand). Infeasible offers leave first: too little GPU memory or too few GPUs,
 * unavailable, over budget, outside the region allow-list. Ties break by estimated cost,
 * then by provider/region/type, so the ranking is deterministic. Pure.
 *
 * Hot path (every dispatch ranks the whole catalog): `scoreCandidates` computes each
 * feasible candidate's feature row once, into a matrix the learned ranker reads too, and
 * keeps every per-candidate number in typed arrays reused from call to call, so a ranking
 * allocates only what it returns.
 */
import type { InstanceOffer, SpotRisk, WorkloadProfile } from '../../schemas/generated/records.ts';
import { offerKey } from '../cost/labelsByOffer.ts';
import { extractFeatures, FEATURE_COUNT, FEATURE_INDEX } from './features.ts';

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

const F_ESTIMATED_COST = FEATURE_INDEX.estimated_cost_usd;
const F_ON_DEMAND = FEATURE_INDEX.on_demand_usd_per_hour;
const F_PREEMPTION = FEATURE_INDEX.preemption_rate;
const F_THROUGHPUT = FEATURE_INDEX.gpu_throughput;
const F_HEADROOM = FEATURE_INDEX.gpu_memory_headroom;

/**
 * The feasible candidates of one ranking, in catalog order, with their feature rows
 * (`features`, n x FEATURE_COUNT, row-major), heuristic inputs, normalised factors and
 * scores. One instance is reused by every call of `scoreCandidates`: what it holds is valid
 * until the next call, so read it (or copy out of it) before ranking again.
 */
export class CandidateSet {
  n = 0;
  capacity = 0;
  readonly offers: InstanceOffer[] = [];
  /** offerKey of each candidate, computed when first needed (risk lookup or a tie). */
  private readonly keys: Array<string | undefined> = [];
  features = new Float64Array(0);
  /** Estimated cost of the run, or the hourly on-demand price when it cannot be estimated. */
  cost = new Float64Array(0);
  throughput = new Float64Array(0);
  headroom = new Float64Array(0);
  reliability = new Float64Array(0);
  factorCost = new Float64Array(0);
  factorGpu = new Float64Array(0);
  factorMemory = new Float64Array(0);
  factorReliability = new Float64Array(0);
  score = new Float64Array(0);

  reset(): void {
    this.n = 0;
    this.offers.length = 0;
    this.keys.length = 0;
  }

  key(i: number): string {
    return (this.keys[i] ??= offerKey(this.offers[i] as InstanceOffer));
  }

  setKey(i: number, key: string): void {
    this.keys[i] = key;
  }

  /** Room for one more candidate. */
  grow(): void {
    const capacity = Math.max(64, this.capacity * 2);
    const more = (a: Float64Array, width = 1) => {
      const b = new Float64Array(capacity * width);
      b.set(a);
      return b;
    };
    this.features = more(this.features, FEATURE_COUNT);
    this.cost = more(this.cost);
    this.throughput = more(this.throughput);
    this.headroom = more(this.headroom);
    this.reliability = more(this.reliability);
    // Filled after the candidates are known: nothing to keep.
    this.factorCost = new Float64Array(capacity);
    this.factorGpu = new Float64Array(capacity);
    this.factorMemory = new Float64Array(capacity);
    this.factorReliability = new Float64Array(capacity);
    this.score = new Float64Array(capacity);
    this.capacity = capacity;
  }

  /** Higher score first, then cheaper, then by offer key: the heuristic's order of candidates i. */
  readonly byHeuristic = (a: number, b: number): number =>
    (this.score[b] as number) - (this.score[a] as number) || (this.cost[a] as number) - (this.cost[b] as number) || this.key(a).localeCompare(this.key(b));

  factors(i: number): RankedOffer['factors'] {
    return { cost: this.factorCost[i] as number, gpu: this.factorGpu[i] as number, memory: this.factorMemory[i] as number, reliability: this.factorReliability[i] as number };
  }
}

const shared = new CandidateSet();

/** Min-max normalisation of values[0..n) into out; non-finite values score 0 (unknown is worst), all 0.5 when none is finite. */
function normalise(values: Float64Array, n: number, higherIsBetter: boolean, out: Float64Array): void {
  // Math.min/max pairwise, as Math.min(...finite) would: same result, -0 included.
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let finite = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    finite++;
  }
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (finite === 0) out[i] = 0.5;
    else if (!Number.isFinite(v)) out[i] = 0;
    else {
      const x = hi === lo ? 1 : (v - lo) / (hi - lo);
      out[i] = higherIsBetter ? x : 1 - x;
    }
  }
}

export function feasible(req: RankRequest, o: InstanceOffer): boolean {
  const w = req.workload;
  if (!o.available) return false;
  if (o.gpu_count < Math.max(1, w.num_gpus) || o.gpu_count * o.gpu_memory_gb < w.gpu_memory_required_gb) return false;
  if (req.regionAllowList.length > 0 && !req.regionAllowList.includes(o.region)) return false;
  return true;
}

/**
 * The feasible candidates of a request with their features and heuristic scores, in catalog
 * order (unsorted). Returns the shared CandidateSet: valid until the next call.
 */
export function scoreCandidates(req: RankRequest, catalog: Iterable<InstanceOffer>, risks: ReadonlyMap<string, SpotRisk>, weights: HeuristicWeights): CandidateSet {
  const s = shared;
  s.reset();
  const withRisks = risks.size > 0;
  let n = 0;
  for (const o of catalog) {
    if (!feasible(req, o)) continue;
    if (n === s.capacity) s.grow();
    let risk: SpotRisk | null = null;
    if (withRisks) {
      const key = offerKey(o);
      s.setKey(n, key);
      risk = risks.get(key) ?? null;
    }
    const f = s.features;
    const row = n * FEATURE_COUNT;
    extractFeatures(req.workload, o, risk, f, row);
    const cost = f[row + F_ESTIMATED_COST] as number;
    if (req.budgetUsd !== null && Number.isFinite(cost) && cost > req.budgetUsd) continue;
    const rate = f[row + F_PREEMPTION] as number;
    s.offers[n] = o;
    s.cost[n] = Number.isFinite(cost) ? cost : (f[row + F_ON_DEMAND] as number);
    s.throughput[n] = f[row + F_THROUGHPUT] as number;
    s.headroom[n] = f[row + F_HEADROOM] as number;
    // On-demand capacity is not preempted; the spot history says how reliable the hardware pool is.
    s.reliability[n] = Number.isFinite(rate) ? 1 - rate : 1;
    n++;
  }
  s.offers.length = n;
  s.n = n;
  normalise(s.cost, n, false, s.factorCost);
  normalise(s.throughput, n, true, s.factorGpu);
  normalise(s.headroom, n, true, s.factorMemory);
  normalise(s.reliability, n, true, s.factorReliability);
  const total = weights.cost + weights.gpu + weights.memory + weights.reliability;
  for (let i = 0; i < n; i++) {
    s.score[i] =
      (weights.cost * (s.factorCost[i] as number) +
        weights.gpu * (s.factorGpu[i] as number) +
        weights.memory * (s.factorMemory[i] as number) +
        weights.reliability * (s.factorReliability[i] as number)) /
      total;
  }
  return s;
}

/** Candidate indices 0..n-1, in catalog order. */
export function candidateIndices(s: CandidateSet): number[] {
  const order: number[] = [];
  for (let i = 0; i < s.n; i++) order.push(i);
  return order;
}

/** Candidate indices in the heuristic's order (a stable sort of catalog order, as before). */
export function heuristicOrder(s: CandidateSet): number[] {
  return candidateIndices(s).sort(s.byHeuristic);
}

export function rankHeuristic(req: RankRequest, catalog: Iterable<InstanceOffer>, risks: ReadonlyMap<string, SpotRisk>, weights: HeuristicWeights): RankedOffer[] {
  const s = scoreCandidates(req, catalog, risks, weights);
  return heuristicOrder(s)
    .slice(0, req.topK)
    .map((i) => ({ offer: s.offers[i] as InstanceOffer, score: s.score[i] as number, estimatedCostUsd: s.cost[i] as number, factors: s.factors(i) }));
}
