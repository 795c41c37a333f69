/**
 * The LambdaRank objective for NDCG, as LightGBM's `lambdarank` computes it (Burges 2010;
 * LightGBM's rank_objective.hpp), on typed arrays, one query at a time:
 *
 * - The query's documents are sorted by the current score (ties: input order). Every pair
 *   (i, j) with different labels where the better-placed one ranks within the first
 *   `truncationLevel` positions counts once.
 * - A pair's weight is |delta NDCG|, the change in NDCG@truncationLevel if the two swapped
 *   places (gain 2^label - 1, discount 1 / log2(2 + position)). With `normalise`, it is divided
 *   by 0.01 + |score difference| (unless all scores are equal): pairs the model already
 *   separates by a wide margin matter less.
 * - rho = 1 / (1 + e^{sigma (s_high - s_low)}); the pair adds -sigma |dNDCG| rho to the
 *   gradient of the better document and the opposite to the worse one, and
 *   sigma^2 |dNDCG| rho (1 - rho) to both Hessians.
 * - With `normalise`, the query's gradients and Hessians are scaled by log2(1 + S) / S, where
 *   S is the sum of the pairs' |lambda| both ways: a query with many mis-ordered pairs does not
 *   drown the others, and each query's push grows only logarithmically with its disorder.
 *
 * Queries whose best NDCG is 0 (no relevant document) contribute nothing. Deterministic: the
 * same labels, groups and scores give the same numbers, bit for bit.
 */

export interface LambdaObjectiveOptions {
  /** Steepness of the pairwise logistic. */
  sigma: number;
  /** LightGBM's `lambdarank_norm`: score-distance weighting and per-query normalisation. */
  normalise: boolean;
  /** LightGBM's `lambdarank_truncation_level`: pairs need one document above it; NDCG is cut there. */
  truncationLevel: number;
}

export class LambdaRankObjective {
  /**
   * Rows of every query one after the other; query q holds rows[start[q] .. start[q + 1]),
   * kept sorted by the last scores seen, so that the next sort starts nearly sorted.
   */
  private readonly rows: Int32Array;
  private readonly start: Int32Array;
  private readonly label: Float64Array;
  private readonly gain: Float64Array;
  private readonly inverseIdealDcg: Float64Array;
  /** Per query, its most common label: pairs of two such documents never count, so they are not even visited. */
  private readonly commonLabel: Float64Array;
  private readonly discount: Float64Array;
  /** The current query's positions whose label is not its common one. */
  private readonly others: Int32Array;

  /**
   * @param labels graded relevance of each row (any non-negative number: gain 2^label - 1)
   * @param groups rows of each query (disjoint), in input order: score ties keep it
   */
  constructor(
    labels: ArrayLike<number>,
    groups: ReadonlyArray<ArrayLike<number>>,
    private readonly options: LambdaObjectiveOptions,
  ) {
    let total = 0;
    let largest = 0;
    for (const g of groups) {
      total += g.length;
      largest = Math.max(largest, g.length);
    }
    this.rows = new Int32Array(total);
    this.start = new Int32Array(groups.length + 1);
    let k = 0;
    groups.forEach((g, q) => {
      this.start[q] = k;
      for (let i = 0; i < g.length; i++) this.rows[k++] = g[i] as number;
    });
    this.start[groups.length] = k;
    this.label = Float64Array.from(labels);
    this.gain = this.label.map((l) => 2 ** l - 1);
    this.discount = new Float64Array(largest);
    for (let i = 0; i < largest; i++) this.discount[i] = 1 / Math.log2(i + 2);
    this.others = new Int32Array(largest);
    this.inverseIdealDcg = new Float64Array(groups.length);
    this.commonLabel = new Float64Array(groups.length);
    const cut = Math.max(1, options.truncationLevel);
    for (let q = 0; q < groups.length; q++) {
      const labelsOfQuery = Array.from(this.rows.subarray(this.start[q], this.start[q + 1]), (r) => this.label[r] as number).sort((a, b) => b - a);
      let dcg = 0;
      for (let i = 0; i < Math.min(cut, labelsOfQuery.length); i++) dcg += (2 ** (labelsOfQuery[i] as number) - 1) * (this.discount[i] as number);
      this.inverseIdealDcg[q] = dcg > 0 ? 1 / dcg : 0;
      // Sorted descending: the most common label is the longest run (the first of equals).
      let best = 0;
      for (let i = 0, run = 0; i < labelsOfQuery.length; i++) {
        run = i > 0 && labelsOfQuery[i] === labelsOfQuery[i - 1] ? run + 1 : 1;
        if (run > best) {
          best = run;
          this.commonLabel[q] = labelsOfQuery[i] as number;
        }
      }
    }
  }

  get queries(): number {
    return this.start.length - 1;
  }

  /** Writes every row's gradient and Hessian for the given scores (rows outside every query get 0). */
  gradients(scores: Float64Array, grad: Float64Array, hess: Float64Array): void {
    grad.fill(0);
    hess.fill(0);
    for (let q = 0; q < this.queries; q++) this.query(q, scores, grad, hess);
  }

  private query(q: number, scores: Float64Array, grad: Float64Array, hess: Float64Array): void {
    const inverseIdeal = this.inverseIdealDcg[q] as number;
    if (inverseIdeal === 0) return;
    const { sigma, normalise } = this.options;
    const from = this.start[q] as number;
    const n = (this.start[q + 1] as number) - from;
    const rows = this.rows;
    sortByScore(rows, from, from + n, scores);
    const best = scores[rows[from] as number] as number;
    const worst = scores[rows[from + n - 1] as number] as number;
    const byDistance = normalise && best !== worst;
    const { label, gain, discount, others } = this;
    const common = this.commonLabel[q] as number;
    let otherCount = 0;
    for (let j = 0; j < n; j++) if (label[rows[from + j] as number] !== common) others[otherCount++] = j;
    const top = Math.min(n - 1, this.options.truncationLevel);
    let sum = 0;
    let firstOther = 0; // first index into others whose position is after i
    for (let i = 0; i < top; i++) {
      while (firstOther < otherCount && (others[firstOther] as number) <= i) firstOther++;
      const a = rows[from + i] as number;
      const labelA = label[a] as number;
      const scoreA = scores[a] as number;
      const gainA = gain[a] as number;
      const discountA = discount[i] as number;
      // A document with the common label pairs only with the others; any other with everyone after it.
      const viaOthers = labelA === common;
      const end = viaOthers ? otherCount : n;
      for (let k = viaOthers ? firstOther : i + 1; k < end; k++) {
        const j = viaOthers ? (others[k] as number) : k;
        const b = rows[from + j] as number;
        const labelB = label[b] as number;
        if (labelA === labelB) continue;
        const aIsHigh = labelA > labelB;
        const scoreB = scores[b] as number;
        const delta = aIsHigh ? scoreA - scoreB : scoreB - scoreA;
        let weight = Math.abs(gainA - (gain[b] as number)) * (discountA - (discount[j] as number)) * inverseIdeal;
        if (byDistance) weight /= 0.01 + Math.abs(delta);
        const rho = 1 / (1 + Math.exp(sigma * delta));
        const lambda = sigma * weight * rho;
        const h = sigma * sigma * weight * rho * (1 - rho);
        const high = aIsHigh ? a : b;
        const low = aIsHigh ? b : a;
        grad[high] = (grad[high] as number) - lambda;
        grad[low] = (grad[low] as number) + lambda;
        hess[high] = (hess[high] as number) + h;
        hess[low] = (hess[low] as number) + h;
        sum += 2 * lambda;
      }
    }
    if (normalise && sum > 0) {
      const factor = Math.log2(1 + sum) / sum;
      for (let i = from; i < from + n; i++) {
        const r = rows[i] as number;
        grad[r] = (grad[r] as number) * factor;
        hess[r] = (hess[r] as number) * factor;
      }
    }
  }
}

/**
 * Sorts rows[from, to) by descending score, ties by ascending row (a total order: the result
 * does not depend on where it starts). Insertion sort: the rows come sorted by the previous
 * round's scores, which one tree moves only a little.
 */
function sortByScore(rows: Int32Array, from: number, to: number, scores: Float64Array): void {
  for (let i = from + 1; i < to; i++) {
    const r = rows[i] as number;
    const s = scores[r] as number;
    let j = i - 1;
    while (j >= from) {
      const o = rows[j] as number;
      const so = scores[o] as number;
      if (so > s || (so === s && o < r)) break;
      rows[j + 1] = o;
      j--;
    }
    rows[j + 1] = r;
  }
}

/** Gradients and Hessians of one evaluation, for tests and one-off use. */
export function lambdaGradients(
  labels: ArrayLike<number>,
  groups: ReadonlyArray<ArrayLike<number>>,
  scores: Float64Array,
  options: LambdaObjectiveOptions,
): { grad: Float64Array; hess: Float64Array } {
  const grad = new Float64Array(labels.length);
  const hess = new Float64Array(labels.length);
  new LambdaRankObjective(labels, groups, options).gradients(scores, grad, hess);
  return { grad, hess };
}
