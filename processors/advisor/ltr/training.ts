/**
 * One training run of the learned ranker, pure: (query, offer) documents with their mean
 * relevance label in, a LambdaMART model and its held-out evaluation out, with the verdict
 * on promotion. No Kafka, no clock: the trainer processor and the `retrain` command both
 * call this, so a model trained offline is judged exactly like one trained on the stream.
 *
 * - Documents: every run of a workload (query id) on an offer counts; the label of a
 *   (query, offer) document is the mean of its runs' labels (graded, 0-4). Features are
 *   computed now, from the current catalog and spot risk, as serving will see them.
 * - Held out: whole queries (workload classes), a fixed fraction of them chosen by a hash of
 *   the query id, so the split is the same on every replay and every instance, and a model
 *   is judged on workloads it never trained on, as it will serve new ones. Held-out
 *   documents are ranked against each other within their query; only queries with two
 *   different labels count for NDCG (a query where every offer is equally good cannot be
 *   ranked wrong).
 * - Judged as served: on each held-out query, the offers the advisor would rank (feasible,
 *   not oversized: the heuristic's filter) are ordered by the served score (the model's in
 *   LTR mode, the blend in HYBRID), the others last, as the heuristic orders them.
 * - Observed cost: labels grade a run against the platform's own estimate, not against other
 *   offers, so a ranking can win on NDCG and still pick dearer offers. Documents also count
 *   the machine-hours their runs really took per hour of work; on held-out queries where two
 *   or more offers ran, the top pick's expected cost per success (mean hours x on-demand
 *   price / success rate) against the cheapest there is the observed cost regret (capped at
 *   10 per query).
 * - Promotion: the new model is promoted when its held-out NDCG@5 is not below that of the
 *   model in service on the same held-out queries, beats the heuristic's there by more
 *   than `minGainOverHeuristic`, and its observed cost regret is not above the heuristic's.
 *   A model that is not promoted also re-judges the one in service: if that one no longer
 *   earns its place the same way, the run says the heuristic serves (`heuristicServes`)
 *   until a later model does.
 */
import type { InstanceOffer, SpotRisk, WorkloadProfile, WorkloadScaling } from '../../../schemas/generated/records.ts';
import { offerKey } from '../../cost/labelsByOffer.ts';
import { extractFeatures, FEATURE_NAMES } from '../features.ts';
import { DEFAULT_RULES, rankHeuristic, type HeuristicWeights, type RankingRules } from '../heuristicRanker.ts';
import { jobModel } from '../placement.ts';
import { predict, trainLambdaMart, type LambdaMartModel, type LambdaMartOptions } from './lambdaMart.ts';
import { evaluate, type RankingQuality } from './metrics.ts';
import { toOnnx } from './onnxExport.ts';

export interface TrainingDoc {
  queryId: string;
  offerKey: string;
  workload: WorkloadProfile;
  labelSum: number;
  runs: number;
  /**
   * What runs really took: runs counted, those that succeeded, and the sum of their paid
   * machine-hours (cost / hourly price paid: spot or on-demand alike, machines included) per
   * hour of work (expected_duration_h; 1 when unknown). Priced at the offer's on-demand price
   * when judged, so a run's spot discount is not mistaken for a better offer. Absent in
   * documents kept before they were counted, which count from their next run on.
   */
  costRuns?: number;
  successes?: number;
  successHoursSum?: number;
}

export type CostCounts = Required<Pick<TrainingDoc, 'costRuns' | 'successes' | 'successHoursSum'>>;

/** What a run adds to its document's counts of what runs really took. */
export function costCounts(prev: Partial<CostCounts> | undefined, succeeded: boolean, costUsd: number, hourlyPriceUsd: number, work: number | null): CostCounts {
  const hours = hourlyPriceUsd > 0 ? costUsd / hourlyPriceUsd : 0;
  const perWork = work !== null && work > 0 ? hours / work : hours;
  return { costRuns: (prev?.costRuns ?? 0) + 1, successes: (prev?.successes ?? 0) + (succeeded ? 1 : 0), successHoursSum: (prev?.successHoursSum ?? 0) + (succeeded ? perWork : 0) };
}

export interface TrainingOptions {
  /** Held-out share of documents, 0-0.5. */
  heldOutFraction: number;
  lambdaMart: Partial<LambdaMartOptions>;
  weights: HeuristicWeights;
  /** Sizing rules and scaling priors, as serving uses them. */
  rules?: Omit<RankingRules, 'scaling'> & { scaling: RankingRules['scaling']['priors'] };
  /** How the model is served: LTR (its score) or HYBRID (ltrWeight x its normalised score + the rest x the heuristic's). */
  servedAs?: { mode: 'ltr' | 'hybrid' | 'heuristic'; ltrWeight: number };
  /** The held-out NDCG@5 a model must beat the heuristic's by, to be promoted and to keep serving. */
  minGainOverHeuristic?: number;
  /** How far a model's observed cost regret may exceed the heuristic's (default 0). */
  maxCostRegretGap?: number;
}

/** Observed cost regret: over held-out queries, how much more the top pick's realized cost per success was than the cheapest observed offer's. */
export interface CostRegret {
  queries: number;
  meanRegret: number;
}

export interface ServingModel {
  version: string;
  model: LambdaMartModel;
}

export interface TrainingRun {
  version: string;
  model: LambdaMartModel;
  onnx: Uint8Array;
  promoted: boolean;
  reason: string;
  trainingDocs: number;
  trainingQueries: number;
  heldoutDocs: number;
  quality: RankingQuality | null;
  baseline: RankingQuality | null;
  baselineVersion: string | null;
  heuristic: RankingQuality | null;
  /** Realized cost of each ranker's top pick among the offers a held-out query actually ran on (null when none says). */
  costRegret: CostRegret | null;
  baselineCostRegret: CostRegret | null;
  heuristicCostRegret: CostRegret | null;
  /** No model beats the heuristic on the held-out queries: the heuristic serves after this run. */
  heuristicServes: boolean;
}

/** FNV-1a of the query id mapped to [0, 1): the held-out draw, stable everywhere. */
export function heldOutDraw(queryId: string): number {
  let h = 0x811c9dc5;
  const s = queryId;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4294967296;
}

/** The model's score for a feature row, as onnxruntime computes it (inputs as float32). */
export function scoreRow(model: LambdaMartModel, features: ArrayLike<number>): number {
  return predict(model, Float32Array.from(features as ArrayLike<number>));
}

interface Group {
  queryId: string;
  workload: WorkloadProfile;
  offers: InstanceOffer[];
  features: Float64Array[];
  labels: number[];
  /** Expected cost per hour of work to get a success: mean machine-hours of successes x on-demand price / success rate; Infinity: never succeeded; NaN: not counted. */
  values: number[];
}

function groupDocs(docs: readonly TrainingDoc[], catalog: ReadonlyMap<string, InstanceOffer>, risks: ReadonlyMap<string, SpotRisk>, rules: RankingRules): Group[] {
  const groups = new Map<string, Group>();
  for (const d of docs) {
    const offer = catalog.get(d.offerKey);
    if (!offer || d.runs <= 0) continue; // an offer that left the catalog cannot be served any more
    let g = groups.get(d.queryId);
    if (!g) groups.set(d.queryId, (g = { queryId: d.queryId, workload: d.workload, offers: [], features: [], labels: [], values: [] }));
    g.offers.push(offer);
    g.values.push(!d.costRuns || d.successes === undefined || d.successHoursSum === undefined ? Number.NaN : d.successes === 0 ? Number.POSITIVE_INFINITY : ((d.successHoursSum / d.successes) * offer.on_demand_price_usd) / (d.successes / d.costRuns));
    g.features.push(extractFeatures(d.workload, offer, risks.get(d.offerKey) ?? null, undefined, 0, jobModel(d.workload, rules.scaling).place(offer)));
    g.labels.push(d.labelSum / d.runs);
  }
  return [...groups.values()].sort((a, b) => (a.queryId < b.queryId ? -1 : a.queryId > b.queryId ? 1 : 0));
}

/** Heuristic scores of a query's offers against each other; offers the advisor would not rank (infeasible, oversized) score -1. */
function heuristicScores(g: Group, risks: ReadonlyMap<string, SpotRisk>, weights: HeuristicWeights, rules: RankingRules): number[] {
  const ranked = rankHeuristic({ workload: g.workload, budgetUsd: null, regionAllowList: [], topK: Number.MAX_SAFE_INTEGER }, g.offers, risks, weights, rules);
  const byKey = new Map(ranked.map((r) => [offerKey(r.offer), r.score]));
  return g.offers.map((o) => byKey.get(offerKey(o)) ?? -1);
}

/**
 * A model's scores for a query's offers as the advisor serves them: candidates (heuristic
 * score >= 0) by the served score, the rest below every candidate in the heuristic's order.
 */
function servedScores(model: LambdaMartModel, g: Group, heuristic: readonly number[], servedAs: NonNullable<TrainingOptions['servedAs']>): number[] {
  const raw = g.features.map((f) => scoreRow(model, f));
  const candidates = raw.filter((_, i) => (heuristic[i] as number) >= 0);
  const lo = candidates.length > 0 ? Math.min(...candidates) : 0;
  const hi = candidates.length > 0 ? Math.max(...candidates) : 0;
  const hybrid = servedAs.mode === 'hybrid';
  return raw.map((v, i) => {
    const h = heuristic[i] as number;
    if (h < 0) return (hybrid ? 0 : lo) - 1;
    if (!hybrid) return v;
    const norm = hi === lo ? 1 : (v - lo) / (hi - lo);
    return servedAs.ltrWeight * norm + (1 - servedAs.ltrWeight) * h;
  });
}

const rankable = (labels: readonly number[]) => labels.length >= 2 && new Set(labels).size >= 2;

/** Regret of a never-succeeding pick, and the cap of any query's regret: one query cannot outweigh the rest. */
const MAX_QUERY_REGRET = 10;

/**
 * Observed cost regret of a ranking: on each held-out query with two or more counted offers
 * and one that succeeded, the value of the top-scored candidate against the best value, - 1.
 */
function costRegret(groups: readonly Group[], scoresOf: (g: Group, q: number) => readonly number[], candidateOf: (q: number, i: number) => boolean): CostRegret | null {
  let sum = 0;
  let queries = 0;
  groups.forEach((g, q) => {
    const counted = g.values.map((v, i) => (Number.isNaN(v) || !candidateOf(q, i) ? -1 : i)).filter((i) => i >= 0);
    if (counted.length < 2) return;
    const best = Math.min(...counted.map((i) => g.values[i] as number));
    if (!Number.isFinite(best) || best <= 0) return;
    const scores = scoresOf(g, q);
    let top = counted[0] as number;
    for (const i of counted) if ((scores[i] as number) > (scores[top] as number)) top = i;
    sum += Math.min(MAX_QUERY_REGRET, (g.values[top] as number) / best - 1);
    queries++;
  });
  return queries > 0 ? { queries, meanRegret: sum / queries } : null;
}

export function trainAndEvaluate(
  docs: readonly TrainingDoc[],
  catalog: ReadonlyMap<string, InstanceOffer>,
  risks: ReadonlyMap<string, SpotRisk>,
  current: ServingModel | null,
  meta: { version: string; trainedAt: number; labelsSeen: number },
  options: TrainingOptions,
  scaling: ReadonlyMap<string, Pick<WorkloadScaling, 'parallel_fraction'>> = new Map(),
): TrainingRun {
  const rules: RankingRules = options.rules ? { ...options.rules, scaling: { priors: options.rules.scaling, learned: scaling } } : { ...DEFAULT_RULES, scaling: { priors: DEFAULT_RULES.scaling.priors, learned: scaling } };
  const servedAs = options.servedAs ?? { mode: 'ltr' as const, ltrWeight: 1 };
  const minGain = options.minGainOverHeuristic ?? 0;
  const train: Group[] = [];
  const heldOut: Group[] = [];
  /** Held-out queries for the observed-cost judgement: two or more offers, labels alike or not. */
  const heldOutCosts: Group[] = [];
  for (const g of groupDocs(docs, catalog, risks, rules)) {
    const parts = [0, 1].map((): Group => ({ ...g, offers: [], features: [], labels: [], values: [] }));
    g.offers.forEach((o, i) => {
      const part = parts[heldOutDraw(g.queryId) < options.heldOutFraction ? 1 : 0] as Group;
      part.offers.push(o);
      part.features.push(g.features[i] as Float64Array);
      part.labels.push(g.labels[i] as number);
      part.values.push(g.values[i] as number);
    });
    if ((parts[0] as Group).offers.length > 0) train.push(parts[0] as Group);
    if (rankable((parts[1] as Group).labels)) heldOut.push(parts[1] as Group);
    if ((parts[1] as Group).offers.length >= 2) heldOutCosts.push(parts[1] as Group);
  }
  const model = trainLambdaMart(
    { x: train.flatMap((g) => g.features), labels: train.flatMap((g) => g.labels), queries: train.flatMap((g) => g.features.map(() => g.queryId)) },
    options.lambdaMart,
  );
  const heuristicOf = heldOut.map((g) => heuristicScores(g, risks, options.weights, rules));
  const judge = (m: LambdaMartModel) => evaluate(heldOut.map((g, q) => ({ scores: servedScores(m, g, heuristicOf[q] as number[], servedAs), labels: g.labels })));
  const quality = heldOut.length > 0 ? judge(model) : null;
  const heuristic = heldOut.length > 0 ? evaluate(heldOut.map((g, q) => ({ scores: heuristicOf[q] as number[], labels: g.labels }))) : null;
  const inService = current && heldOut.length > 0 ? judge(current.model) : null;
  const baseline = inService ?? heuristic;
  // What the picks cost where the held-out queries actually ran: the heuristic's and each model's top pick.
  const costHeuristicOf = heldOutCosts.map((g) => heuristicScores(g, risks, options.weights, rules));
  const isCandidate = (q: number, i: number) => ((costHeuristicOf[q] as number[])[i] as number) >= 0;
  const costOf = (m: LambdaMartModel) => costRegret(heldOutCosts, (g, q) => servedScores(m, g, costHeuristicOf[q] as number[], servedAs), isCandidate);
  const heuristicCost = costRegret(heldOutCosts, (_, q) => costHeuristicOf[q] as number[], isCandidate);
  const modelCost = costOf(model);
  const inServiceCost = current ? costOf(current.model) : null;
  const beatsHeuristic = (q: RankingQuality) => heuristic !== null && q.ndcgAt5 > heuristic.ndcgAt5 + minGain + 1e-12;
  /** Not dearer than the heuristic where the costs were seen (nothing to say when no query has them). */
  const costGap = options.maxCostRegretGap ?? 0;
  const costsNoMore = (c: CostRegret | null) => c === null || heuristicCost === null || c.meanRegret <= heuristicCost.meanRegret + costGap + 1e-12;
  const earns = (q: RankingQuality, c: CostRegret | null) => beatsHeuristic(q) && costsNoMore(c);
  const f = (x: number) => x.toFixed(4);
  const pct = (c: CostRegret) => `${(100 * c.meanRegret).toFixed(1)}%`;
  const against = current ? current.version : 'the heuristic';
  let promoted = false;
  let heuristicServes = false;
  let reason: string;
  if (!quality || !baseline || !heuristic) {
    reason = 'no held-out query has two different labels yet: nothing to judge the model on';
  } else if (quality.ndcgAt5 + 1e-12 >= baseline.ndcgAt5 && earns(quality, modelCost)) {
    promoted = true;
    reason = `held-out NDCG@5 ${f(quality.ndcgAt5)} >= ${f(baseline.ndcgAt5)} of ${against}${current ? ` and > ${f(heuristic.ndcgAt5)} of the heuristic` : ''}${modelCost && heuristicCost ? `; observed cost regret ${pct(modelCost)} vs ${pct(heuristicCost)} of the heuristic` : ''}`;
  } else {
    reason =
      quality.ndcgAt5 + 1e-12 < baseline.ndcgAt5
        ? `held-out NDCG@5 ${f(quality.ndcgAt5)} < ${f(baseline.ndcgAt5)} of ${against}`
        : !beatsHeuristic(quality)
          ? `held-out NDCG@5 ${f(quality.ndcgAt5)} does not beat ${f(heuristic.ndcgAt5)} of the heuristic${minGain > 0 ? ` by more than ${minGain}` : ''}`
          : `its picks cost more than the heuristic's where the held-out queries ran (observed cost regret ${pct(modelCost as CostRegret)} > ${pct(heuristicCost as CostRegret)}${costGap > 0 ? ` + ${(100 * costGap).toFixed(1)} points` : ''}, over ${(modelCost as CostRegret).queries} queries)`;
    if (current && inService) {
      heuristicServes = !earns(inService, inServiceCost);
      reason += heuristicServes
        ? `; ${current.version} no longer earns its place either (NDCG@5 ${f(inService.ndcgAt5)} vs ${f(heuristic.ndcgAt5)}${inServiceCost && heuristicCost ? `, observed cost regret ${pct(inServiceCost)} vs ${pct(heuristicCost)}` : ''} of the heuristic): the heuristic serves`
        : `; ${current.version} keeps serving (NDCG@5 ${f(inService.ndcgAt5)} vs ${f(heuristic.ndcgAt5)} of the heuristic)`;
    } else {
      heuristicServes = true;
      reason += '; the heuristic serves';
    }
  }
  const onnx = toOnnx(model, {
    version: meta.version,
    trainedAt: new Date(meta.trainedAt).toISOString(),
    samples: meta.labelsSeen,
    queries: train.length,
    featureNames: FEATURE_NAMES,
    metrics: quality ? { ndcg_at_5: quality.ndcgAt5, ndcg_at_10: quality.ndcgAt10, mrr: quality.mrr } : {},
  });
  return {
    version: meta.version,
    model,
    onnx,
    promoted,
    reason,
    trainingDocs: train.reduce((s, g) => s + g.offers.length, 0),
    trainingQueries: train.length,
    heldoutDocs: heldOut.reduce((s, g) => s + g.offers.length, 0),
    quality,
    baseline,
    baselineVersion: current?.version ?? null,
    heuristic,
    costRegret: modelCost,
    baselineCostRegret: current ? inServiceCost : heuristicCost,
    heuristicCostRegret: heuristicCost,
    heuristicServes,
  };
}
