/**
 * Ranking data with a known, learnable signal: for random workloads, the catalog's offers
 * that can take them (prices jittered per query) are labelled 0-4 by a hidden utility that
 * the heuristic's fixed weights do not express: the run's true cost in log terms (truth.ts:
 * the GPUs the job uses, per-GPU speed as the job can use it, its own scaling; idle GPUs
 * paid for), a 1.2-3x per-GPU memory headroom is a sweet spot (less risks OOM, more is
 * waste), and tree-model workloads are better off on one-GPU machines. A fifth of the
 * workloads are distributed over 2, 4 or 8 GPUs.
 */
import { extractFeatures, feature } from '../processors/advisor/features.ts';
import { feasible } from '../processors/advisor/heuristicRanker.ts';
import type { InstanceOffer, JobDispatch, JobOutcome, ModelFramework, RecommendationRequest, WorkloadProfile } from '../schemas/generated/records.ts';
import { ModelFrameworkValues } from '../schemas/generated/records.ts';
import { CATALOG, type CatalogOffer } from './catalog.ts';
import { toInstanceOffer } from './generator.ts';
import { Random } from './random.ts';
import { trueRun } from './truth.ts';

export interface LtrQuery {
  id: string;
  workload: WorkloadProfile;
  offers: InstanceOffer[];
  features: Float64Array[];
  labels: number[];
}

/** `priceJitter`: prices vary per query by up to this fraction (0: the catalog's own prices, as the stream sees them). */
export function ltrQueries(count: number, seed: number, priceJitter = 0.3): LtrQuery[] {
  const rng = new Random(seed);
  const base = CATALOG.map((o) => toInstanceOffer(o, 0));
  const out: LtrQuery[] = [];
  while (out.length < count) {
    const framework = rng.pick(ModelFrameworkValues) as ModelFramework;
    const gpus = rng.chance(0.8) ? 1 : rng.pick([2, 4, 8]);
    const workload: WorkloadProfile = {
      framework,
      model_family: 'generated',
      param_count: Math.round(10 ** rng.between(6, 10)),
      dataset_size_gb: 10 ** rng.between(0, 3),
      gpu_memory_required_gb: rng.between(4, 60),
      num_gpus: gpus,
      expected_duration_h: rng.between(1, 24),
      distributed: gpus > 1,
      gpu_memory_sharded: false,
      max_nodes: 1,
    };
    const traits = { parallelFraction: rng.between(0.85, 0.99), saturation: rng.between(0.6, 1) };
    const priced = base.map((o, i) => ({ offer: { ...o, on_demand_price_usd: o.on_demand_price_usd * rng.between(1 - priceJitter, 1 + priceJitter) }, truth: CATALOG[i] as CatalogOffer }));
    const kept = priced.filter(({ offer }) => feasible({ workload, budgetUsd: null, regionAllowList: [], topK: 100 }, offer));
    if (kept.length < 6) continue;
    const offers = kept.map((k) => k.offer);
    const features = offers.map((o) => extractFeatures(workload, o, null));
    const utility = kept.map(({ offer, truth }, i) => {
      const run = trueRun(workload, traits, { ...truth, onDemand: offer.on_demand_price_usd }, workload.expected_duration_h as number);
      const f = features[i] as Float64Array;
      const headroom = feature(f, 'gpu_memory_headroom');
      const tree = feature(f, 'framework_is_tree') === 1;
      return -Math.log(run.costUsd) + (headroom >= 1.2 && headroom <= 3 ? 1.5 : 0) - (tree && offer.gpu_count > 1 ? 2 : 0) + 0.1 * rng.normal();
    });
    const order = utility.map((u, i) => [u, i] as const).sort((a, b) => b[0] - a[0]);
    const labels = new Array<number>(offers.length).fill(0);
    order.forEach(([, i], rank) => {
      const q = rank / offers.length;
      labels[i] = q < 0.1 ? 4 : q < 0.25 ? 3 : q < 0.45 ? 2 : q < 0.7 ? 1 : 0;
    });
    out.push({ id: `q${out.length}`, workload, offers, features, labels });
  }
  return out;
}

/** Runs behind a label: a job that ran this many times its estimate earns the label (the feedback rules' defaults). */
const RATIO_OF_LABEL = [0, 2, 1.3, 1.0, 0.85] as const;

/**
 * The queries as platform traffic: one job per (query, offer), dispatched on demand at the
 * offer's price with an estimate, and an outcome whose duration and cost make the feedback
 * processor give it the query's label (0 as a failure). What goes in at one end of the
 * stream and should come out as a better ranking at the other.
 */
export function ltrJobs(queries: readonly LtrQuery[], t0: number, runId: string): Array<{ dispatch: JobDispatch; outcome: JobOutcome }> {
  const jobs: Array<{ dispatch: JobDispatch; outcome: JobOutcome }> = [];
  queries.forEach((q, qi) =>
    q.offers.forEach((o, oi) => {
      const jobId = `${runId}-${q.id}-${oi}`;
      const at = t0 + (qi * 64 + oi) * 60_000;
      const hours = Math.max(0.1, feature(q.features[oi] as Float64Array, 'estimated_hours') || 1);
      const label = q.labels[oi] as number;
      const durationS = Math.round(hours * 3600 * (label === 0 ? 0.3 : (RATIO_OF_LABEL[label] as number)));
      jobs.push({
        dispatch: {
          event_id: `dispatch:${jobId}`,
          event_time: at,
          job_id: jobId,
          team: 'ranking',
          workload: q.workload,
          instance: { provider: o.provider, region: o.region, instance_type: o.instance_type, spot: false, hourly_price_usd: o.on_demand_price_usd },
          candidates: [],
          estimated_cost_usd: o.on_demand_price_usd * hours,
          estimated_duration_s: Math.round(hours * 3600),
          baseline_metric: null,
          metric_goal: 'MAXIMIZE',
          checkpointing: true,
          hyperparameters: {},
          hpo_study_id: null,
          hpo_trial_id: null,
        },
        outcome: {
          event_id: `outcome:${jobId}`,
          event_time: at + 30_000,
          job_id: jobId,
          status: label === 0 ? 'FAILED' : 'SUCCEEDED',
          duration_s: durationS,
          cost_usd: (o.on_demand_price_usd * durationS) / 3600,
          metric: null,
          preemption_count: 0,
          error: label === 0 ? 'CUDA out of memory' : null,
        },
      });
    }),
  );
  return jobs;
}

/** A recommendation request for a query's workload, asking for every candidate. */
export function ltrRequest(q: LtrQuery, at: number, requestId: string): RecommendationRequest {
  return { event_id: `request:${requestId}`, event_time: at, request_id: requestId, workload: q.workload, goal: 'BALANCED', budget_usd: null, top_k: 100, region_allow_list: [] };
}
