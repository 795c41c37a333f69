/**
 * The heuristic ranker: weighted sum of four scores, each min-max normalised within the
 * candidate set (so weights compare like with like): cost 40% (the job's estimated cost on
 * the offer, idle GPUs included: they are paid for), GPU 30% (the job's own speed there:
 * the GPUs it uses x per-GPU speed x scaling efficiency, never the whole machine's), memory
 * 20% (per-GPU memory headroom, worth more only up to `memoryHeadroomTarget`) and
 * reliability 10% (1 - preemption rate; 1 on demand). Offers leave first when they cannot
 * take the job (too few GPUs on a machine, too little memory per GPU: placement.ts),
 * are unavailable, over budget, outside the region allow-list, or give the job more than
 * `maxGpuOverprovision` times the GPUs it uses while an offer closer to its size fits. Ties
 * break by estimated cost, then by provider/region/type, so the ranking is deterministic. Pure.
 *
 * Hot path (every dispatch ranks the whole catalog): `scoreCandidates` computes each
 * feasible candidate's feature row once, into a matrix the learned ranker reads too, and
 * keeps every per-candidate number in typed arrays reused from call to call.
 */
import { DEFAULTS } from '../../config/options.ts';
import type { InstanceOffer, SpotRisk, WorkloadProfile } from '../../schemas/generated/records.ts';
import { offerKey } from '../cost/labelsByOffer.ts';
import { DEFAULT_SCALING, extractFeatures, FEATURE_COUNT, FEATURE_INDEX } from './features.ts';
import { describeMisfit, gpusOf, jobModel, type JobModel, type Placement, type ScalingKnowledge } from './placement.ts';

export interface HeuristicWeights {
  cost: number;
  gpu: number;
  memory: number;
  reliability: number;
}

/** What the ranking knows beyond the weights: scaling (priors and learned) and the two sizing rules. */
export interface RankingRules {
  scaling: ScalingKnowledge;
  /** Offers with more than this many times the GPUs the job uses leave, when one closer to its size fits. */
  maxGpuOverprovision: number;
  /** Per-GPU memory headroom up to which the memory score grows. */
  memoryHeadroomTarget: number;
}

export const DEFAULT_RULES: RankingRules = { scaling: DEFAULT_SCALING, maxGpuOverprovision: DEFAULTS.advisor.maxGpuOverprovision, memoryHeadroomTarget: DEFAULTS.advisor.memoryHeadroomTarget };

export interface RankRequest {
  workload: WorkloadProfile;
  budgetUsd: number | null;
  regionAllowList: readonly string[];
  topK: number;
  /** What the request optimises for (BALANCED when absent): picks the weights, see suggest(). */
  goal?: 'COST' | 'SPEED' | 'BALANCED';
}

/** The normalised scores of a candidate, and the figures behind them (absent when unknown). */
export type Factors = Record<string, number>;

export interface RankedOffer {
  offer: InstanceOffer;
  score: number;
  estimatedCostUsd: number;
  placement: Placement;
  factors: Factors;
}

const F_PREEMPTION = FEATURE_INDEX.preemption_rate;

/**
 * The feasible candidates of one ranking, in catalog order, with their placements, feature
 * rows (`features`, n x FEATURE_COUNT, row-major), heuristic inputs, normalised factors and
 * scores. One instance is reused by every call of `scoreCandidates`: what it holds is valid
 * until the next call, so read it (or copy out of it) before ranking again.
 */
export class CandidateSet {
  n = 0;
  capacity = 0;
  readonly offers: InstanceOffer[] = [];
  readonly placements: Placement[] = [];
  /** offerKey of each candidate, computed when first needed (risk lookup or a tie). */
  private readonly keys: Array<string | undefined> = [];
  features = new Float64Array(0);
  /** Estimated cost of the run, or the hourly price of the allocation when it cannot be estimated. */
  cost = new Float64Array(0);
  /** The job's speed on the offer. */
  speed = new Float64Array(0);
  /** Per-GPU memory headroom, capped at the target. */
  fit = new Float64Array(0);
  reliability = new Float64Array(0);
  /** Room for a transformed column, before it is normalised. */
  scratch = new Float64Array(0);
  factorCost = new Float64Array(0);
  factorGpu = new Float64Array(0);
  factorMemory = new Float64Array(0);
  factorReliability = new Float64Array(0);
  score = new Float64Array(0);

  reset(): void {
    this.n = 0;
    this.offers.length = 0;
    this.placements.length = 0;
    this.keys.length = 0;
  }

  key(i: number): string {
    return (this.keys[i] ??= offerKey(this.offers[i] as InstanceOffer));
  }

  setKey(i: number, key: string | undefined): void {
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
    this.speed = more(this.speed);
    this.fit = more(this.fit);
    this.reliability = more(this.reliability);
    // Filled after the candidates are known: nothing to keep.
    this.scratch = new Float64Array(capacity);
    this.factorCost = new Float64Array(capacity);
    this.factorGpu = new Float64Array(capacity);
    this.factorMemory = new Float64Array(capacity);
    this.factorReliability = new Float64Array(capacity);
    this.score = new Float64Array(capacity);
    this.capacity = capacity;
  }

  /** Moves candidate `from` to slot `to` (from > to), when earlier ones were dropped. */
  move(from: number, to: number): void {
    this.offers[to] = this.offers[from] as InstanceOffer;
    this.placements[to] = this.placements[from] as Placement;
    this.keys[to] = this.keys[from];
    this.features.copyWithin(to * FEATURE_COUNT, from * FEATURE_COUNT, (from + 1) * FEATURE_COUNT);
    this.cost[to] = this.cost[from] as number;
    this.speed[to] = this.speed[from] as number;
    this.fit[to] = this.fit[from] as number;
    this.reliability[to] = this.reliability[from] as number;
  }

  /** Higher score first, then cheaper, then by offer key: the heuristic's order of candidates i. */
  readonly byHeuristic = (a: number, b: number): number =>
    (this.score[b] as number) - (this.score[a] as number) || (this.cost[a] as number) - (this.cost[b] as number) || this.key(a).localeCompare(this.key(b));

  /** The four normalised scores, then what a reader needs to see why: hours, GPUs used and idle, idle cost, machines, memory headroom, scaling efficiency, preemption rate. */
  factors(i: number): Factors {
    const p = this.placements[i] as Placement;
    const f: Factors = { cost: this.factorCost[i] as number, gpu: this.factorGpu[i] as number, memory: this.factorMemory[i] as number, reliability: this.factorReliability[i] as number };
    return Object.assign(f, explainPlacement(p), finiteOnly({ preemption_rate: this.features[i * FEATURE_COUNT + F_PREEMPTION] as number }));
  }
}

function finiteOnly(values: Factors): Factors {
  const out: Factors = {};
  for (const [k, v] of Object.entries(values)) if (Number.isFinite(v)) out[k] = v;
  return out;
}

/** The figures of a placement a reader needs, finite ones only. */
export function explainPlacement(p: Placement): Factors {
  return finiteOnly({
    hours: p.hours,
    gpus_used: p.gpusUsed,
    idle_gpus: p.idleGpus,
    idle_cost_usd: p.gpusAllocated > 0 ? (p.costUsd * p.idleGpus) / p.gpusAllocated : Number.NaN,
    nodes: p.nodes,
    memory_headroom: p.memoryHeadroom,
    scaling_efficiency: p.efficiency,
  });
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

/** out[i] = ln(values[i]) for i < n, and out; 0 and below become non-finite (normalise scores them as unknown, the worst). */
function logOf(values: Float64Array, n: number, out: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) out[i] = Math.log(values[i] as number);
  return out;
}

/** Offer-level checks, before the job's placement: available, and in an allowed region. */
function offered(req: RankRequest, o: InstanceOffer): boolean {
  return o.available && (req.regionAllowList.length === 0 || req.regionAllowList.includes(o.region));
}

/** Whether the offer can take the job at all: available, allowed region, enough GPUs per machine (or machines) and memory per GPU. */
export function feasible(req: RankRequest, o: InstanceOffer, scaling: ScalingKnowledge = DEFAULT_SCALING): boolean {
  return offered(req, o) && jobModel(req.workload, scaling).place(o).fits;
}

/** The cost a candidate is ranked by: its estimated cost, else the hourly price of the allocation. */
function rankingCost(p: Placement): number {
  return Number.isFinite(p.costUsd) ? p.costUsd : p.hourlyUsd;
}

/** GPUs past which an offer is oversized for the job, given the smallest allocation that fits. */
export function overprovisionBound(gpusUsed: number, smallestFittingAllocation: number, maxGpuOverprovision: number): number {
  return Math.max(smallestFittingAllocation, Math.floor(gpusUsed * maxGpuOverprovision));
}

/**
 * The feasible candidates of a request with their features and heuristic scores, in catalog
 * order (unsorted). Returns the shared CandidateSet: valid until the next call.
 */
export function scoreCandidates(
  req: RankRequest,
  catalog: Iterable<InstanceOffer>,
  risks: ReadonlyMap<string, SpotRisk>,
  weights: HeuristicWeights,
  rules: RankingRules = DEFAULT_RULES,
  job: JobModel = jobModel(req.workload, rules.scaling),
): CandidateSet {
  const s = shared;
  s.reset();
  const withRisks = risks.size > 0;
  const target = rules.memoryHeadroomTarget;
  let n = 0;
  let smallest = Number.POSITIVE_INFINITY;
  for (const o of catalog) {
    if (!offered(req, o)) continue;
    const p = job.place(o);
    if (!p.fits) continue;
    const cost = rankingCost(p);
    if (req.budgetUsd !== null && Number.isFinite(p.costUsd) && p.costUsd > req.budgetUsd) continue;
    if (n === s.capacity) s.grow();
    let risk: SpotRisk | null = null;
    let key: string | undefined;
    if (withRisks) {
      key = offerKey(o);
      risk = risks.get(key) ?? null;
    }
    s.setKey(n, key);
    const f = s.features;
    const row = n * FEATURE_COUNT;
    extractFeatures(req.workload, o, risk, f, row, p);
    const rate = f[row + F_PREEMPTION] as number;
    s.offers[n] = o;
    s.placements[n] = p;
    s.cost[n] = cost;
    s.speed[n] = p.speed;
    s.fit[n] = Math.min(p.memoryHeadroom, target);
    // On-demand capacity is not preempted; the spot history says how reliable the hardware pool is.
    s.reliability[n] = Number.isFinite(rate) ? 1 - rate : 1;
    smallest = Math.min(smallest, p.gpusAllocated);
    n++;
  }
  // Oversized offers leave when something closer to the job's size fits: their idle GPUs are waste.
  const bound = overprovisionBound(gpusOf(req.workload), smallest, rules.maxGpuOverprovision);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if ((s.placements[i] as Placement).gpusAllocated > bound) continue;
    if (kept !== i) s.move(i, kept);
    kept++;
  }
  n = kept;
  s.offers.length = n;
  s.placements.length = n;
  s.n = n;
  // Costs and speeds are ratios (a job twice as cheap, a GPU twice as fast): compared on a log scale,
  // so one far dearer offer does not squeeze every other cost difference to nothing.
  // A run's cost and an hourly price do not compare: when some candidates' runs can be estimated,
  // those that cannot (an unknown GPU) score as unknown on cost; when none can, hourly prices compare.
  let estimated = false;
  for (let i = 0; i < n && !estimated; i++) estimated = Number.isFinite((s.placements[i] as Placement).costUsd);
  for (let i = 0; i < n; i++) {
    const p = s.placements[i] as Placement;
    s.scratch[i] = Math.log(estimated ? p.costUsd : p.hourlyUsd);
  }
  normalise(s.scratch, n, false, s.factorCost);
  normalise(logOf(s.speed, n, s.scratch), n, true, s.factorGpu);
  normalise(s.fit, n, true, s.factorMemory);
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

export function rankHeuristic(req: RankRequest, catalog: Iterable<InstanceOffer>, risks: ReadonlyMap<string, SpotRisk>, weights: HeuristicWeights, rules: RankingRules = DEFAULT_RULES): RankedOffer[] {
  const s = scoreCandidates(req, catalog, risks, weights, rules);
  return heuristicOrder(s)
    .slice(0, req.topK)
    .map((i) => ({ offer: s.offers[i] as InstanceOffer, score: s.score[i] as number, estimatedCostUsd: s.cost[i] as number, placement: s.placements[i] as Placement, factors: s.factors(i) }));
}

/** Why an offer is not among a request's candidates; null when it is. */
export function exclusionReason(req: RankRequest, o: InstanceOffer, catalog: Iterable<InstanceOffer>, rules: RankingRules = DEFAULT_RULES): string | null {
  if (!o.available) return `${o.instance_type} is not available`;
  if (req.regionAllowList.length > 0 && !req.regionAllowList.includes(o.region)) return `${o.region} is not in the region allow-list`;
  const job = jobModel(req.workload, rules.scaling);
  const p = job.place(o);
  if (p.misfit) return describeMisfit(req.workload, o, p.misfit);
  if (req.budgetUsd !== null && Number.isFinite(p.costUsd) && p.costUsd > req.budgetUsd) return `its estimated cost $${p.costUsd.toFixed(2)} is over the budget $${req.budgetUsd}`;
  // The candidates before the sizing rule, as scoreCandidates keeps them.
  const allocations: number[] = [];
  for (const c of catalog) {
    if (!offered(req, c)) continue;
    const q = job.place(c);
    if (q.fits && !(req.budgetUsd !== null && Number.isFinite(q.costUsd) && q.costUsd > req.budgetUsd)) allocations.push(q.gpusAllocated);
  }
  const bound = overprovisionBound(p.gpusUsed, Math.min(...allocations), rules.maxGpuOverprovision);
  if (p.gpusAllocated > bound) {
    const closer = allocations.filter((a) => a <= bound).length;
    return `${o.instance_type} gives the job ${p.gpusAllocated} GPUs for the ${p.gpusUsed} it uses (${p.idleGpus} idle, paid for, never faster), and ${closer} offer(s) closer to its size fit`;
  }
  return null;
}
