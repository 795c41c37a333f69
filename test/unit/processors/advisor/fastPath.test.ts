/**
 * The ranking hot path against the straightforward definitions it replaced: the flat tree
 * scorer against the per-tree walk (scoreRow: predict on the row as float32), and suggest /
 * rankHeuristic (features once, typed arrays, flat scorer) against a reference that computes
 * features separately for the heuristic and the model and ranks arrays of objects. Bit for
 * bit: toEqual compares numbers with Object.is, so NaN and -0 count too.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../../config/options.ts';
import { extractFeatures, feature, FEATURE_COUNT, FEATURE_NAMES } from '../../../../processors/advisor/features.ts';
import { DEFAULT_RULES, feasible, rankHeuristic, type HeuristicWeights, type RankedOffer, type RankingRules, type RankRequest } from '../../../../processors/advisor/heuristicRanker.ts';
import { jobModel, type Placement } from '../../../../processors/advisor/placement.ts';
import { flatEnsemble, flattenEnsemble, scoreRows } from '../../../../processors/advisor/ltr/flatEnsemble.ts';
import { trainLambdaMart, type LambdaMartModel } from '../../../../processors/advisor/ltr/lambdaMart.ts';
import { toOnnx } from '../../../../processors/advisor/ltr/onnxExport.ts';
import { fromOnnx } from '../../../../processors/advisor/ltr/onnxImport.ts';
import { scoreRow, type ServingModel } from '../../../../processors/advisor/ltr/training.ts';
import { rankingRules, suggest, type AdvisorOptions, type Suggestion } from '../../../../processors/advisor/processor.ts';
import { offerKey } from '../../../../processors/cost/labelsByOffer.ts';
import { ModelFrameworkValues, type InstanceOffer, type SpotRisk, type WorkloadProfile } from '../../../../schemas/generated/records.ts';
import { CATALOG } from '../../../../simulate/catalog.ts';
import { toInstanceOffer } from '../../../../simulate/generator.ts';
import { ltrQueries } from '../../../../simulate/rankingData.ts';
import { marketplace } from '../../../../bench/ltr-data/marketplace.ts';
import { trainingSet } from '../../../../bench/ltr-data/dataset.ts';
import { Random } from '../../../../simulate/random.ts';

// ---- The reference: the ranking as it was written before the hot path was flattened. ----

function normaliseRef(values: number[], higherIsBetter: boolean): number[] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return values.map(() => 0.5);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return values.map((v) => {
    if (!Number.isFinite(v)) return 0;
    const x = hi === lo ? 1 : (v - lo) / (hi - lo);
    return higherIsBetter ? x : 1 - x;
  });
}

/** The reference: one placement per offer, every filter spelled out, objects throughout. */
function rankHeuristicRef(req: RankRequest, catalog: Iterable<InstanceOffer>, risks: ReadonlyMap<string, SpotRisk>, weights: HeuristicWeights, rules: RankingRules = DEFAULT_RULES): RankedOffer[] {
  const candidates: Array<{ offer: InstanceOffer; placement: Placement; cost: number; speed: number; fit: number; reliability: number; rate: number }> = [];
  for (const o of catalog) {
    if (!feasible(req, o, rules.scaling)) continue;
    const placement = jobModel(req.workload, rules.scaling).place(o);
    const f = extractFeatures(req.workload, o, risks.get(offerKey(o)) ?? null, undefined, 0, placement);
    const cost = feature(f, 'estimated_cost_usd');
    if (req.budgetUsd !== null && Number.isFinite(cost) && cost > req.budgetUsd) continue;
    const rate = feature(f, 'preemption_rate');
    candidates.push({
      offer: o,
      placement,
      cost: Number.isFinite(cost) ? cost : placement.hourlyUsd,
      speed: feature(f, 'job_speed'),
      fit: Math.min(feature(f, 'gpu_memory_headroom'), rules.memoryHeadroomTarget),
      reliability: Number.isFinite(rate) ? 1 - rate : 1,
      rate,
    });
  }
  const smallest = Math.min(...candidates.map((c) => c.placement.gpusAllocated));
  const bound = Math.max(smallest, Math.floor(Math.max(1, req.workload.num_gpus) * rules.maxGpuOverprovision));
  const kept = candidates.filter((c) => c.placement.gpusAllocated <= bound);
  // Costs and speeds on a log scale; runs' costs only when some can be estimated, else hourly prices.
  const estimated = kept.some((c) => Number.isFinite(c.placement.costUsd));
  const cost = normaliseRef(kept.map((c) => Math.log(estimated ? c.placement.costUsd : c.placement.hourlyUsd)), false);
  const gpu = normaliseRef(kept.map((c) => Math.log(c.speed)), true);
  const memory = normaliseRef(kept.map((c) => c.fit), true);
  const reliability = normaliseRef(kept.map((c) => c.reliability), true);
  const total = weights.cost + weights.gpu + weights.memory + weights.reliability;
  return kept
    .map((c, i) => {
      const p = c.placement;
      const factors: Record<string, number> = { cost: cost[i] as number, gpu: gpu[i] as number, memory: memory[i] as number, reliability: reliability[i] as number };
      const figures: Record<string, number> = {
        hours: p.hours,
        gpus_used: p.gpusUsed,
        idle_gpus: p.idleGpus,
        idle_cost_usd: (p.costUsd * p.idleGpus) / p.gpusAllocated,
        nodes: p.nodes,
        memory_headroom: p.memoryHeadroom,
        scaling_efficiency: p.efficiency,
        preemption_rate: c.rate,
      };
      for (const [k, v] of Object.entries(figures)) if (Number.isFinite(v)) factors[k] = v;
      const score = (weights.cost * factors.cost! + weights.gpu * factors.gpu! + weights.memory * factors.memory! + weights.reliability * factors.reliability!) / total;
      return { offer: c.offer, score, estimatedCostUsd: c.cost, placement: p, factors };
    })
    .sort((a, b) => b.score - a.score || a.estimatedCostUsd - b.estimatedCostUsd || offerKey(a.offer).localeCompare(offerKey(b.offer)))
    .slice(0, req.topK);
}

function minMaxRef(values: readonly number[]): number[] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values.map((v) => (hi === lo ? 1 : (v - lo) / (hi - lo)));
}

function suggestRef(req: RankRequest, catalog: Iterable<InstanceOffer>, risks: ReadonlyMap<string, SpotRisk>, options: AdvisorOptions, model: ServingModel | null): Suggestion {
  const weights: HeuristicWeights =
    req.goal === 'COST' || req.goal === 'SPEED' ? options.goalWeights[req.goal] : { cost: options.weightCost, gpu: options.weightGpu, memory: options.weightMemory, reliability: options.weightReliability };
  const mode = options.mode === 'heuristic' || !model ? 'HEURISTIC' : options.mode === 'ltr' ? 'LTR' : 'HYBRID';
  const rules = rankingRules(options);
  const all = rankHeuristicRef({ ...req, topK: Number.MAX_SAFE_INTEGER }, catalog, risks, weights, rules);
  let ranked = all.map((r) => ({ r, score: r.score, factors: { ...r.factors } as Record<string, number> }));
  if (mode !== 'HEURISTIC' && model && all.length > 0) {
    const ltr = all.map((r) => scoreRow(model.model, extractFeatures(req.workload, r.offer, risks.get(offerKey(r.offer)) ?? null, undefined, 0, r.placement)));
    const ltrNorm = minMaxRef(ltr);
    ranked = all.map((r, i) => ({
      r,
      score: mode === 'LTR' ? (ltr[i] as number) : options.ltrWeight * (ltrNorm[i] as number) + (1 - options.ltrWeight) * r.score,
      factors: { ...r.factors, heuristic: r.score, ltr: ltrNorm[i] as number },
    }));
    ranked.sort((a, b) => b.score - a.score || a.r.estimatedCostUsd - b.r.estimatedCostUsd || offerKey(a.r.offer).localeCompare(offerKey(b.r.offer)));
  }
  return {
    mode,
    modelVersion: mode === 'HEURISTIC' ? null : (model?.version ?? null),
    ranked: ranked.slice(0, req.topK).map(({ r, score, factors }, i) => ({
      rank: i + 1,
      instance: { provider: r.offer.provider, region: r.offer.region, instance_type: r.offer.instance_type, spot: false, hourly_price_usd: r.offer.on_demand_price_usd },
      score,
      estimated_cost_usd: r.estimatedCostUsd,
      factors,
      nodes: r.placement.nodes,
    })),
  };
}

// ---- Inputs ----

function train(queries: number, seed: number, trees: number, leaves: number): LambdaMartModel {
  const q = ltrQueries(queries, seed, 0.3);
  return trainLambdaMart({ x: q.flatMap((x) => x.features), labels: q.flatMap((x) => x.labels), queries: q.flatMap((x) => x.features.map(() => x.id)) }, { trees, leaves });
}

const readBack = (m: LambdaMartModel) => fromOnnx(toOnnx(m, { version: 'v', trainedAt: '2026-01-01T00:00:00.000Z', samples: 1, queries: 1, featureNames: FEATURE_NAMES })).model;

/** Trained in memory (float64 thresholds, +Infinity for "every value left, missing right") and read back from ONNX (float32). */
const trained = train(60, 11, 40, 15);
/** On data with many missing values that mean different things: splits that send them right as well as left. */
const withMissing = trainLambdaMart(trainingSet(marketplace.queries(80, 14)), { trees: 30, leaves: 15 });
const models: LambdaMartModel[] = [trained, readBack(trained), readBack(train(40, 12, 100, 15)), train(30, 13, 1, 2), withMissing, readBack(withMissing)];

/** Not what training writes, but what a tree can hold: the flat form must walk it the same. */
const malformed: LambdaMartModel = {
  featureCount: 30,
  learningRate: 0.37,
  trees: [
    // NaN threshold; a split on a feature beyond the row (reads undefined: always right).
    { feature: [3, 40, -1, -1, -1], threshold: [Number.NaN, 1, 0, 0, 0], left: [1, 3, -1, -1, -1], right: [2, 4, -1, -1, -1], value: [0, 0, 1.5, -2, 3] },
    // A child id with no node: a leaf of value NaN.
    { feature: [5, -1], threshold: [0.5, 0], left: [1, -1], right: [7, -1], value: [0, 0.25] },
    // A feature index that is not an integer.
    { feature: [2.5, -1, -1], threshold: [1, 0, 0], left: [1, -1, -1], right: [2, -1, -1], value: [0, 1, 2] },
    // Missing values sent right, and a split whose missing side is given for some nodes only.
    { feature: [4, 6, -1, -1, -1], threshold: [0.5, Number.POSITIVE_INFINITY, 0, 0, 0], left: [1, 3, -1, -1, -1], right: [2, 4, -1, -1, -1], value: [0, 0, 1, 2, 4], missingLeft: [false, false] },
    // A single leaf; a node shared by two parents.
    { feature: [-1], threshold: [0], left: [-1], right: [-1], value: [0.125] },
    { feature: [0, 1, -1, -1], threshold: [0, 1, 0, 0], left: [1, 2, -1, -1], right: [3, 3, -1, -1], value: [0, 0, 4, 8] },
  ],
};

/** Thresholds by feature: rows that sit exactly on a split (as float32) are where float32 and float64 comparisons differ. */
function thresholdsByFeature(model: LambdaMartModel): number[][] {
  const out: number[][] = Array.from({ length: FEATURE_COUNT }, () => []);
  for (const t of model.trees) t.feature.forEach((f, n) => f >= 0 && f < FEATURE_COUNT && Number.isInteger(f) && out[f]?.push(t.threshold[n] as number));
  return out;
}

function randomRow(rng: Random, thresholds: number[][]): number[] {
  return Array.from({ length: FEATURE_COUNT }, (_, f) => {
    const on = thresholds[f] ?? [];
    if (on.length > 0 && rng.chance(0.3)) return Math.fround(rng.pick(on)) * (rng.chance(0.8) ? 1 : 1 + rng.pick([-1, 1]) * 2 ** -23);
    const u = rng.next();
    if (u < 0.1) return Number.NaN;
    if (u < 0.13) return rng.chance(0.5) ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    if (u < 0.18) return rng.chance(0.5) ? 0 : -0;
    return (rng.next() - 0.3) * 10 ** rng.between(-3, 4);
  });
}

const base = CATALOG.map((o) => toInstanceOffer(o, 0));

function randomCatalog(rng: Random): InstanceOffer[] {
  return Array.from({ length: rng.int(0, 120) }, (_, i) => {
    const o = rng.pick(base);
    return {
      ...o,
      // Some exact duplicates of an offer's name, so ties go all the way to the key.
      instance_type: rng.chance(0.15) ? o.instance_type : `${o.instance_type}-${i}`,
      on_demand_price_usd: rng.chance(0.2) ? o.on_demand_price_usd : o.on_demand_price_usd * rng.between(0.8, 1.2),
      spot_price_usd: rng.chance(0.2) ? null : o.spot_price_usd,
      gpu_type: rng.chance(0.05) ? 'MYSTERY' : o.gpu_type,
      available: rng.chance(0.95),
      region: rng.chance(0.1) ? 'elsewhere' : o.region,
    };
  });
}

function randomWorkload(rng: Random): WorkloadProfile {
  return {
    framework: rng.pick(ModelFrameworkValues),
    model_family: 'generated',
    param_count: rng.chance(0.1) ? 0 : 10 ** rng.between(6, 11),
    dataset_size_gb: rng.chance(0.1) ? 0 : rng.between(0, 1000),
    gpu_memory_required_gb: rng.pick([0, 8, 16, 40, 80, 200]),
    num_gpus: rng.pick([0, 1, 1, 2, 4, 8, 16]),
    expected_duration_h: rng.chance(0.2) ? null : rng.between(0, 20),
    distributed: rng.chance(0.3),
    gpu_memory_sharded: rng.chance(0.2),
    max_nodes: rng.pick([1, 1, 2, 4]),
  };
}

function randomRisks(rng: Random, catalog: readonly InstanceOffer[]): Map<string, SpotRisk> {
  const risks = new Map<string, SpotRisk>();
  if (rng.chance(0.4)) return risks;
  for (const o of catalog) if (rng.chance(0.5)) risks.set(offerKey(o), { preemption_rate: rng.between(0, 0.5), rate_upper: rng.next(), runs: rng.int(0, 50) } as SpotRisk);
  return risks;
}

// ---- Tests ----

describe('flat tree ensemble', () => {
  it('scores bit-identically to the per-tree walk on float32 rows, missing and infinite values included', () => {
    const rng = new Random(21);
    for (const model of [...models, malformed]) {
      const flat = flattenEnsemble(model, FEATURE_COUNT);
      const thresholds = thresholdsByFeature(model);
      const rows = Array.from({ length: 400 }, () => randomRow(rng, thresholds));
      const x = new Float32Array(rows.length * FEATURE_COUNT);
      rows.forEach((r, i) => x.set(r, i * FEATURE_COUNT));
      const out = new Float64Array(rows.length);
      scoreRows(flat, x, rows.length, out);
      expect([...out]).toEqual(rows.map((r) => scoreRow(model, r)));
    }
  });

  it('lays every tree out once, and is built once per model', () => {
    const model = models[1] as LambdaMartModel;
    const flat = flatEnsemble(model, FEATURE_COUNT);
    expect(flatEnsemble(model, FEATURE_COUNT)).toBe(flat);
    expect(flat.treeCount).toBe(model.trees.length);
    const nodes = model.trees.reduce((s, t) => s + t.feature.length, 0);
    expect(flat.feature.length + flat.leaf.length).toBe(nodes);
    expect(flat.leaf.length).toBe(model.trees.reduce((s, t) => s + t.feature.filter((f) => f < 0).length, 0));
  });
});

describe('ranking hot path', () => {
  it('suggests exactly what features-twice and object trees did, in every mode', () => {
    const rng = new Random(22);
    const servings: Array<ServingModel | null> = [null, ...models.map((model, i) => ({ version: `m${i}`, model }))];
    const weightSets = [
      { weightCost: DEFAULTS.advisor.weightCost, weightGpu: DEFAULTS.advisor.weightGpu, weightMemory: DEFAULTS.advisor.weightMemory, weightReliability: DEFAULTS.advisor.weightReliability },
      { weightCost: 1, weightGpu: 0, weightMemory: 0, weightReliability: 0 },
      { weightCost: 0, weightGpu: 0, weightMemory: 0, weightReliability: 0 }, // NaN scores
    ];
    let compared = 0;
    for (let it = 0; it < 200; it++) {
      const catalog = randomCatalog(rng);
      const risks = randomRisks(rng, catalog);
      const req: RankRequest = {
        workload: randomWorkload(rng),
        budgetUsd: rng.chance(0.3) ? rng.between(0, 100) : null,
        regionAllowList: rng.chance(0.2) ? ['elsewhere', rng.pick(base).region] : [],
        topK: rng.pick([0, 1, 5, 10, 1000, Number.MAX_SAFE_INTEGER]),
        goal: rng.pick([undefined, 'BALANCED', 'COST', 'SPEED'] as const),
      };
      const weights = rng.pick(weightSets);
      const heuristicWeights = { cost: weights.weightCost, gpu: weights.weightGpu, memory: weights.weightMemory, reliability: weights.weightReliability };
      expect(rankHeuristic(req, catalog, risks, heuristicWeights)).toEqual(rankHeuristicRef(req, catalog, risks, heuristicWeights));
      for (const mode of ['heuristic', 'ltr', 'hybrid'] as const) {
        const options: AdvisorOptions = { ...DEFAULTS.advisor, ...weights, mode, ltrWeight: rng.pick([0.7, 0.3, 0, 1]) };
        const model = rng.pick(servings);
        const got = suggest(req, catalog, risks, options, model);
        expect(got).toEqual(suggestRef(req, catalog, risks, options, model));
        if (got.ranked.length > 1) compared++;
      }
    }
    expect(compared).toBeGreaterThan(200);
  });
});
