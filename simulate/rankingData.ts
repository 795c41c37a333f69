/**
 * Ranking data with a known, learnable signal: for random workloads, the catalog's offers
 * (prices jittered per query) are labelled 0-4 by a hidden utility that the heuristic's
 * fixed weights do not express: cost matters in log terms, a 1.2-3x GPU memory headroom is
 * a sweet spot (less risks OOM, more is waste), and tree-model workloads gain nothing from
 * extra GPUs.
 */
import { extractFeatures, feature } from '../processors/advisor/features.ts';
import { feasible } from '../processors/advisor/heuristicRanker.ts';
import type { InstanceOffer, ModelFramework, WorkloadProfile } from '../schemas/generated/records.ts';
import { ModelFrameworkValues } from '../schemas/generated/records.ts';
import { CATALOG } from './catalog.ts';
import { toInstanceOffer } from './generator.ts';
import { Random } from './random.ts';

export interface LtrQuery {
  id: string;
  workload: WorkloadProfile;
  offers: InstanceOffer[];
  features: Float64Array[];
  labels: number[];
}

export function ltrQueries(count: number, seed: number): LtrQuery[] {
  const rng = new Random(seed);
  const base = CATALOG.map((o) => toInstanceOffer(o, 0));
  const out: LtrQuery[] = [];
  while (out.length < count) {
    const framework = rng.pick(ModelFrameworkValues) as ModelFramework;
    const workload: WorkloadProfile = {
      framework,
      model_family: 'generated',
      param_count: Math.round(10 ** rng.between(6, 10)),
      dataset_size_gb: 10 ** rng.between(0, 3),
      gpu_memory_required_gb: rng.between(4, 60),
      num_gpus: 1,
      expected_duration_h: rng.between(1, 24),
      distributed: false,
    };
    const offers = base.map((o) => ({ ...o, on_demand_price_usd: o.on_demand_price_usd * rng.between(0.7, 1.3) })).filter((o) => feasible({ workload, budgetUsd: null, regionAllowList: [], topK: 100 }, o));
    if (offers.length < 6) continue;
    const features = offers.map((o) => extractFeatures(workload, o, null));
    const utility = features.map((f) => {
      const headroom = feature(f, 'gpu_memory_headroom');
      const tree = feature(f, 'framework_is_tree') === 1;
      return (
        -Math.log(feature(f, 'estimated_cost_usd')) +
        (headroom >= 1.2 && headroom <= 3 ? 1.5 : 0) -
        (tree && feature(f, 'gpu_count') > 1 ? 2 : 0) +
        0.1 * rng.normal()
      );
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
