/**
 * The training advisor on the stream: a ranked suggestion for every recommendation request,
 * and for every dispatch what the optimizer would have chosen (for the savings report).
 * Candidates come from the instance catalog, and preemption history from spot risk, both
 * read as global tables. Mode HEURISTIC; the learned ranker is a later step.
 */
import type { InstanceOffer, InstanceSuggestion, JobDispatch, RecommendationRequest, SpotRisk, WorkloadProfile } from '../../schemas/generated/records.ts';
import type { InputRecord, Processor, ProcessorContext } from '../../topology/processor.ts';
import { workloadHash } from '../feedback/workloadHash.ts';
import { rankHeuristic, type HeuristicWeights, type RankRequest } from './heuristicRanker.ts';

export interface AdvisorOptions {
  weightCost: number;
  weightGpu: number;
  weightMemory: number;
  weightReliability: number;
  /** How many alternatives a dispatch's suggestion lists. */
  dispatchTopK: number;
}

export function suggest(req: RankRequest, catalog: Iterable<InstanceOffer>, risks: ReadonlyMap<string, SpotRisk>, options: AdvisorOptions) {
  const weights: HeuristicWeights = { cost: options.weightCost, gpu: options.weightGpu, memory: options.weightMemory, reliability: options.weightReliability };
  return rankHeuristic(req, catalog, risks, weights).map((r, i) => ({
    rank: i + 1,
    instance: { provider: r.offer.provider, region: r.offer.region, instance_type: r.offer.instance_type, spot: false, hourly_price_usd: r.offer.on_demand_price_usd },
    score: r.score,
    estimated_cost_usd: r.estimatedCostUsd,
    factors: { ...r.factors },
  }));
}

export function advisorProcessor(options: AdvisorOptions): Processor {
  const emit = (ctx: ProcessorContext, base: Pick<InstanceSuggestion, 'event_id' | 'event_time' | 'source' | 'request_id' | 'job_id' | 'team' | 'chosen_cost_usd'>, workload: WorkloadProfile, req: RankRequest, key: string) => {
    const suggestion: InstanceSuggestion = {
      ...base,
      query_id: workloadHash(workload),
      mode: 'HEURISTIC',
      model_version: null,
      ranked: suggest(req, ctx.getGlobalTable('instance-catalog').values(), ctx.getGlobalTable('spot-risk'), options),
    };
    ctx.forward('instance-suggestions', key, suggestion);
  };
  return {
    name: 'advisor',
    inputs: ['recommendation-requests', 'job-dispatch'],
    globalTables: ['instance-catalog', 'spot-risk'],
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
