/**
 * The training advisor on the stream: a ranked suggestion for every recommendation request,
 * and for every dispatch what the optimizer would have chosen (for the savings report).
 * Candidates come from the instance catalog, preemption history from spot risk, learned
 * scaling from workload-scaling and the learned model from advisor-models, all read as
 * global tables.
 *
 * Modes: HEURISTIC (the weighted heuristic alone), LTR (the learned model's score alone)
 * and HYBRID (ltrWeight x the model's score + (1 - ltrWeight) x the heuristic's, both
 * min-max normalised within the candidate set, so the weights compare like with like).
 * LTR and HYBRID apply while a promoted model serves (servingModel.ts); otherwise the mode
 * is HEURISTIC. Infeasible and oversized offers are filtered first in every mode.
 *
 * One suggestion per request id and per dispatch's job id, however often the input is
 * redelivered or published again: the ids are remembered in a change-logged store for
 * `dedupeTtlMs` of stream time (at most `maxRememberedIds` per partition).
 */
import type { AdvisorModel, InstanceOffer, InstanceSuggestion, JobDispatch, RecommendationRequest, SpotRisk, WorkloadProfile, WorkloadScaling } from '../../schemas/generated/records.ts';
import type { InputRecord, Processor, ProcessorContext } from '../../topology/processor.ts';
import { offerKey } from '../cost/labelsByOffer.ts';
import { workloadHash } from '../feedback/workloadHash.ts';
import { FEATURE_COUNT } from './features.ts';
import { heuristicOrder, scoreCandidates, type HeuristicWeights, type RankingRules, type RankRequest } from './heuristicRanker.ts';
import { flatEnsemble, scoreRows } from './ltr/flatEnsemble.ts';
import type { ServingModel } from './ltr/training.ts';
import { jobModel, type Placement, type ScalingPriors } from './placement.ts';
import { servingModel } from './servingModel.ts';
import { ExpiryIndex } from '../expiryIndex.ts';

export type AdvisorMode = 'heuristic' | 'ltr' | 'hybrid';

export interface AdvisorOptions {
  weightCost: number;
  weightGpu: number;
  weightMemory: number;
  weightReliability: number;
  /** Weights of the COST and SPEED goals (BALANCED: the four above). */
  goalWeights: { COST: HeuristicWeights; SPEED: HeuristicWeights };
  /** The goal of dispatch suggestions. */
  dispatchGoal: 'COST' | 'SPEED' | 'BALANCED';
  /** How many alternatives a dispatch's suggestion lists. */
  dispatchTopK: number;
  /** The mode wanted; LTR and HYBRID need a promoted model. */
  mode: AdvisorMode;
  /** HYBRID: the learned model's share of the score. */
  ltrWeight: number;
  maxGpuOverprovision: number;
  memoryHeadroomTarget: number;
  scaling: ScalingPriors;
  dedupeTtlMs: number;
  maxRememberedIds: number;
}

export interface Suggestion {
  mode: InstanceSuggestion['mode'];
  modelVersion: string | null;
  ranked: InstanceSuggestion['ranked'];
}

/**
 * What a dispatch expected and how it was priced, so that its picks are estimated for the
 * same work and priced the same way (the savings report compares them with what was spent):
 * - hours: when the workload states no work (expected_duration_h), the hours behind the
 *   dispatch's own estimate on the chosen offer, scaled by the job's speed on each pick
 *   against its speed on the chosen one;
 * - spot: a dispatch that ran on spot has its picks priced on spot too where they have a spot
 *   price, with spot risk's expected cost of retries when there is one (with or without
 *   checkpoints, as the job), else at the bare spot price.
 */
export interface DispatchExpectation {
  chosen: InstanceOffer | null;
  hours: number;
  spot: boolean;
  checkpointing: boolean;
}

// Scratch of the learned ranker, reused from call to call (suggest is synchronous).
let rows32 = new Float32Array(0);
let ltrScores = new Float64Array(0);
let ltrNorm = new Float64Array(0);
let finalScores = new Float64Array(0);

function ensureScratch(n: number): void {
  if (ltrScores.length >= n) return;
  const capacity = Math.max(64, 2 ** Math.ceil(Math.log2(n)));
  rows32 = new Float32Array(capacity * FEATURE_COUNT);
  ltrScores = new Float64Array(capacity);
  ltrNorm = new Float64Array(capacity);
  finalScores = new Float64Array(capacity);
}

export function rankingRules(options: Pick<AdvisorOptions, 'maxGpuOverprovision' | 'memoryHeadroomTarget' | 'scaling'>, learned: ReadonlyMap<string, Pick<WorkloadScaling, 'parallel_fraction'>> = new Map()): RankingRules {
  return { scaling: { priors: options.scaling, learned }, maxGpuOverprovision: options.maxGpuOverprovision, memoryHeadroomTarget: options.memoryHeadroomTarget };
}

/** The heuristic's weights for a goal: BALANCED (or none) takes the configured four, COST and SPEED their own. */
export function weightsFor(options: Pick<AdvisorOptions, 'weightCost' | 'weightGpu' | 'weightMemory' | 'weightReliability' | 'goalWeights'>, goal: RankRequest['goal']): HeuristicWeights {
  if (goal === 'COST' || goal === 'SPEED') return options.goalWeights[goal];
  return { cost: options.weightCost, gpu: options.weightGpu, memory: options.weightMemory, reliability: options.weightReliability };
}

export function suggest(
  req: RankRequest,
  catalog: Iterable<InstanceOffer>,
  risks: ReadonlyMap<string, SpotRisk>,
  options: AdvisorOptions,
  model: ServingModel | null = null,
  scaling: ReadonlyMap<string, Pick<WorkloadScaling, 'parallel_fraction'>> = new Map(),
  expectation: DispatchExpectation | null = null,
): Suggestion {
  const weights = weightsFor(options, req.goal);
  const mode = options.mode === 'heuristic' || !model ? 'HEURISTIC' : options.mode === 'ltr' ? 'LTR' : 'HYBRID';
  const rules = rankingRules(options, scaling);
  const job = jobModel(req.workload, rules.scaling);
  // Features once per candidate: the heuristic and the learned model read the same rows.
  const s = scoreCandidates(req, catalog, risks, weights, rules, job);
  const n = s.n;
  const order = heuristicOrder(s);
  const learned = mode !== 'HEURISTIC' && model !== null && n > 0;
  if (learned) {
    ensureScratch(n);
    // The model sees its inputs as float32, as onnxruntime does (scoreRow).
    const cells = n * FEATURE_COUNT;
    const features = s.features;
    for (let i = 0; i < cells; i++) rows32[i] = features[i] as number;
    scoreRows(flatEnsemble(model.model, FEATURE_COUNT), rows32, n, ltrScores);
    // Min-max over the candidates, Math.min/max pairwise as Math.min(...scores) would.
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, ltrScores[i] as number);
      hi = Math.max(hi, ltrScores[i] as number);
    }
    for (let i = 0; i < n; i++) {
      const v = ltrScores[i] as number;
      const norm = hi === lo ? 1 : (v - lo) / (hi - lo);
      ltrNorm[i] = norm;
      finalScores[i] = mode === 'LTR' ? v : options.ltrWeight * norm + (1 - options.ltrWeight) * (s.score[i] as number);
    }
    // Re-sorted from the heuristic's order, as before: a complete tie (score, cost and key) keeps it.
    order.sort((a, b) => (finalScores[b] as number) - (finalScores[a] as number) || (s.cost[a] as number) - (s.cost[b] as number) || s.key(a).localeCompare(s.key(b)));
  }
  // Hours on the chosen offer, in the job's speed on it: the scale of a dispatch's own estimate.
  const chosenSpeed = expectation?.chosen ? job.place(expectation.chosen).speed : Number.NaN;
  return {
    mode,
    modelVersion: mode === 'HEURISTIC' ? null : (model?.version ?? null),
    ranked: order.slice(0, req.topK).map((i, rank) => {
      const offer = s.offers[i] as InstanceOffer;
      const p = s.placements[i] as Placement;
      const factors = s.factors(i);
      if (learned) {
        factors.heuristic = s.score[i] as number;
        factors.ltr = ltrNorm[i] as number;
      }
      let cost = s.cost[i] as number;
      if (!Number.isFinite(p.hours) && expectation && expectation.hours > 0) {
        const hours = (expectation.hours * chosenSpeed) / p.speed;
        if (Number.isFinite(hours) && hours >= 0) {
          factors.hours = hours;
          cost = hours * p.hourlyUsd;
        }
      }
      const spotPrice = expectation?.spot && factors.hours !== undefined ? offer.spot_price_usd : null;
      if (spotPrice !== null) {
        const risk = risks.get(s.key(i));
        const ratio = risk ? (expectation?.checkpointing ? risk.expected_cost_ratio : risk.expected_cost_ratio_no_checkpoint) : null;
        const spotCostRatio = ratio !== null && ratio !== undefined && Number.isFinite(ratio) ? ratio : offer.on_demand_price_usd > 0 ? spotPrice / offer.on_demand_price_usd : 1;
        factors.spot_cost_ratio = spotCostRatio;
        cost *= spotCostRatio;
      }
      return {
        rank: rank + 1,
        instance: { provider: offer.provider, region: offer.region, instance_type: offer.instance_type, spot: spotPrice !== null, hourly_price_usd: spotPrice ?? offer.on_demand_price_usd },
        score: learned ? (finalScores[i] as number) : (s.score[i] as number),
        estimated_cost_usd: cost,
        factors,
        nodes: p.nodes,
      };
    }),
  };
}

/** The catalog's offer for an instance reference: by key, else by its fields (publishers may key the catalog their own way). */
export function findOffer(catalog: ReadonlyMap<string, InstanceOffer>, ref: Pick<InstanceOffer, 'provider' | 'region' | 'instance_type'>): InstanceOffer | undefined {
  const key = offerKey(ref);
  const direct = catalog.get(key);
  if (direct && offerKey(direct) === key) return direct;
  for (const o of catalog.values()) if (o.provider === ref.provider && o.region === ref.region && o.instance_type === ref.instance_type) return o;
  return undefined;
}

export const SUGGESTED_STORE = 'advisor-suggested';

/** When an id was first suggested for (event time). */
interface Suggested {
  at: number;
}

export function advisorProcessor(options: AdvisorOptions): Processor {
  const emit = (
    ctx: ProcessorContext,
    base: Pick<InstanceSuggestion, 'event_id' | 'event_time' | 'source' | 'request_id' | 'job_id' | 'team' | 'chosen_cost_usd'>,
    workload: WorkloadProfile,
    req: RankRequest,
    key: string,
    expectation: DispatchExpectation | null,
  ) => {
    const models = ctx.getGlobalTable('advisor-models') as ReadonlyMap<string, AdvisorModel>;
    const s = suggest(
      req,
      ctx.getGlobalTable('instance-catalog').values(),
      ctx.getGlobalTable('spot-risk'),
      options,
      options.mode === 'heuristic' ? null : (servingModel(models)?.serving ?? null),
      ctx.getGlobalTable('workload-scaling'),
      expectation,
    );
    const suggestion: InstanceSuggestion = { ...base, query_id: workloadHash(workload), mode: s.mode, model_version: s.modelVersion, ranked: s.ranked };
    ctx.forward('instance-suggestions', key, suggestion);
  };

  /** True the first time an id is seen (within the TTL); remembers it. */
  const firstTime = (ctx: ProcessorContext, id: string, eventTime: number): boolean => {
    const store = ctx.getStateStore<Suggested>(SUGGESTED_STORE);
    if (store.get(id)) {
      ctx.count('advisor_duplicates');
      return false;
    }
    store.put(id, { at: eventTime });
    // The oldest leave first (ties by id), 1% at a time, found through a time index rather than
    // a sort of the store (200,000 ids by default: a sort held the loop for 50-300 ms here). The
    // index is built when the store first reaches its cap, and kept up from then on.
    ExpiryIndex.existing(store)?.add(id, eventTime);
    if (store.size > options.maxRememberedIds) {
      const excess = store.size - options.maxRememberedIds + Math.ceil(options.maxRememberedIds / 100);
      for (const k of ExpiryIndex.of(store, (v) => v.at).oldest(excess)) store.delete(k);
    }
    return true;
  };

  return {
    name: 'advisor',
    inputs: ['recommendation-requests', 'job-dispatch'],
    globalTables: ['instance-catalog', 'spot-risk', 'advisor-models', 'workload-scaling'],
    stores: [{ name: SUGGESTED_STORE }],
    process(record: InputRecord, ctx: ProcessorContext): void {
      if (record.role === 'recommendation-requests') {
        const r = record.value as RecommendationRequest;
        if (!firstTime(ctx, `request:${r.request_id}`, r.event_time)) return;
        emit(
          ctx,
          { event_id: `suggestion:request:${r.request_id}`, event_time: r.event_time, source: 'REQUEST', request_id: r.request_id, job_id: null, team: 'default', chosen_cost_usd: null },
          r.workload,
          { workload: r.workload, budgetUsd: r.budget_usd, regionAllowList: r.region_allow_list, topK: r.top_k, goal: r.goal },
          r.request_id,
          null,
        );
      } else {
        const d = record.value as JobDispatch;
        if (!firstTime(ctx, `dispatch:${d.job_id}`, d.event_time)) return;
        const chosen = findOffer(ctx.getGlobalTable('instance-catalog'), d.instance);
        emit(
          ctx,
          { event_id: `suggestion:dispatch:${d.job_id}`, event_time: d.event_time, source: 'DISPATCH', request_id: null, job_id: d.job_id, team: d.team, chosen_cost_usd: d.estimated_cost_usd },
          d.workload,
          { workload: d.workload, budgetUsd: null, regionAllowList: [], topK: options.dispatchTopK, goal: options.dispatchGoal },
          d.job_id,
          { chosen: chosen ?? null, hours: d.estimated_duration_s / 3600, spot: d.instance.spot, checkpointing: d.checkpointing },
        );
      }
    },
    punctuate(streamTime: number, ctx: ProcessorContext): void {
      const store = ctx.getStateStore<Suggested>(SUGGESTED_STORE);
      const expired: string[] = [];
      for (const [k, v] of store.entries()) if (v.at + options.dedupeTtlMs + ctx.graceMs < streamTime) expired.push(k);
      for (const k of expired) store.delete(k);
    },
  };
}
