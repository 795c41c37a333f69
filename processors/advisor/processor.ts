/**
 * The training advisor on the stream: a ranked suggestion for every recommendation request,
 * and for every dispatch what the optimizer would have chosen (for the savings report).
 * Candidates come from the instance catalog, preemption history from spot risk and the
 * learned model from advisor-models, all read as global tables.
 *
 * Modes: HEURISTIC (the weighted heuristic alone), LTR (the learned model's score alone)
 * and HYBRID (ltrWeight x the model's score + (1 - ltrWeight) x the heuristic's, both
 * min-max normalised within the candidate set, so the weights compare like with like).
 * LTR and HYBRID apply once a model has been promoted; until then the mode is HEURISTIC.
 * Infeasible offers are filtered first in every mode.
 */
import type { AdvisorModel, InstanceOffer, InstanceSuggestion, JobDispatch, RecommendationRequest, SpotRisk, WorkloadProfile } from '../../schemas/generated/records.ts';
import type { InputRecord, Processor, ProcessorContext } from '../../topology/processor.ts';
import { workloadHash } from '../feedback/workloadHash.ts';
import { FEATURE_COUNT } from './features.ts';
import { heuristicOrder, scoreCandidates, type HeuristicWeights, type RankRequest } from './heuristicRanker.ts';
import { flatEnsemble, scoreRows } from './ltr/flatEnsemble.ts';
import type { ServingModel } from './ltr/training.ts';
import { servingModel } from './servingModel.ts';

export type AdvisorMode = 'heuristic' | 'ltr' | 'hybrid';

export interface AdvisorOptions {
  weightCost: number;
  weightGpu: number;
  weightMemory: number;
  weightReliability: number;
  /** How many alternatives a dispatch's suggestion lists. */
  dispatchTopK: number;
  /** The mode wanted; LTR and HYBRID need a promoted model. */
  mode: AdvisorMode;
  /** HYBRID: the learned model's share of the score. */
  ltrWeight: number;
}

export interface Suggestion {
  mode: InstanceSuggestion['mode'];
  modelVersion: string | null;
  ranked: InstanceSuggestion['ranked'];
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

export function suggest(
  req: RankRequest,
  catalog: Iterable<InstanceOffer>,
  risks: ReadonlyMap<string, SpotRisk>,
  options: AdvisorOptions,
  model: ServingModel | null = null,
): Suggestion {
  const weights: HeuristicWeights = { cost: options.weightCost, gpu: options.weightGpu, memory: options.weightMemory, reliability: options.weightReliability };
  const mode = options.mode === 'heuristic' || !model ? 'HEURISTIC' : options.mode === 'ltr' ? 'LTR' : 'HYBRID';
  // Features once per candidate: the heuristic and the learned model read the same rows.
  const s = scoreCandidates(req, catalog, risks, weights);
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
  return {
    mode,
    modelVersion: mode === 'HEURISTIC' ? null : (model?.version ?? null),
    ranked: order.slice(0, req.topK).map((i, rank) => {
      const offer = s.offers[i] as InstanceOffer;
      const factors: Record<string, number> = s.factors(i);
      if (learned) {
        factors.heuristic = s.score[i] as number;
        factors.ltr = ltrNorm[i] as number;
      }
      return {
        rank: rank + 1,
        instance: { provider: offer.provider, region: offer.region, instance_type: offer.instance_type, spot: false, hourly_price_usd: offer.on_demand_price_usd },
        score: learned ? (finalScores[i] as number) : (s.score[i] as number),
        estimated_cost_usd: s.cost[i] as number,
        factors,
      };
    }),
  };
}

export function advisorProcessor(options: AdvisorOptions): Processor {
  const emit = (ctx: ProcessorContext, base: Pick<InstanceSuggestion, 'event_id' | 'event_time' | 'source' | 'request_id' | 'job_id' | 'team' | 'chosen_cost_usd'>, workload: WorkloadProfile, req: RankRequest, key: string) => {
    const models = ctx.getGlobalTable('advisor-models') as ReadonlyMap<string, AdvisorModel>;
    const s = suggest(req, ctx.getGlobalTable('instance-catalog').values(), ctx.getGlobalTable('spot-risk'), options, options.mode === 'heuristic' ? null : (servingModel(models)?.serving ?? null));
    const suggestion: InstanceSuggestion = { ...base, query_id: workloadHash(workload), mode: s.mode, model_version: s.modelVersion, ranked: s.ranked };
    ctx.forward('instance-suggestions', key, suggestion);
  };
  return {
    name: 'advisor',
    inputs: ['recommendation-requests', 'job-dispatch'],
    globalTables: ['instance-catalog', 'spot-risk', 'advisor-models'],
    stores: [],
    process(record: InputRecord, ctx: ProcessorContext): void {
      if (record.role === 'recommendation-requests') {
        const r = record.value as RecommendationRequest;
        emit(
          ctx,
          { event_id: `suggestion:request:${r.request_id}`, event_time: r.event_time, source: 'REQUEST', request_id: r.request_id, job_id: null, team: 'default', chosen_cost_usd: null },
          r.workload,
          { workload: r.workload, budgetUsd: r.budget_usd, regionAllowList: r.region_allow_list, topK: r.top_k },
          r.request_id,
        );
      } else {
        const d = record.value as JobDispatch;
        emit(
          ctx,
          { event_id: `suggestion:dispatch:${d.job_id}`, event_time: d.event_time, source: 'DISPATCH', request_id: null, job_id: d.job_id, team: d.team, chosen_cost_usd: d.estimated_cost_usd },
          d.workload,
          { workload: d.workload, budgetUsd: null, regionAllowList: [], topK: options.dispatchTopK },
          d.job_id,
        );
      }
    },
  };
}
