/**
 * What every ranking-data generator of the LambdaMART benchmark hands out: queries of
 * feature rows with graded labels (0-4, gain 2^label - 1), seeded and deterministic (the same
 * count and seed give the same numbers, bit for bit). The generators differ in kind on
 * purpose (see each file's header) so that the learner is judged on data it was not tuned on.
 */
import type { TrainingSet } from '../../processors/advisor/ltr/lambdaMart.ts';

export interface RankingQuery {
  id: string;
  /** One row per document, `featureNames.length` values; NaN is a missing value. */
  features: Float64Array[];
  labels: number[];
}

export interface RankingGenerator {
  /** Short, file-name-like: what the tables print. */
  readonly name: string;
  /** One line on what sets it apart. */
  readonly summary: string;
  readonly featureNames: readonly string[];
  queries(count: number, seed: number): RankingQuery[];
}

/** The learner's input: every query's rows one after the other, tagged with the query id. */
export function trainingSet(queries: readonly RankingQuery[]): TrainingSet {
  return {
    x: queries.flatMap((q) => q.features),
    labels: queries.flatMap((q) => q.labels),
    queries: queries.flatMap((q) => q.features.map(() => q.id)),
  };
}

/** Per query: the fraction of the other documents whose value is strictly below each one's (NaN stays NaN). */
export function rankWithinQuery(values: readonly number[]): number[] {
  const finite = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const below = (v: number) => {
    let lo = 0;
    let hi = finite.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((finite[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return values.map((v) => (Number.isNaN(v) ? Number.NaN : finite.length > 1 ? below(v) / (finite.length - 1) : 0.5));
}

/** The median of the finite values (NaN when there is none). */
export function median(values: readonly number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Label 0-4 from a utility and four ascending cut points. */
export function grade(utility: number, cuts: readonly [number, number, number, number]): number {
  let label = 0;
  for (const c of cuts) if (utility > c) label++;
  return label;
}
