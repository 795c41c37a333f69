/**
 * The pieces under LambdaMART's trees: binning, histograms and their subtraction, the split
 * search with learned missing-value direction, and leaf-wise growth, each against a plain
 * computation from the rows.
 */
import { describe, expect, it } from 'vitest';
import { binFeatures, binOf, cutPoints, HISTOGRAM_STRIDE } from '../../../../processors/advisor/ltr/binning.ts';
import { buildHistogram, findBestSplit, noSplit, subtractHistogram, type SplitConstraints } from '../../../../processors/advisor/ltr/histogram.ts';
import { predictTree, trainLambdaMart, validateLambdaMartOptions, LAMBDA_MART_DEFAULTS } from '../../../../processors/advisor/ltr/lambdaMart.ts';
import { TreeLearner } from '../../../../processors/advisor/ltr/treeLearner.ts';
import { Random } from '../../../../simulate/random.ts';

function randomRows(rng: Random, rows: number, features: number): Float64Array[] {
  return Array.from({ length: rows }, () =>
    Float64Array.from({ length: features }, (_, f) => {
      if (rng.chance(f === 0 ? 0.3 : 0.05)) return Number.NaN;
      if (f === 1) return rng.int(0, 3); // few distinct values
      if (f === 2) return rng.chance(0.5) ? 0 : rng.normal(); // a heavy value
      if (rng.chance(0.01)) return rng.chance(0.5) ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
      return rng.normal();
    }),
  );
}

describe('binning', () => {
  it('cuts between every pair of distinct values when there are few, and never makes more than bins - 1 cuts', () => {
    expect([...cutPoints(Float64Array.from([3, 1, 2, 2, Number.NaN, 1]), 64)]).toEqual([1.5, 2.5]);
    const many = Float64Array.from({ length: 10_000 }, (_, i) => Math.sin(i) * 1000);
    const cuts = cutPoints(many, 64);
    expect(cuts.length).toBeLessThanOrEqual(63);
    expect(cuts.length).toBeGreaterThan(50);
    for (let i = 1; i < cuts.length; i++) expect(cuts[i]).toBeGreaterThan(cuts[i - 1] as number);
  });

  it('fills bins about equally, giving a value that holds half the rows a bin of its own', () => {
    const values = Float64Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? 0 : i));
    const cuts = cutPoints(values, 16);
    const counts = new Map<number, number>();
    for (const v of values) counts.set(binOf(cuts, v), (counts.get(binOf(cuts, v)) ?? 0) + 1);
    expect(counts.get(binOf(cuts, 0))).toBe(1000); // the zeros alone
    const others = [...counts.entries()].filter(([b]) => b !== binOf(cuts, 0)).map(([, c]) => c);
    expect(Math.max(...others)).toBeLessThan(2.5 * Math.min(...others));
  });

  it('keeps negative values, zeros and positive values in bins of their own', () => {
    const rng = new Random(2);
    const values = Float64Array.from({ length: 5000 }, () => (rng.chance(0.1) ? 0 : rng.normal() + 0.3));
    const cuts = cutPoints(values, 32);
    const sorted = [...values].sort((a, b) => a - b);
    const largestNegative = sorted.filter((v) => v < 0).pop() as number;
    const smallestPositive = sorted.find((v) => v > 0) as number;
    expect(cuts.some((c) => c >= largestNegative && c < 0)).toBe(true);
    expect(cuts.some((c) => c >= 0 && c < smallestPositive)).toBe(true);
    expect(cuts.length).toBeLessThanOrEqual(31);
    // Bins shared by row count: about 38% of the non-zero rows are negative here.
    const negativeBins = cuts.filter((c) => c < 0).length;
    expect(negativeBins).toBeGreaterThan(6);
    expect(negativeBins).toBeLessThan(18);
  });

  it('puts a value in a bin <= b exactly when, as float32, it is <= cut b - 1, infinities and NaN included', () => {
    const rng = new Random(3);
    const rows = randomRows(rng, 3000, 4);
    const data = binFeatures(rows, 4, 32);
    let mismatches = 0;
    let checked = 0;
    for (let f = 0; f < 4; f++) {
      const cuts = data.cuts[f] as Float64Array;
      for (let r = 0; r < rows.length; r++) {
        const v = (rows[r] as Float64Array)[f] as number;
        const bin = (data.index[r * 4 + f] as number) / HISTOGRAM_STRIDE - (data.offset[f] as number);
        checked++;
        if (bin !== binOf(cuts, v) || (Number.isNaN(v) && bin !== 0)) mismatches++;
        if (!Number.isNaN(v)) for (let b = 1; b <= cuts.length; b++) if (bin <= b !== Math.fround(v) <= (cuts[b - 1] as number)) mismatches++;
      }
    }
    expect(checked).toBe(12_000);
    expect(mismatches).toBe(0);
    // Infinite values sit apart from the finite ones.
    expect(cutPoints(Float64Array.from([Number.NEGATIVE_INFINITY, 1, 2, Number.POSITIVE_INFINITY]), 64).length).toBe(3);
  });

  it('cuts only at float32 values, and never between values that are one float32', () => {
    const rng = new Random(8);
    const values = Float64Array.from({ length: 3000 }, () => rng.normal() * 10 ** rng.int(-3, 3));
    for (const bins of [8, 64, 255]) for (const c of cutPoints(values, bins)) expect(Math.fround(c)).toBe(c);
    // Two float64 values that float32 cannot tell apart (as 1 - spot/on-demand computed two ways can be).
    const a = 0.6499716713881021;
    const b = 0.649971671388102;
    expect(Math.fround(a)).toBe(Math.fround(b));
    const cuts = cutPoints(Float64Array.from([0.1, a, b, 0.9]), 64);
    expect(binOf(cuts, a)).toBe(binOf(cuts, b));
    expect(cuts.length).toBe(2);
  });
});

describe('histograms and split search', () => {
  const constraints: SplitConstraints = { minDataInLeaf: 5, minSumHessianInLeaf: 1e-3, l2: 1 };

  it('subtracting a child from its parent gives the other child', () => {
    const rng = new Random(4);
    const rows = randomRows(rng, 500, 5);
    const data = binFeatures(rows, 5, 16);
    const grad = Float64Array.from(rows, () => rng.normal());
    const hess = Float64Array.from(rows, () => rng.next());
    const order = Int32Array.from(rows.keys());
    const size = data.totalBins * HISTOGRAM_STRIDE;
    const [parent, left, right] = [new Float64Array(size), new Float64Array(size), new Float64Array(size)];
    buildHistogram(parent, data, order, 0, 500, grad, hess);
    buildHistogram(left, data, order, 0, 200, grad, hess);
    buildHistogram(right, data, order, 200, 500, grad, hess);
    subtractHistogram(parent, left);
    parent.forEach((v, k) => expect(v).toBeCloseTo(right[k] as number, 10));
  });

  it('finds the split a brute-force search over every threshold and both missing sides finds', () => {
    const rng = new Random(5);
    for (let trial = 0; trial < 20; trial++) {
      const rows = randomRows(rng, rng.int(20, 400), 4);
      const data = binFeatures(rows, 4, rng.pick([4, 16, 64]));
      // Missing values of feature 0 carry signal on some trials.
      const grad = Float64Array.from(rows, (r) => (Number.isNaN(r[0] as number) && trial % 2 ? -1 : 0) + rng.normal());
      const hess = Float64Array.from(rows, () => 0.1 + rng.next());
      const order = Int32Array.from(rows.keys());
      const hist = new Float64Array(data.totalBins * HISTOGRAM_STRIDE);
      buildHistogram(hist, data, order, 0, rows.length, grad, hess);
      const G = grad.reduce((a, b) => a + b, 0);
      const H = hess.reduce((a, b) => a + b, 0);
      const best = noSplit();
      findBestSplit(hist, data, G, H, rows.length, constraints, best);
      // Brute force from the rows: every cut point (and "every value") x missing left/right.
      let bruteGain = 0;
      const score = (g: number, h: number) => (g * g) / (h + constraints.l2);
      for (let f = 0; f < 4; f++) {
        const cuts = [...(data.cuts[f] as Float64Array), Number.POSITIVE_INFINITY];
        for (const cut of cuts)
          for (const missingLeft of [true, false]) {
            let gl = 0;
            let hl = 0;
            let cl = 0;
            rows.forEach((r, i) => {
              const v = r[f] as number;
              if (Number.isNaN(v) ? missingLeft : v <= cut) {
                gl += grad[i] as number;
                hl += hess[i] as number;
                cl++;
              }
            });
            const cr = rows.length - cl;
            if (cl < constraints.minDataInLeaf || cr < constraints.minDataInLeaf || hl < 1e-3 || H - hl < 1e-3) continue;
            bruteGain = Math.max(bruteGain, score(gl, hl) + score(G - gl, H - hl) - score(G, H));
          }
      }
      if (bruteGain <= 1e-9) {
        expect(best.gain).toBe(0);
        continue;
      }
      expect(best.gain).toBeCloseTo(bruteGain, 9);
      // The split it describes is the one it scored.
      const cut = best.bin - 1 < (data.cuts[best.feature] as Float64Array).length ? ((data.cuts[best.feature] as Float64Array)[best.bin - 1] as number) : Number.POSITIVE_INFINITY;
      let gl = 0;
      let cl = 0;
      rows.forEach((r, i) => {
        const v = r[best.feature] as number;
        if (Number.isNaN(v) ? best.missingLeft : v <= cut) {
          gl += grad[i] as number;
          cl++;
        }
      });
      expect(cl).toBe(best.leftCount);
      expect(gl).toBeCloseTo(best.leftGradient, 9);
    }
  });
});

describe('tree learner', () => {
  it('routes training rows by bins exactly as the finished tree routes them as float32 (what ONNX and serving see)', () => {
    const rng = new Random(6);
    const rows = randomRows(rng, 2000, 5);
    const data = binFeatures(rows, 5, 32);
    const options = { ...LAMBDA_MART_DEFAULTS, leaves: 31 };
    const learner = new TreeLearner(data, options);
    for (let t = 0; t < 5; t++) {
      const grad = Float64Array.from(rows, (r) => (Number.isNaN(r[0] as number) ? -2 : 0) + ((r[3] as number) > 0 ? 1 : 0) + rng.normal());
      const hess = Float64Array.from(rows, () => 0.5 + rng.next());
      const scores = new Float64Array(rows.length);
      const tree = learner.grow(grad, hess, scores, 0.1);
      expect(tree.feature.filter((f) => f >= 0).length).toBeGreaterThan(10);
      rows.forEach((r, i) => expect(scores[i]).toBe(0.1 * predictTree(tree, Float32Array.from(r))));
    }
  });

  it('learns where missing values belong: with the high values, with the low ones, or apart', () => {
    // Missing values that are as good as a value of 1 (go right, with the high values), of 0 (left), of 0.5 (apart).
    for (const missingLike of [1, 0, 0.5]) {
      const rng = new Random(7);
      const x: Float64Array[] = [];
      const labels: number[] = [];
      const queries: string[] = [];
      for (let q = 0; q < 150; q++)
        for (let i = 0; i < 12; i++) {
          const missing = rng.chance(0.3);
          const v = rng.next();
          x.push(Float64Array.from([missing ? Number.NaN : v, rng.normal()]));
          labels.push(Math.round(4 * (missing ? missingLike : v)));
          queries.push(`q${q}`);
        }
      const model = trainLambdaMart({ x, labels, queries }, { trees: 30, leaves: 7 });
      const root = model.trees[0]!;
      expect(root.feature[0]).toBe(0);
      if (missingLike !== 0.5) expect(root.missingLeft?.[0]).toBe(missingLike === 0);
      const score = (v: number) => model.trees.reduce((s, t) => s + predictTree(t, [v, 0]), 0);
      const below = score(missingLike - 0.25);
      const above = score(missingLike + 0.25);
      if (missingLike > 0) expect(score(Number.NaN)).toBeGreaterThan(below);
      if (missingLike < 1) expect(score(Number.NaN)).toBeLessThan(above);
    }
  });
});

describe('LambdaMART edge cases', () => {
  it('trains a finite, flat model when no query has anything to rank, even without L2', () => {
    const x = Array.from({ length: 40 }, (_, i) => [i, Number.NaN]);
    const model = trainLambdaMart({ x, labels: x.map(() => 0), queries: x.map((_, i) => `q${i % 4}`) }, { trees: 3, l2: 0 });
    expect(model.trees).toHaveLength(3);
    for (const row of x) expect(model.trees.map((t) => predictTree(t, row))).toEqual([0, 0, 0]);
  });
});

describe('LambdaMART options', () => {
  it('refuses impossible settings at once, naming them', () => {
    expect(() => validateLambdaMartOptions({ ...LAMBDA_MART_DEFAULTS, leaves: 1 })).toThrow(/leaves/);
    expect(() => validateLambdaMartOptions({ ...LAMBDA_MART_DEFAULTS, bins: 1 })).toThrow(/bins/);
    expect(() => validateLambdaMartOptions({ ...LAMBDA_MART_DEFAULTS, learningRate: 0 })).toThrow(/learningRate/);
    expect(() => trainLambdaMart({ x: [[1]], labels: [1], queries: ['q'] }, { minDataInLeaf: 0 })).toThrow(/minDataInLeaf/);
    expect(() => trainLambdaMart({ x: [[1], [2]], labels: [1], queries: ['q', 'q'] })).toThrow(/as many/);
  });
});
