/**
 * Landscape classification from the probe: is the objective STRUCTURED (smooth at the
 * scale of the probe: a local method can follow it) or CHAOTIC (rugged: nearby points are
 * no more alike than distant ones, so only a global, model-based search makes sense)?
 *
 * Values are replaced by their ranks first, so a monotone transform of the objective (log,
 * scaling, a huge range like Rosenbrock's) never changes the answer. Two statistics:
 * - quadratic fit: leave-one-out R^2 of a ridge-regularised quadratic (linear + squares) in
 *   the unit cube. Smooth bowls and valleys are largely explained by it at probe scale;
 *   rugged functions keep a large unexplained part.
 * - neighbour agreement: correlation between each point's rank and its nearest neighbour's.
 *   A smooth function gives close points close ranks; a rugged one at probe density does not.
 * - variogram: how much of the squared rank difference of two points is left at distance
 *   zero (the nugget, extrapolated from the closer half of all pairs); 1 - nugget is near 1
 *   for a smooth function.
 * The landscape is STRUCTURED when max(quadratic R^2, mean of the two local statistics) clears
 * `structuredThreshold`: the quadratic carries smooth functions in higher dimensions, where
 * neighbours are far apart; the local statistics carry curved valleys (Branin) that no
 * quadratic fits.
 *
 * Known limit, measured on Sobol probes of 64 points: Ackley on its full domain in 2-d scores
 * as STRUCTURED for most seeds; its global funnel dominates at that sampling density, the
 * ripples only show at a finer scale. From 5-d on it is CHAOTIC.
 */

export type Landscape = 'STRUCTURED' | 'CHAOTIC';

export interface LandscapeReport {
  readonly landscape: Landscape;
  /** max(quadraticR2, mean(neighbourCorrelation, variogramStructure)), compared with the threshold. */
  readonly score: number;
  readonly quadraticR2: number;
  readonly neighbourCorrelation: number;
  readonly variogramStructure: number;
  readonly samples: number;
}

export interface LandscapeOptions {
  readonly structuredThreshold: number;
  /** Below this many finite samples the answer is CHAOTIC (the safe default: TPE). */
  readonly minSamples: number;
}

export const DEFAULT_LANDSCAPE_OPTIONS: LandscapeOptions = { structuredThreshold: 0.62, minSamples: 5 };

export function classifyLandscape(points: readonly ArrayLike<number>[], values: readonly number[], options: LandscapeOptions = DEFAULT_LANDSCAPE_OPTIONS): LandscapeReport {
  const finite = values.map((v, i) => ({ v, p: points[i] as ArrayLike<number> })).filter((s) => Number.isFinite(s.v));
  const n = finite.length;
  if (n < options.minSamples) return { landscape: 'CHAOTIC', score: 0, quadraticR2: 0, neighbourCorrelation: 0, variogramStructure: 0, samples: n };
  const ranks = rankNormalise(finite.map((s) => s.v));
  const pts = finite.map((s) => Array.from(s.p));
  const quadraticR2 = looQuadraticR2(pts, ranks);
  const neighbourCorrelation = nearestNeighbourCorrelation(pts, ranks);
  const variogramStructure = 1 - nuggetFraction(pts, ranks);
  const score = Math.max(quadraticR2, (neighbourCorrelation + variogramStructure) / 2);
  return { landscape: score >= options.structuredThreshold ? 'STRUCTURED' : 'CHAOTIC', score, quadraticR2, neighbourCorrelation, variogramStructure, samples: n };
}

/** Ranks in [0, 1], ties sharing their mean rank. */
export function rankNormalise(values: readonly number[]): number[] {
  const n = values.length;
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v || a.i - b.i);
  const ranks = new Array<number>(n).fill(0);
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && (order[end + 1] as { v: number }).v === (order[start] as { v: number }).v) end++;
    const mean = (start + end) / 2 / Math.max(1, n - 1);
    for (let k = start; k <= end; k++) ranks[(order[k] as { i: number }).i] = mean;
    start = end + 1;
  }
  return ranks;
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = (a[i] as number) - ma;
    const y = (b[i] as number) - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

function nearestNeighbourCorrelation(points: number[][], ranks: number[]): number {
  const neighbourRanks = points.map((p, i) => {
    let best = -1;
    let bestDistance = Infinity;
    points.forEach((q, j) => {
      if (j === i) return;
      let s = 0;
      for (let k = 0; k < p.length; k++) s += square((p[k] as number) - (q[k] as number));
      if (s < bestDistance) {
        bestDistance = s;
        best = j;
      }
    });
    return ranks[best] as number;
  });
  return pearson(ranks, neighbourRanks);
}

/** Leave-one-out R^2 of ridge regression on [1, x_k - 0.5, (x_k - 0.5)^2], by the hat-matrix shortcut. */
function looQuadraticR2(points: number[][], y: number[]): number {
  const n = points.length;
  const d = (points[0] as number[]).length;
  const features = (p: number[]) => [1, ...p.map((x) => x - 0.5), ...p.map((x) => square(x - 0.5) * 4)];
  const X = points.map(features);
  const q = 2 * d + 1;
  // A = X'X + lambda I (intercept unpenalised); solve for the hat diagonal and the fit.
  const lambda = 1e-3 * n;
  const A = Array.from({ length: q }, (_, a) => Array.from({ length: q }, (_, b) => X.reduce((s, row) => s + (row[a] as number) * (row[b] as number), 0) + (a === b && a > 0 ? lambda : 0)));
  const inverse = invertSymmetric(A);
  if (!inverse) return 0;
  const Xty = Array.from({ length: q }, (_, a) => X.reduce((s, row, i) => s + (row[a] as number) * (y[i] as number), 0));
  const beta = inverse.map((row) => row.reduce((s, v, b) => s + v * (Xty[b] as number), 0));
  const mean = y.reduce((s, v) => s + v, 0) / n;
  let press = 0;
  let total = 0;
  X.forEach((row, i) => {
    const fit = row.reduce((s, v, a) => s + v * (beta[a] as number), 0);
    let h = 0;
    for (let a = 0; a < q; a++) for (let b = 0; b < q; b++) h += (row[a] as number) * (inverse[a] as number[])[b]! * (row[b] as number);
    const residual = ((y[i] as number) - fit) / Math.max(1e-6, 1 - h);
    press += residual * residual;
    total += square((y[i] as number) - mean);
  });
  return total > 0 ? Math.max(-1, 1 - press / total) : 0;
}

/** Gauss–Jordan inverse with partial pivoting; null when singular. */
function invertSymmetric(A: number[][]): number[][] | null {
  const q = A.length;
  const M = A.map((row, i) => [...row, ...Array.from({ length: q }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < q; c++) {
    let pivot = c;
    for (let r = c + 1; r < q; r++) if (Math.abs((M[r] as number[])[c]!) > Math.abs((M[pivot] as number[])[c]!)) pivot = r;
    if (Math.abs((M[pivot] as number[])[c]!) < 1e-12) return null;
    [M[c], M[pivot]] = [M[pivot] as number[], M[c] as number[]];
    const row = M[c] as number[];
    const p = row[c] as number;
    for (let k = 0; k < 2 * q; k++) row[k] = (row[k] as number) / p;
    for (let r = 0; r < q; r++) {
      if (r === c) continue;
      const other = M[r] as number[];
      const f = other[c] as number;
      if (f === 0) continue;
      for (let k = 0; k < 2 * q; k++) other[k] = (other[k] as number) - f * (row[k] as number);
    }
  }
  return M.map((row) => row.slice(q));
}

/**
 * Semivariogram nugget: half squared rank differences of all pairs against their distance,
 * a straight line fitted over the closer half of the pairs and extrapolated to distance 0,
 * as a fraction of the mean over all pairs. Near 0 for a smooth function (close points agree),
 * near 1 for a rugged one.
 */
function nuggetFraction(points: number[][], ranks: number[]): number {
  const pairs: Array<{ h: number; g: number }> = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      let s = 0;
      const p = points[i] as number[];
      const q = points[j] as number[];
      for (let k = 0; k < p.length; k++) s += square((p[k] as number) - (q[k] as number));
      pairs.push({ h: Math.sqrt(s), g: 0.5 * square((ranks[i] as number) - (ranks[j] as number)) });
    }
  }
  const meanAll = pairs.reduce((s, x) => s + x.g, 0) / pairs.length;
  if (!(meanAll > 0)) return 1;
  pairs.sort((a, b) => a.h - b.h);
  const close = pairs.slice(0, Math.max(3, Math.ceil(pairs.length / 2)));
  const mh = close.reduce((s, x) => s + x.h, 0) / close.length;
  const mg = close.reduce((s, x) => s + x.g, 0) / close.length;
  let shh = 0;
  let shg = 0;
  for (const x of close) {
    shh += square(x.h - mh);
    shg += (x.h - mh) * (x.g - mg);
  }
  const slope = shh > 0 ? shg / shh : 0;
  const intercept = mg - slope * mh;
  return Math.min(1, Math.max(0, intercept / meanAll));
}

function square(x: number): number {
  return x * x;
}
