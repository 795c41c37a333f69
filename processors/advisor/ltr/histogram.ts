/**
 * Gradient histograms of a leaf's rows and the best split they allow (LightGBM's
 * FeatureHistogram), on the binned matrix of binning.ts. Each bin holds (sum of gradients,
 * sum of Hessians, row count), features end to end.
 *
 * A split of feature f at bin b sends the rows with a value in bins 1..b left and those in
 * bins b+1.. right; the rows with a missing value (bin 0) go to the side that gains more,
 * which is learned at every split (LightGBM's default_left): both sides are tried. The split
 * "missing against everything else" is tried too (bin b = the last bin, missing right). A node
 * where no row has a missing value sends missing values, should they come at prediction, to the
 * side with more training rows.
 *
 * The gain is the Newton decrease of the loss, G_L^2 / (H_L + l2) + G_R^2 / (H_R + l2) -
 * G^2 / (H + l2), under the minimum rows and Hessian per leaf. Ties keep the first found, in
 * the order: feature, bin, missing left before right, so the search is deterministic.
 */
import { HISTOGRAM_STRIDE, type BinnedFeatures } from './binning.ts';

export interface SplitConstraints {
  minDataInLeaf: number;
  minSumHessianInLeaf: number;
  l2: number;
}

/** The best split of one leaf; `gain` is 0 (and the rest meaningless) when none is allowed. */
export interface Split {
  gain: number;
  feature: number;
  /** Last bin that goes left (bins 1..bin; bin 0 is the missing values). */
  bin: number;
  missingLeft: boolean;
  leftGradient: number;
  leftHessian: number;
  leftCount: number;
}

export const noSplit = (): Split => ({ gain: 0, feature: -1, bin: 0, missingLeft: true, leftGradient: 0, leftHessian: 0, leftCount: 0 });

/** hist := the histogram of rows order[from, to), each row r weighted by grad[r], hess[r]. */
export function buildHistogram(hist: Float64Array, data: BinnedFeatures, order: Int32Array, from: number, to: number, grad: Float64Array, hess: Float64Array): void {
  hist.fill(0);
  const { index, features } = data;
  for (let p = from; p < to; p++) {
    const r = order[p] as number;
    const g = grad[r] as number;
    const h = hess[r] as number;
    const base = r * features;
    for (let f = 0; f < features; f++) {
      const k = index[base + f] as number;
      hist[k] = (hist[k] as number) + g;
      hist[k + 1] = (hist[k + 1] as number) + h;
      hist[k + 2] = (hist[k + 2] as number) + 1;
    }
  }
}

/** parent := parent - child: the histogram of the parent's other child (histogram subtraction). */
export function subtractHistogram(parent: Float64Array, child: Float64Array): void {
  for (let k = 0; k < parent.length; k++) parent[k] = (parent[k] as number) - (child[k] as number);
}

/** The best split of a leaf whose rows sum to (gradient, hessian, count), from its histogram; written into `best`. */
export function findBestSplit(hist: Float64Array, data: BinnedFeatures, gradient: number, hessian: number, count: number, c: SplitConstraints, best: Split): void {
  const { l2, minDataInLeaf, minSumHessianInLeaf } = c;
  best.gain = 0;
  best.feature = -1;
  if (count < 2 * minDataInLeaf || hessian < 2 * minSumHessianInLeaf) return;
  const parent = (gradient * gradient) / (hessian + l2);
  // A split must gain more than rounding noise of the parent's score.
  let bestGain = Math.max(1e-12, parent * 1e-12);
  const { offset, binCount } = data;
  for (let f = 0; f < data.features; f++) {
    const first = (offset[f] as number) * HISTOGRAM_STRIDE;
    const bins = binCount[f] as number;
    const missingG = hist[first] as number;
    const missingH = hist[first + 1] as number;
    const missingC = hist[first + 2] as number;
    let accG = 0;
    let accH = 0;
    let accC = 0;
    // Thresholds after bins 1..bins-2: both sides get at least one bin of values.
    for (let b = 1, k = first + HISTOGRAM_STRIDE; b < bins - 1; b++, k += HISTOGRAM_STRIDE) {
      const binC = hist[k + 2] as number;
      if (binC === 0) continue; // same split as the previous threshold
      accG += hist[k] as number;
      accH += hist[k + 1] as number;
      accC += binC;
      if (missingC > 0) {
        // Missing values left.
        const lc = accC + missingC;
        const rc = count - lc;
        if (lc >= minDataInLeaf && rc >= minDataInLeaf) {
          const lh = accH + missingH;
          const rh = hessian - lh;
          if (lh >= minSumHessianInLeaf && rh >= minSumHessianInLeaf) {
            const lg = accG + missingG;
            const rg = gradient - lg;
            const gain = (lg * lg) / (lh + l2) + (rg * rg) / (rh + l2) - parent;
            if (gain > bestGain) {
              bestGain = gain;
              set(best, gain, f, b, true, lg, lh, lc);
            }
          }
        }
      }
      // Missing values right (or none at all).
      const rc = count - accC;
      if (rc < minDataInLeaf) break; // only fewer to the right from here on
      if (accC < minDataInLeaf) continue;
      const rh = hessian - accH;
      if (accH < minSumHessianInLeaf || rh < minSumHessianInLeaf) continue;
      const rg = gradient - accG;
      const gain = (accG * accG) / (accH + l2) + (rg * rg) / (rh + l2) - parent;
      if (gain > bestGain) {
        bestGain = gain;
        // Without missing rows here, send future ones to the bigger side.
        set(best, gain, f, b, missingC === 0 && accC >= rc, accG, accH, accC);
      }
    }
    if (missingC > 0 && missingC < count) {
      // Missing values against all the others: every value left.
      const lc = count - missingC;
      if (lc >= minDataInLeaf && missingC >= minDataInLeaf) {
        const lh = hessian - missingH;
        if (lh >= minSumHessianInLeaf && missingH >= minSumHessianInLeaf) {
          const lg = gradient - missingG;
          const gain = (lg * lg) / (lh + l2) + (missingG * missingG) / (missingH + l2) - parent;
          if (gain > bestGain) {
            bestGain = gain;
            set(best, gain, f, bins - 1, false, lg, lh, lc);
          }
        }
      }
    }
  }
}

function set(s: Split, gain: number, feature: number, bin: number, missingLeft: boolean, g: number, h: number, c: number): void {
  s.gain = gain;
  s.feature = feature;
  s.bin = bin;
  s.missingLeft = missingLeft;
  s.leftGradient = g;
  s.leftHessian = h;
  s.leftCount = c;
}
