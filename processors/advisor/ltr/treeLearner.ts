/**
 * Grows one regression tree leaf-wise on gradient histograms (LightGBM's serial tree
 * learner): at each step the leaf whose best split gains most is split, until `leaves` leaves
 * or no split gains. Rows live in one index array, each leaf a contiguous range of it, split
 * in place (stably, so the order is the same on every run). Only the smaller child's
 * histogram is built from its rows; the larger one's is the parent's minus it. Leaf values are
 * Newton steps, -G / (H + l2).
 *
 * One learner per training run: its buffers (row order, one histogram per open leaf) are
 * allocated once and reused for every tree.
 */
import { HISTOGRAM_STRIDE, type BinnedFeatures } from './binning.ts';
import { buildHistogram, findBestSplit, noSplit, subtractHistogram, type Split, type SplitConstraints } from './histogram.ts';
import type { Tree } from './lambdaMart.ts';

export interface TreeLearnerOptions extends SplitConstraints {
  leaves: number;
}

export class TreeLearner {
  private readonly order: Int32Array;
  private readonly scratch: Int32Array;
  private readonly histograms: Float64Array[];
  // Per open leaf (by slot 0..leaves-1).
  private readonly from: Int32Array;
  private readonly to: Int32Array;
  private readonly node: Int32Array;
  private readonly histogramOf: Int32Array;
  private readonly sumGradient: Float64Array;
  private readonly sumHessian: Float64Array;
  private readonly best: Split[];

  constructor(
    private readonly data: BinnedFeatures,
    private readonly options: TreeLearnerOptions,
  ) {
    const n = data.rows;
    const slots = options.leaves;
    this.order = new Int32Array(n);
    this.scratch = new Int32Array(n);
    this.histograms = Array.from({ length: slots }, () => new Float64Array(data.totalBins * HISTOGRAM_STRIDE));
    this.from = new Int32Array(slots);
    this.to = new Int32Array(slots);
    this.node = new Int32Array(slots);
    this.histogramOf = new Int32Array(slots);
    this.sumGradient = new Float64Array(slots);
    this.sumHessian = new Float64Array(slots);
    this.best = Array.from({ length: slots }, noSplit);
  }

  /**
   * Grows a tree on the rows' gradients and Hessians and adds `rate` times its value to each
   * row's score (the rows' leaves are known here, no walk needed).
   */
  grow(grad: Float64Array, hess: Float64Array, scores: Float64Array, rate: number): Tree {
    const { data, options, order } = this;
    const n = data.rows;
    for (let i = 0; i < n; i++) order[i] = i;
    const tree: Tree = { feature: [-1], threshold: [0], left: [-1], right: [-1], value: [0], missingLeft: [true] };
    let g = 0;
    let h = 0;
    for (let r = 0; r < n; r++) {
      g += grad[r] as number;
      h += hess[r] as number;
    }
    let leaves = 1;
    this.open(0, 0, 0, n, 0, g, h);
    buildHistogram(this.histograms[0] as Float64Array, data, order, 0, n, grad, hess);
    this.search(0);
    while (leaves < options.leaves) {
      let pick = -1;
      let pickGain = 0;
      for (let s = 0; s < leaves; s++) {
        const gain = (this.best[s] as Split).gain;
        if (gain > pickGain) {
          pick = s;
          pickGain = gain;
        }
      }
      if (pick < 0) break;
      this.split(tree, pick, leaves, grad, hess);
      leaves++;
    }
    for (let s = 0; s < leaves; s++) {
      // A leaf with no curvature at all (l2 0, rows of queries with nothing to rank) stays at 0.
      const curvature = (this.sumHessian[s] as number) + options.l2;
      const value = curvature > 0 ? -(this.sumGradient[s] as number) / curvature : 0;
      tree.value[this.node[s] as number] = value;
      const step = rate * value;
      for (let p = this.from[s] as number, end = this.to[s] as number; p < end; p++) {
        const r = order[p] as number;
        scores[r] = (scores[r] as number) + step;
      }
    }
    return tree;
  }

  private open(slot: number, node: number, from: number, to: number, histogram: number, g: number, h: number): void {
    this.from[slot] = from;
    this.to[slot] = to;
    this.node[slot] = node;
    this.histogramOf[slot] = histogram;
    this.sumGradient[slot] = g;
    this.sumHessian[slot] = h;
  }

  private search(slot: number): void {
    const count = (this.to[slot] as number) - (this.from[slot] as number);
    findBestSplit(this.histograms[this.histogramOf[slot] as number] as Float64Array, this.data, this.sumGradient[slot] as number, this.sumHessian[slot] as number, count, this.options, this.best[slot] as Split);
  }

  /** Splits the leaf in `slot`: its left child stays in the slot, the right one opens `fresh`. */
  private split(tree: Tree, slot: number, fresh: number, grad: Float64Array, hess: Float64Array): void {
    const { data, order, scratch } = this;
    const s = this.best[slot] as Split;
    const f = s.feature;
    const from = this.from[slot] as number;
    const to = this.to[slot] as number;
    // Partition by the binned value: missing is bin 0 of the feature, "left" is bin <= s.bin.
    const missing = (data.offset[f] as number) * HISTOGRAM_STRIDE;
    const lastLeft = ((data.offset[f] as number) + s.bin) * HISTOGRAM_STRIDE;
    const { index, features } = data;
    let l = from;
    let r = 0;
    for (let p = from; p < to; p++) {
      const row = order[p] as number;
      const k = index[row * features + f] as number;
      if (k === missing ? s.missingLeft : k <= lastLeft) order[l++] = row;
      else scratch[r++] = row;
    }
    order.set(scratch.subarray(0, r), l);
    const middle = l;
    // The tree: this leaf's node becomes the split, with two new leaves.
    const parentNode = this.node[slot] as number;
    const leftNode = tree.feature.length;
    const rightNode = leftNode + 1;
    for (let k = 0; k < 2; k++) {
      tree.feature.push(-1);
      tree.threshold.push(0);
      tree.left.push(-1);
      tree.right.push(-1);
      tree.value.push(0);
      tree.missingLeft?.push(true);
    }
    const cuts = data.cuts[f] as Float64Array;
    tree.feature[parentNode] = f;
    // Bins 1..bin hold the values <= cuts[bin - 1]; the last bin means every value.
    tree.threshold[parentNode] = s.bin - 1 < cuts.length ? (cuts[s.bin - 1] as number) : Number.POSITIVE_INFINITY;
    tree.left[parentNode] = leftNode;
    tree.right[parentNode] = rightNode;
    (tree.missingLeft as boolean[])[parentNode] = s.missingLeft;
    // Children: sums from the split, the smaller one's histogram from rows, the other by subtraction.
    const parentG = this.sumGradient[slot] as number;
    const parentH = this.sumHessian[slot] as number;
    const parentHistogram = this.histogramOf[slot] as number;
    const leftSmaller = middle - from <= to - middle;
    // The fresh slot's histogram buffer is free: the slot was never open.
    const freeHistogram = this.histogramFree(fresh);
    this.open(slot, leftNode, from, middle, leftSmaller ? freeHistogram : parentHistogram, s.leftGradient, s.leftHessian);
    this.open(fresh, rightNode, middle, to, leftSmaller ? parentHistogram : freeHistogram, parentG - s.leftGradient, parentH - s.leftHessian);
    const small = this.histograms[freeHistogram] as Float64Array;
    if (leftSmaller) buildHistogram(small, data, order, from, middle, grad, hess);
    else buildHistogram(small, data, order, middle, to, grad, hess);
    subtractHistogram(this.histograms[parentHistogram] as Float64Array, small);
    this.search(slot);
    this.search(fresh);
  }

  /** A histogram buffer no open leaf uses, given that `fresh` is about to open. */
  private histogramFree(fresh: number): number {
    const used = new Uint8Array(this.histograms.length);
    for (let s = 0; s < fresh; s++) used[this.histogramOf[s] as number] = 1;
    for (let b = 0; b < used.length; b++) if (!used[b]) return b;
    throw new Error('no free histogram: more open leaves than slots');
  }
}
