/**
 * One training run of the learned ranker, pure: (query, offer) documents with their mean
 * relevance label in, a LambdaMART model and its held-out evaluation out, with the verdict
 * on promotion. No Kafka, no clock: the trainer processor and the `retrain` command both
 * call this, so a model trained offline is judged exactly like one trained on the stream.
 *
 * - Documents: every run of a workload (query id) on an offer counts; the label of a
 *   (query, offer) document is the mean of its runs' labels (graded, 0-4). Features are
 *   computed now, from the current catalog and spot risk, as serving will see them.
 * - Held out: a fixed fraction of documents chosen by a hash of (query, offer), so the
 *   split is the same on every replay and every instance. Held-out documents are ranked
 *   against each other within their query; only queries with two different labels count
 *   (a query where every offer is equally good cannot be ranked wrong).
 * - Judged as served: on each held-out query, the offers the advisor would rank (feasible,
 *   not oversized: the heuristic's filter) are ordered by the served score (the model's in
 *   LTR mode, the blend in HYBRID), the others last, as the heuristic orders them.
 * - Promotion: the new model is promoted when its held-out NDCG@5 is not below that of the
 *   model in service on the same held-out queries, and beats the heuristic's there by more
 *   than `minGainOverHeuristic`. A model that is not promoted also re-judges the one in
 *   service: if that one no longer beats the heuristic, the run says the heuristic serves
 *   (`heuristicServes`) until a later model beats it.
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
  /** No model beats the heuristic on the held-out queries: the heuristic serves after this run. */
  heuristicServes: boolean;
}

/** FNV-1a of (query, offer) mapped to [0, 1): the held-out draw, stable everywhere. */
export function heldOutDraw(queryId: string, key: string): number {
  let h = 0x811c9dc5;
  const s = `${queryId}|${key}`;
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
}

function groupDocs(docs: readonly TrainingDoc[], catalog: ReadonlyMap<string, InstanceOffer>, risks: ReadonlyMap<string, SpotRisk>, rules: RankingRules): Group[] {
  const groups = new Map<string, Group>();
  for (const d of docs) {
    const offer = catalog.get(d.offerKey);
    if (!offer || d.runs <= 0) continue; // an offer that left the catalog cannot be served any more
    let g = groups.get(d.queryId);
    if (!g) groups.set(d.queryId, (g = { queryId: d.queryId, workload: d.workload, offers: [], features: [], labels: [] }));
    g.offers.push(offer);
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
  for (const g of groupDocs(docs, catalog, risks, rules)) {
    const parts = [0, 1].map((): Group => ({ ...g, offers: [], features: [], labels: [] }));
    g.offers.forEach((o, i) => {
      const part = parts[heldOutDraw(g.queryId, offerKey(o)) < options.heldOutFraction ? 1 : 0] as Group;
      part.offers.push(o);
      part.features.push(g.features[i] as Float64Array);
      part.labels.push(g.labels[i] as number);
    });
    if ((parts[0] as Group).offers.length > 0) train.push(parts[0] as Group);
    if (rankable((parts[1] as Group).labels)) heldOut.push(parts[1] as Group);
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
  const beatsHeuristic = (q: RankingQuality) => heuristic !== null && q.ndcgAt5 > heuristic.ndcgAt5 + minGain + 1e-12;
  const f = (x: number) => x.toFixed(4);
  const against = current ? current.version : 'the heuristic';
  let promoted = false;
  let heuristicServes = false;
  let reason: string;
  if (!quality || !baseline || !heuristic) {
    reason = 'no held-out query has two different labels yet: nothing to judge the model on';
  } else if (quality.ndcgAt5 + 1e-12 >= baseline.ndcgAt5 && beatsHeuristic(quality)) {
    promoted = true;
    reason = `held-out NDCG@5 ${f(quality.ndcgAt5)} >= ${f(baseline.ndcgAt5)} of ${against}${current ? ` and > ${f(heuristic.ndcgAt5)} of the heuristic` : ''}`;
  } else {
    reason =
      quality.ndcgAt5 + 1e-12 < baseline.ndcgAt5
        ? `held-out NDCG@5 ${f(quality.ndcgAt5)} < ${f(baseline.ndcgAt5)} of ${against}`
        : `held-out NDCG@5 ${f(quality.ndcgAt5)} does not beat ${f(heuristic.ndcgAt5)} of the heuristic${minGain > 0 ? ` by more than ${minGain}` : ''}`;
    if (current && inService) {
      heuristicServes = !beatsHeuristic(inService);
      reason += heuristicServes
        ? `; ${current.version} no longer beats the heuristic either (${f(inService.ndcgAt5)} vs ${f(heuristic.ndcgAt5)}): the heuristic serves`
        : `; ${current.version} keeps serving (${f(inService.ndcgAt5)} vs ${f(heuristic.ndcgAt5)} of the heuristic)`;
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
    heuristicServes,
  };
}
