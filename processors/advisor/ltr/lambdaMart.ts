/**
 * LambdaMART: gradient-boosted regression trees fitted to lambda gradients that optimise
 * NDCG (Burges, "From RankNet to LambdaRank to LambdaMART", 2010), grown leaf-wise on
 * histogram bins like LightGBM. Pure and deterministic: no randomness at all.
 *
 * Per round, for each query, every pair (i, j) with label_i > label_j contributes
 * rho = 1 / (1 + e^{sigma (s_i - s_j)}), lambda = sigma |delta NDCG_ij| rho to the
 * gradients (down for j, up for i) and sigma^2 |delta NDCG_ij| rho (1 - rho) to the
 * Hessians. A tree is fitted to them with Newton leaf values -G / (H + l2) and added with
 * the learning rate. Missing values (NaN) go left at every split.
 */

export interface LambdaMartOptions {
  trees: number;
  leaves: number;
  learningRate: number;
  minDataInLeaf: number;
  /** Histogram bins per feature. */
  bins: number;
  sigma: number;
  l2: number;
}

export const LAMBDA_MART_DEFAULTS: LambdaMartOptions = { trees: 100, leaves: 15, learningRate: 0.1, minDataInLeaf: 5, bins: 64, sigma: 1, l2: 1 };

/** A tree as flat arrays (what ONNX's TreeEnsembleRegressor wants too). A leaf has feature -1. */
export interface Tree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
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
    node = Number.isNaN(v) || v <= (t.threshold[node] as number) ? (t.left[node] as number) : (t.right[node] as number);
  }
  return t.value[node] as number;
}

export function predict(model: LambdaMartModel, x: ArrayLike<number>): number {
  let s = 0;
  for (const t of model.trees) s += predictTree(t, x);
  return s * model.learningRate;
}

/** Cut points per feature: quantiles of its distinct finite values. */
function binEdges(x: ReadonlyArray<ArrayLike<number>>, feature: number, bins: number): number[] {
  const values = [...new Set(Array.from(x, (r) => r[feature] as number).filter(Number.isFinite))].sort((a, b) => a - b);
  if (values.length <= bins) return values.slice(0, -1).map((v, i) => (v + (values[i + 1] as number)) / 2);
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const i = Math.floor((b * values.length) / bins);
    const edge = ((values[i - 1] as number) + (values[i] as number)) / 2;
    if (edges.length === 0 || edge > (edges[edges.length - 1] as number)) edges.push(edge);
  }
  return edges;
}

/** Bin 0 holds NaN; value v goes to 1 + (number of edges below v). */
function binOf(edges: readonly number[], v: number): number {
  if (Number.isNaN(v)) return 0;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= (edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

interface Leaf {
  node: number;
  rows: number[];
  g: number;
  h: number;
  best: { gain: number; feature: number; bin: number } | null;
}

function bestSplit(rows: number[], binned: Uint16Array[], grad: Float64Array, hess: Float64Array, nBins: number[], o: LambdaMartOptions): Leaf['best'] {
  let g = 0;
  let h = 0;
  for (const r of rows) {
    g += grad[r] as number;
    h += hess[r] as number;
  }
  const parent = (g * g) / (h + o.l2);
  let best: Leaf['best'] = null;
  for (let f = 0; f < binned.length; f++) {
    const bins = nBins[f] as number;
    const hg = new Float64Array(bins);
    const hh = new Float64Array(bins);
    const hc = new Int32Array(bins);
    const col = binned[f] as Uint16Array;
    for (const r of rows) {
      const b = col[r] as number;
      hg[b] = (hg[b] as number) + (grad[r] as number);
      hh[b] = (hh[b] as number) + (hess[r] as number);
      hc[b] = (hc[b] as number) + 1;
    }
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let b = 0; b < bins - 1; b++) {
      gl += hg[b] as number;
      hl += hh[b] as number;
      cl += hc[b] as number;
      const cr = rows.length - cl;
      if (cl < o.minDataInLeaf || cr < o.minDataInLeaf) continue;
      const gr = g - gl;
      const hr = h - hl;
      const gain = (gl * gl) / (hl + o.l2) + (gr * gr) / (hr + o.l2) - parent;
      if (gain > 1e-12 && (!best || gain > best.gain)) best = { gain, feature: f, bin: b };
    }
  }
  return best;
}

function fitTree(binned: Uint16Array[], edges: number[][], grad: Float64Array, hess: Float64Array, o: LambdaMartOptions): Tree {
  const nBins = edges.map((e) => e.length + 2);
  const tree: Tree = { feature: [-1], threshold: [0], left: [-1], right: [-1], value: [0] };
  const all = Array.from({ length: grad.length }, (_, i) => i);
  const sum = (rows: number[], a: Float64Array) => rows.reduce((s, r) => s + (a[r] as number), 0);
  const leaves: Leaf[] = [{ node: 0, rows: all, g: sum(all, grad), h: sum(all, hess), best: bestSplit(all, binned, grad, hess, nBins, o) }];
  while (leaves.length < o.leaves) {
    let pick = -1;
    for (let i = 0; i < leaves.length; i++) {
      const b = leaves[i]?.best;
      if (b && (pick < 0 || b.gain > (leaves[pick]?.best?.gain ?? 0))) pick = i;
    }
    if (pick < 0) break;
    const leaf = leaves[pick] as Leaf;
    const { feature, bin } = leaf.best as NonNullable<Leaf['best']>;
    const col = binned[feature] as Uint16Array;
    const leftRows = leaf.rows.filter((r) => (col[r] as number) <= bin);
    const rightRows = leaf.rows.filter((r) => (col[r] as number) > bin);
    const l = tree.feature.length;
    const r = l + 1;
    for (let k = 0; k < 2; k++) {
      tree.feature.push(-1);
      tree.threshold.push(0);
      tree.left.push(-1);
      tree.right.push(-1);
      tree.value.push(0);
    }
    tree.feature[leaf.node] = feature;
    // Bin b holds values <= edges[b - 1]; bin 0 is NaN, which goes left anyway.
    tree.threshold[leaf.node] = bin === 0 ? Number.NEGATIVE_INFINITY : ((edges[feature] as number[])[bin - 1] as number);
    tree.left[leaf.node] = l;
    tree.right[leaf.node] = r;
    leaves.splice(
      pick,
      1,
      { node: l, rows: leftRows, g: sum(leftRows, grad), h: sum(leftRows, hess), best: bestSplit(leftRows, binned, grad, hess, nBins, o) },
      { node: r, rows: rightRows, g: sum(rightRows, grad), h: sum(rightRows, hess), best: bestSplit(rightRows, binned, grad, hess, nBins, o) },
    );
  }
  for (const leaf of leaves) tree.value[leaf.node] = -leaf.g / (leaf.h + o.l2);
  return tree;
}

/** Lambda gradients and Hessians of NDCG for every row, given the current scores. */
export function lambdaGradients(labels: readonly number[], groups: readonly number[][], scores: Float64Array, sigma: number): { grad: Float64Array; hess: Float64Array } {
  const grad = new Float64Array(labels.length);
  const hess = new Float64Array(labels.length);
  for (const rows of groups) {
    const ideal = [...rows.map((r) => labels[r] as number)].sort((a, b) => b - a).reduce((s, l, i) => s + (2 ** l - 1) / Math.log2(i + 2), 0);
    if (ideal === 0) continue;
    const ordered = [...rows].sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
    const rank = new Map(ordered.map((r, i) => [r, i]));
    for (const i of rows) {
      for (const j of rows) {
        const li = labels[i] as number;
        const lj = labels[j] as number;
        if (li <= lj) continue;
        const delta = Math.abs(((2 ** li - 2 ** lj) * (1 / Math.log2((rank.get(i) as number) + 2) - 1 / Math.log2((rank.get(j) as number) + 2))) / ideal);
        const rho = 1 / (1 + Math.exp(sigma * ((scores[i] as number) - (scores[j] as number))));
        const lambda = sigma * delta * rho;
        const h = sigma * sigma * delta * rho * (1 - rho);
        grad[i] = (grad[i] as number) - lambda;
        grad[j] = (grad[j] as number) + lambda;
        hess[i] = (hess[i] as number) + h;
        hess[j] = (hess[j] as number) + h;
      }
    }
  }
  return { grad, hess };
}

export function trainLambdaMart(data: TrainingSet, options: Partial<LambdaMartOptions> = {}): LambdaMartModel {
  const o = { ...LAMBDA_MART_DEFAULTS, ...options };
  const n = data.labels.length;
  const featureCount = n > 0 ? (data.x[0] as ArrayLike<number>).length : 0;
  const edges = Array.from({ length: featureCount }, (_, f) => binEdges(data.x, f, o.bins));
  const binned = edges.map((e, f) => Uint16Array.from(data.x, (row) => binOf(e, row[f] as number)));
  const byQuery = new Map<string, number[]>();
  data.queries.forEach((q, i) => byQuery.set(q, [...(byQuery.get(q) ?? []), i]));
  const groups = [...byQuery.values()];
  const scores = new Float64Array(n);
  const model: LambdaMartModel = { featureCount, learningRate: o.learningRate, trees: [] };
  for (let t = 0; t < o.trees; t++) {
    const { grad, hess } = lambdaGradients(data.labels, groups, scores, o.sigma);
    const tree = fitTree(binned, edges, grad, hess, o);
    model.trees.push(tree);
    for (let i = 0; i < n; i++) scores[i] = (scores[i] as number) + o.learningRate * predictTree(tree, data.x[i] as ArrayLike<number>);
  }
  return model;
}
