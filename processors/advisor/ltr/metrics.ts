/** Ranking metrics over one query: NDCG@k (gain 2^label - 1, log2 discount) and reciprocal rank. Pure. */

function dcg(labels: readonly number[], k: number): number {
  let s = 0;
  for (let i = 0; i < Math.min(k, labels.length); i++) s += (2 ** (labels[i] as number) - 1) / Math.log2(i + 2);
  return s;
}

/** NDCG@k of `labels` ordered by descending `scores` (ties: original order). 1 when no item is relevant. */
export function ndcgAt(k: number, scores: readonly number[], labels: readonly number[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => labels[i] as number);
  const ideal = dcg([...labels].sort((a, b) => b - a), k);
  return ideal === 0 ? 1 : dcg(order, k) / ideal;
}

/** 1 / rank of the first item whose label is at least `relevant`; 0 when there is none. */
export function reciprocalRank(scores: readonly number[], labels: readonly number[], relevant: number): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const at = order.findIndex(([, i]) => (labels[i] as number) >= relevant);
  return at < 0 ? 0 : 1 / (at + 1);
}

export interface RankingQuality {
  ndcgAt5: number;
  ndcgAt10: number;
  mrr: number;
  queries: number;
}

/** Mean NDCG@5, NDCG@10 and MRR (relevant: the query's best label, when above 0) over queries. */
export function evaluate(queries: ReadonlyArray<{ scores: readonly number[]; labels: readonly number[] }>): RankingQuality {
  let n5 = 0;
  let n10 = 0;
  let rr = 0;
  for (const q of queries) {
    n5 += ndcgAt(5, q.scores, q.labels);
    n10 += ndcgAt(10, q.scores, q.labels);
    rr += reciprocalRank(q.scores, q.labels, Math.max(1, ...q.labels));
  }
  const n = Math.max(1, queries.length);
  return { ndcgAt5: n5 / n, ndcgAt10: n10 / n, mrr: rr / n, queries: queries.length };
}
