/**
 * The simulator's ranking data (simulate/rankingData.ts) in the benchmark's shape: (workload,
 * catalog offer) pairs with the advisor's 26 features, labelled 0-4 by per-query quantiles of
 * a hidden utility (log cost, a memory-headroom sweet spot, no extra GPUs for tree models).
 * The data the learner was first built on; the other generators are there to check it
 * generalises.
 */
import { FEATURE_NAMES } from '../../processors/advisor/features.ts';
import { ltrQueries } from '../../simulate/rankingData.ts';
import type { RankingGenerator, RankingQuery } from './dataset.ts';

export const simulator: RankingGenerator = {
  name: 'simulator',
  summary: "the simulator's (workload, offer) pairs, 26 advisor features, per-query quantile labels of a hidden utility",
  featureNames: FEATURE_NAMES,
  queries(count: number, seed: number): RankingQuery[] {
    return ltrQueries(count, seed).map((q) => ({ id: q.id, features: q.features, labels: q.labels }));
  },
};
