/**
 * The serving form of a LambdaMART model: all trees' split nodes in a few typed arrays and a
 * tight loop over a matrix of feature rows, instead of a walk of each tree's own JS arrays per
 * candidate, behind a float32 copy of each row. Scores are bit-identical to `predict` on the
 * row rounded to float32 (`scoreRow`, what onnxruntime computes):
 *
 * - rows are read as float32 (the caller rounds them once per ranking, as scoreRow does per row);
 * - thresholds are kept as float64, which holds exactly what the tree holds: float32 values for
 *   a model read back from ONNX (fromOnnx rounds them with Math.fround) and for a model fresh
 *   from training (its cut points are float32 values), whatever a hand-made tree holds, so the
 *   comparison is the very one `predictTree` makes;
 * - NaN goes where the split learned to send it (`missingLeft`, absent: left), as in training
 *   and ONNX (`nodes_missing_value_tracks_true`);
 * - leaf values are summed in tree order from 0, then scaled by the learning rate, as
 *   `predict` does.
 *
 * Nodes are laid out depth-first, tree after tree. A child reference c >= 0 is a split node;
 * c < 0 is the leaf ~c. A tree that is a single leaf has a negative root. Each split node has a
 * third child, `missing`, the one a NaN goes to (its left or its right one), so the walk asks
 * "NaN?" only on the way right: v <= threshold goes left, v > threshold right, NaN to `missing`.
 */
import type { LambdaMartModel, Tree } from './lambdaMart.ts';

export interface FlatEnsemble {
  /** Length of the rows it scores: splits on a feature beyond it always go right, as `predictTree` on a shorter row does. */
  readonly width: number;
  readonly treeCount: number;
  readonly learningRate: number;
  /** Per tree, the reference of its root. */
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Where a missing (NaN) value goes: left[k] or right[k]. */
  readonly missing: Int32Array;
  readonly leaf: Float64Array;
}

export function flattenEnsemble(model: LambdaMartModel, width: number): FlatEnsemble {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const missing: number[] = [];
  const leaf: number[] = [];
  const roots = new Int32Array(model.trees.length);
  model.trees.forEach((t: Tree, ti) => {
    // Memoised by the tree's node id, so a shared node (or a cycle in a malformed model) maps
    // to one flat node, and the walk stays the same walk.
    const seen = new Map<number, number>();
    const ref = (node: number): number => {
      const known = seen.get(node);
      if (known !== undefined) return known;
      // The same reads as predictTree: a missing id reads undefined, i.e. a leaf of value NaN.
      const f = t.feature[node] as number;
      if (!(f >= 0)) {
        const r = ~leaf.length;
        leaf.push(t.value[node] as number);
        seen.set(node, r);
        return r;
      }
      const k = feature.length;
      seen.set(node, k);
      const inRow = Number.isInteger(f) && f < width;
      feature.push(inRow ? f : 0);
      threshold.push(t.threshold[node] as number);
      left.push(0);
      right.push(0);
      missing.push(0);
      // A feature the row does not have reads undefined, which is neither NaN nor <= anything:
      // such a split always goes right.
      const l = inRow ? ref(t.left[node] as number) : 0;
      const r = ref(t.right[node] as number);
      left[k] = inRow ? l : r;
      right[k] = r;
      missing[k] = inRow && (t.missingLeft?.[node] ?? true) ? l : r;
      return k;
    };
    roots[ti] = ref(0);
  });
  return {
    width,
    treeCount: model.trees.length,
    learningRate: model.learningRate,
    roots,
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    missing: Int32Array.from(missing),
    leaf: Float64Array.from(leaf),
  };
}

const cache = new WeakMap<LambdaMartModel, FlatEnsemble>();

/** The flat form of a model, built once per model (a served model is never modified). */
export function flatEnsemble(model: LambdaMartModel, width: number): FlatEnsemble {
  let flat = cache.get(model);
  if (!flat || flat.width !== width || flat.treeCount !== model.trees.length || flat.learningRate !== model.learningRate) {
    flat = flattenEnsemble(model, width);
    cache.set(model, flat);
  }
  return flat;
}

/** Scores rows [0, rows) of x (row-major, `m.width` floats a row) into out[0, rows). */
export function scoreRows(m: FlatEnsemble, x: Float32Array, rows: number, out: Float64Array): void {
  const { roots, feature, threshold, left, right, missing, leaf, width, learningRate } = m;
  const trees = roots.length;
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    let s = 0;
    for (let t = 0; t < trees; t++) {
      let node = roots[t] as number;
      while (node >= 0) {
        const v = x[base + (feature[node] as number)] as number;
        node = v <= (threshold[node] as number) ? (left[node] as number) : v === v ? (right[node] as number) : (missing[node] as number);
      }
      s += leaf[~node] as number;
    }
    out[r] = s * learningRate;
  }
}
