/**
 * LambdaMART: gradient-boosted regression trees fitted to lambda gradients that optimise
 * NDCG (Burges, "From RankNet to LambdaRank to LambdaMART", 2010), as LightGBM's `lambdarank`
 * does it. Pure and deterministic: no randomness, and the same data and options give the same
 * model, bit for bit.
 *
 * - Objective (lambdaObjective.ts): per query, pairs of documents sorted by score, weighted
 *   by |delta NDCG| and a logistic of their score difference; with `normalise` (LightGBM's
 *   `lambdarank_norm`, on by default) weighted down by score distance and normalised per query.
 * - Trees (treeLearner.ts, histogram.ts): grown leaf-wise on histograms of binned features
 *   (binning.ts), the smaller child's histogram built and the other one subtracted from the
 *   parent, Newton leaf values -G / (H + l2).
 * - Missing values (NaN) go, at each split, to the side learned from the training rows that
 *   had them (`missingLeft`), as ONNX's `nodes_missing_value_tracks_true` expresses.
 */
import { binFeatures } from './binning.ts';
import { LambdaRankObjective } from './lambdaObjective.ts';
import { TreeLearner } from './treeLearner.ts';

export interface LambdaMartOptions {
  /** Boosting rounds. */
  trees: number;
  /** Most leaves per tree (leaf-wise growth). */
  leaves: number;
  learningRate: number;
  /** Fewest training rows in a leaf. */
  minDataInLeaf: number;
  /** Smallest sum of Hessians in a leaf (LightGBM's min_sum_hessian_in_leaf). */
  minSumHessianInLeaf: number;
  /** Histogram bins per feature (plus one for missing values). */
  bins: number;
  /** Steepness of the pairwise logistic. */
  sigma: number;
  /** L2 regularisation of leaf values. */
  l2: number;
  /** Score-distance weighting and per-query normalisation of the lambdas (LightGBM's lambdarank_norm). */
  normalise: boolean;
  /** Pairs need one document in the first this-many places by score; NDCG is cut there too. */
  truncationLevel: number;
}

export const LAMBDA_MART_DEFAULTS: Readonly<LambdaMartOptions> = {
  trees: 100,
  leaves: 15,
  learningRate: 0.1,
  minDataInLeaf: 5,
  minSumHessianInLeaf: 1e-3,
  bins: 64,
  sigma: 1,
  l2: 1,
  normalise: true,
  truncationLevel: 30,
};

/**
 * A tree as flat arrays (what ONNX's TreeEnsembleRegressor wants too). A leaf has feature -1.
 * A split sends x to `left` when x[feature] <= threshold, a missing (NaN) x[feature] to `left`
 * when `missingLeft` says so (absent: left), anything else to `right`.
 */
export interface Tree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
  missingLeft?: boolean[];
}

export interface LambdaMartModel {
  featureCount: number;
  learningRate: number;
  trees: Tree[];
}

export interface TrainingSet {
  /** Rows of features. */
  x: ReadonlyArray<ArrayLike<number>>;
  labels: readonly number[];
  /** Query id of each row. */
  queries: readonly string[];
}

export function predictTree(t: Tree, x: ArrayLike<number>): number {
  let node = 0;
  while ((t.feature[node] as number) >= 0) {
    const v = x[t.feature[node] as number] as number;
    const left = v <= (t.threshold[node] as number) || (Number.isNaN(v) && (t.missingLeft?.[node] ?? true));
    node = left ? (t.left[node] as number) : (t.right[node] as number);
  }
  return t.value[node] as number;
}

export function predict(model: LambdaMartModel, x: ArrayLike<number>): number {
  let s = 0;
  for (const t of model.trees) s += predictTree(t, x);
  return s * model.learningRate;
}

/** Checks options up front, naming the bad one. */
export function validateLambdaMartOptions(o: LambdaMartOptions): void {
  const check = (name: keyof LambdaMartOptions, ok: boolean, want: string) => {
    if (!ok) throw new RangeError(`LambdaMART option ${name} must be ${want}, got ${String(o[name])}`);
  };
  check('trees', Number.isInteger(o.trees) && o.trees >= 0, 'an integer >= 0');
  check('leaves', Number.isInteger(o.leaves) && o.leaves >= 2, 'an integer >= 2');
  check('learningRate', o.learningRate > 0 && Number.isFinite(o.learningRate), 'a finite number > 0');
  check('minDataInLeaf', Number.isInteger(o.minDataInLeaf) && o.minDataInLeaf >= 1, 'an integer >= 1');
  check('minSumHessianInLeaf', o.minSumHessianInLeaf >= 0, 'a number >= 0');
  check('bins', Number.isInteger(o.bins) && o.bins >= 2 && o.bins <= 65_536, 'an integer in 2..65536');
  check('sigma', o.sigma > 0 && Number.isFinite(o.sigma), 'a finite number > 0');
  check('l2', o.l2 >= 0 && Number.isFinite(o.l2), 'a finite number >= 0');
  check('normalise', typeof o.normalise === 'boolean', 'true or false');
  check('truncationLevel', o.truncationLevel >= 1, 'a number >= 1');
}

export function trainLambdaMart(data: TrainingSet, options: Partial<LambdaMartOptions> = {}): LambdaMartModel {
  const o: LambdaMartOptions = { ...LAMBDA_MART_DEFAULTS, ...options };
  validateLambdaMartOptions(o);
  const n = data.labels.length;
  if (data.x.length !== n || data.queries.length !== n) throw new RangeError(`LambdaMART: ${data.x.length} rows, ${n} labels and ${data.queries.length} query ids must be as many`);
  const featureCount = n > 0 ? (data.x[0] as ArrayLike<number>).length : 0;
  const model: LambdaMartModel = { featureCount, learningRate: o.learningRate, trees: [] };
  if (n === 0) return model;
  const binned = binFeatures(data.x, featureCount, o.bins);
  const byQuery = new Map<string, number[]>();
  data.queries.forEach((q, i) => {
    const rows = byQuery.get(q);
    if (rows) rows.push(i);
    else byQuery.set(q, [i]);
  });
  const objective = new LambdaRankObjective(data.labels, [...byQuery.values()], o);
  const learner = new TreeLearner(binned, o);
  const scores = new Float64Array(n);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  for (let t = 0; t < o.trees; t++) {
    objective.gradients(scores, grad, hess);
    model.trees.push(learner.grow(grad, hess, scores, o.learningRate));
  }
  return model;
}
