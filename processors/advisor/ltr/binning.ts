/**
 * Feature values to histogram bins, once per training (LightGBM's Dataset construction).
 *
 * - Cut points per feature: every midpoint between distinct finite values when there are at
 *   most `bins` of them; otherwise greedy equal-count bins over the sorted values, where a value
 *   that holds more than its share of rows gets a bin of its own (so a feature that is 0 for
 *   half the rows does not waste half its bins on zeros). Zero is always a boundary, as in
 *   LightGBM: negative values, zeros and positive values are binned apart, the bins shared out
 *   by row count, because a sign often means more than a magnitude.
 * - Values are binned as float32, what ONNX and the serving path compare, and every cut point
 *   is a float32 value: a model fresh from training, its ONNX export and the model read back
 *   from it send a float32 row down the same paths.
 * - Bin 0 of every feature holds the missing values (NaN); value v goes to bin
 *   1 + (number of cut points below v), i.e. v <= cut[b - 1] exactly when its bin is <= b, the
 *   comparison a tree makes at prediction. Infinities are values like any other.
 * - The binned matrix is row-major and holds, for row r and feature f, the position of r's bin
 *   in a histogram of all features' bins laid end to end, times HISTOGRAM_STRIDE: building a
 *   histogram is then one add per (row, feature) with no other arithmetic.
 */

/** Each bin of a histogram holds three numbers: sum of gradients, sum of Hessians, row count. */
export const HISTOGRAM_STRIDE = 3;

export interface BinnedFeatures {
  rows: number;
  features: number;
  /** Per feature, its ascending cut points. */
  cuts: Float64Array[];
  /** Per feature, the position of its bin 0 (missing) in the histogram, in bins. */
  offset: Int32Array;
  /** Per feature, its number of bins: cut points + 2 (missing, and one more bin than cuts). */
  binCount: Int32Array;
  /** Bins of all features together: the length of a histogram is this times HISTOGRAM_STRIDE. */
  totalBins: number;
  /** Row-major, rows x features: (offset[f] + bin) * HISTOGRAM_STRIDE. */
  index: Uint32Array;
}

/** Ascending cut points of one feature's values, at most `bins - 1` of them. */
export function cutPoints(values: Float64Array, bins: number): Float64Array {
  // As float32: what ONNX and serving compare, so two values they cannot tell apart share a bin.
  const sorted = Float32Array.from(values.filter((v) => !Number.isNaN(v))).sort();
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i] as number;
    if (distinct.length > 0 && distinct[distinct.length - 1] === v) counts[counts.length - 1] = (counts[counts.length - 1] as number) + 1;
    else {
      distinct.push(v);
      counts.push(1);
    }
  }
  const cuts: number[] = [];
  const cutAfter = (i: number) => {
    const edge = midpoint(distinct[i] as number, distinct[i + 1] as number);
    if (cuts.length === 0 || edge > (cuts[cuts.length - 1] as number)) cuts.push(edge);
  };
  if (distinct.length <= bins || bins < 4) {
    greedyCuts(counts, 0, distinct.length, bins, sorted.length, cutAfter);
    return Float64Array.from(cuts);
  }
  // Zero is a boundary of its own (a sign often means more than a magnitude): zeros, if any,
  // are one value and get one bin; negative and positive values share the others by row count.
  const zeroFrom = firstIndex(distinct, (v) => v >= 0);
  const zeroTo = firstIndex(distinct, (v) => v > 0);
  const rowsIn = (from: number, to: number) => counts.slice(from, to).reduce((a, b) => a + b, 0);
  const negativeRows = rowsIn(0, zeroFrom);
  const positiveRows = rowsIn(zeroTo, distinct.length);
  const valueBins = bins - (zeroTo > zeroFrom ? 1 : 0);
  const negativeBins =
    negativeRows === 0 ? 0 : positiveRows === 0 ? valueBins : Math.min(valueBins - 1, Math.max(1, Math.round((valueBins * negativeRows) / (negativeRows + positiveRows))));
  greedyCuts(counts, 0, zeroFrom, negativeBins, negativeRows, cutAfter);
  if (zeroFrom > 0 && zeroFrom < distinct.length) cutAfter(zeroFrom - 1);
  if (zeroTo > zeroFrom && zeroTo < distinct.length) cutAfter(zeroTo - 1);
  greedyCuts(counts, zeroTo, distinct.length, valueBins - negativeBins, positiveRows, cutAfter);
  return Float64Array.from(cuts);
}

function firstIndex(values: readonly number[], ok: (v: number) => boolean): number {
  let i = 0;
  while (i < values.length && !ok(values[i] as number)) i++;
  return i;
}

/** Greedy equal-count bins over distinct values [from, to): close a bin once it holds the mean of what is left per bin left. */
function greedyCuts(counts: readonly number[], from: number, to: number, bins: number, rows: number, cutAfter: (i: number) => void): void {
  if (to - from <= bins) {
    for (let i = from; i + 1 < to; i++) cutAfter(i);
    return;
  }
  let rest = rows;
  let binsLeft = bins;
  let inBin = 0;
  for (let i = from; i + 1 < to && binsLeft > 1; i++) {
    inBin += counts[i] as number;
    const target = rest / binsLeft;
    // A heavy next value would overfill this bin: close it before that value comes in.
    if (inBin >= target || (inBin > 0 && inBin + (counts[i + 1] as number) > 2 * target)) {
      cutAfter(i);
      rest -= inBin;
      binsLeft--;
      inBin = 0;
    }
  }
}

/** The largest float32. */
const MAX_FLOAT32 = 3.4028234663852886e38;

/**
 * A cut point c with a <= c < b (a < b, both float32 values), itself a float32 value, so that
 * ONNX, which stores thresholds as float32, holds it exactly and compares float32 inputs with
 * it exactly as training did.
 */
function midpoint(a: number, b: number): number {
  if (b === Number.POSITIVE_INFINITY) return Math.max(a, MAX_FLOAT32);
  if (a === Number.NEGATIVE_INFINITY) return b > -MAX_FLOAT32 ? -MAX_FLOAT32 : Number.NEGATIVE_INFINITY;
  const m = Math.fround(a / 2 + b / 2);
  return m < b && m >= a ? m : a;
}

/** The bin of v (as float32) among `cuts`: 0 for NaN, else 1 + the number of cut points below it. */
export function binOf(cuts: Float64Array, value: number): number {
  if (Number.isNaN(value)) return 0;
  const v = Math.fround(value);
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= (cuts[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

export function binFeatures(x: ReadonlyArray<ArrayLike<number>>, features: number, bins: number): BinnedFeatures {
  const rows = x.length;
  const cuts: Float64Array[] = [];
  const offset = new Int32Array(features);
  const binCount = new Int32Array(features);
  let totalBins = 0;
  const column = new Float64Array(rows);
  for (let f = 0; f < features; f++) {
    for (let r = 0; r < rows; r++) column[r] = (x[r] as ArrayLike<number>)[f] as number;
    const c = cutPoints(column, bins);
    cuts.push(c);
    offset[f] = totalBins;
    binCount[f] = c.length + 2;
    totalBins += c.length + 2;
  }
  if (totalBins * HISTOGRAM_STRIDE > 0xffffffff) throw new RangeError(`binFeatures: ${totalBins} bins in all do not fit a histogram index`);
  const index = new Uint32Array(rows * features);
  for (let r = 0; r < rows; r++) {
    const row = x[r] as ArrayLike<number>;
    for (let f = 0; f < features; f++) index[r * features + f] = ((offset[f] as number) + binOf(cuts[f] as Float64Array, row[f] as number)) * HISTOGRAM_STRIDE;
  }
  return { rows, features, cuts, offset, binCount, totalBins, index };
}
