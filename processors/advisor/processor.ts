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
import { offerKey } from '../cost/labelsByOffer.ts';
import { workloadHash } from '../feedback/workloadHash.ts';
import { extractFeatures } from './features.ts';
import { rankHeuristic, type HeuristicWeights, type RankRequest } from './heuristicRanker.ts';
import { scoreRow, type ServingModel } from './ltr/training.ts';
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

function minMax(values: readonly number[]): number[] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values.map((v) => (hi === lo ? 1 : (v - lo) / (hi - lo)));
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
  const all = rankHeuristic({ ...req, topK: Number.MAX_SAFE_INTEGER }, catalog, risks, weights);
  let ranked = all.map((r) => ({ r, score: r.score, factors: { ...r.factors } as Record<string, number> }));
  if (mode !== 'HEURISTIC' && model && all.length > 0) {
    const ltr = all.map((r) => scoreRow(model.model, extractFeatures(req.workload, r.offer, risks.get(offerKey(r.offer)) ?? null)));
    const ltrNorm = minMax(ltr);
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
    })),
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
