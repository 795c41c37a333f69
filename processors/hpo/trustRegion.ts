/**
 * A model-based trust-region step (in the spirit of derivative-free trust-region methods such
 * as BOBYQA or POUNDERS, much simplified): around the best point c, fit a separable quadratic
 * m(z) = a + sum_k g_k z_k + h_k z_k^2 (z = (x - c) / radius) by ridge least squares to the
 * nearest completed trials, and propose its minimiser over the box |z_k| <= 1 (clipped to the
 * unit cube). The study keeps the radius: it grows after a step that improved the best value
 * and shrinks after one that did not; below `minRadius` the region has collapsed (the study
 * then explores with TPE for a while and starts again).
 *
 * Why a separable quadratic: it has 2d + 1 coefficients (a full one has (d + 1)(d + 2) / 2,
 * more than a small budget affords from d = 6 or so), its minimiser over a box is exact and
 * per coordinate, and fitted to the nearest 4d + 2 points it captures the local slope and
 * curvature of a smooth function, and the trend of a rugged one at the scale of those points
 * (which is what lets it cross ripples that trap Nelder–Mead). Measured in
 * bench/hpo-quality.ts against Nelder–Mead, from 3 dimensions on.
 *
 * Values are rescaled to [0, 1] over the fitted points (the fit is local, so a huge range
 * elsewhere does not matter). Only numeric dimensions move; categorical ones keep the best
 * point's choice. Pure function of its inputs: the only randomness is the jitter that moves
 * a proposal off a point already evaluated, drawn from the `random` passed in.
 */
import type { SpaceShape } from './parzenEstimator.ts';
import type { SeededRandom } from './random.ts';
import type { ScoredPoint } from './tpe.ts';

export interface TrustRegionOptions {
  /** Half-width of the trust region when it starts (unit-cube units). */
  readonly initialRadius: number;
  /** Below this half-width the region has collapsed. */
  readonly minRadius: number;
  readonly maxRadius: number;
  /** Radius factor after a step that improved the best value... */
  readonly grow: number;
  /** ...and after one that did not. */
  readonly shrink: number;
  /** Nearest trials in the fit: fitPointsPerDimension * d + 2 (d numeric dimensions)... */
  readonly fitPointsPerDimension: number;
  /** ...capped at this. */
  readonly maxFitPoints: number;
  /** Ridge penalty per fitted point, on the scaled coefficients. */
  readonly ridge: number;
  /** Trials asked of TPE after a collapse, before the region starts again (0: max(5, d + 1)). */
  readonly exploreTrials: number;
}

export const DEFAULT_TRUST_REGION_OPTIONS: TrustRegionOptions = {
  initialRadius: 0.1,
  minRadius: 1e-3,
  maxRadius: 0.5,
  grow: 1.5,
  shrink: 0.7,
  fitPointsPerDimension: 2,
  maxFitPoints: 64,
  ridge: 1e-3,
  exploreTrials: 0,
};

export interface TrustRegionProposal {
  readonly point: Float64Array;
  /** The model's predicted value at the proposal minus at the centre, in the [0, 1] scale of the fit (<= 0). */
  readonly predictedChange: number;
  /** True when the model's minimiser was already evaluated and the proposal is a random point of the region instead. */
  readonly jittered: boolean;
}

function squaredDistance(p: ArrayLike<number>, center: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < center.length; k++) {
    const t = (p[k] as number) - (center[k] as number);
    s += t * t;
  }
  return s;
}

/**
 * One proposal around `center` (the best trial) with half-width `radius`. `history` holds the
 * completed trials (chronological; ties in distance go to the earlier one). `snap` maps a point
 * to what the study will actually evaluate (integers and choices rounded), so that a proposal
 * equal to a known point can be recognised and jittered. Returns null without numeric
 * dimensions.
 */
export function proposeTrustRegion(
  shape: SpaceShape,
  history: readonly ScoredPoint[],
  center: ArrayLike<number>,
  radius: number,
  options: TrustRegionOptions,
  random: SeededRandom,
  snap: (point: Float64Array) => ArrayLike<number> = (p) => p,
): TrustRegionProposal | null {
  const D = shape.dimension;
  const dims: number[] = [];
  for (let k = 0; k < D; k++) if ((shape.choiceCounts[k] as number) === 0) dims.push(k);
  const d = dims.length;
  if (d === 0 || history.length === 0) return null;

  // The fit set: the nearest trials to the centre, by (distance over all coordinates, position).
  const n = history.length;
  const distances = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = (history[i] as ScoredPoint).point;
    distances[i] = squaredDistance(p, center);
  }
  const N = Math.min(n, Math.ceil(options.fitPointsPerDimension * d) + 2, options.maxFitPoints);
  const chosen = nearest(distances, N);

  // Features z_k and z_k^2 (z in radius units), centred, and values rescaled to [0, 1], centred.
  const p = 2 * d;
  const X = new Float64Array(N * p);
  const y = new Float64Array(N);
  let lo = Infinity;
  let hi = -Infinity;
  for (let r = 0; r < N; r++) {
    const h = history[chosen[r] as number] as ScoredPoint;
    lo = Math.min(lo, h.loss);
    hi = Math.max(hi, h.loss);
  }
  const span = hi > lo ? hi - lo : 1;
  for (let r = 0; r < N; r++) {
    const h = history[chosen[r] as number] as ScoredPoint;
    y[r] = (h.loss - lo) / span;
    for (let a = 0; a < d; a++) {
      const z = ((h.point[dims[a] as number] as number) - (center[dims[a] as number] as number)) / radius;
      X[r * p + a] = z;
      X[r * p + d + a] = z * z;
    }
  }
  const beta = ridgeFit(X, y, N, p, options.ridge * N);

  // Minimise g z + h z^2 per coordinate over the region (and the cube).
  const point = Float64Array.from({ length: D }, (_, k) => center[k] as number);
  const zs = new Float64Array(d);
  let predictedChange = 0;
  for (let a = 0; a < d; a++) {
    const c = center[dims[a] as number] as number;
    const g = beta[a] as number;
    const h = beta[d + a] as number;
    const zLo = Math.max(-1, -c / radius);
    const zHi = Math.min(1, (1 - c) / radius);
    let z: number;
    if (h > 1e-12) z = Math.min(zHi, Math.max(zLo, -g / (2 * h)));
    else {
      const atLo = g * zLo + h * zLo * zLo;
      const atHi = g * zHi + h * zHi * zHi;
      z = atLo < atHi ? zLo : atHi < atLo ? zHi : 0;
    }
    zs[a] = z;
    predictedChange += g * z + h * z * z;
    point[dims[a] as number] = clamp01(c + z * radius);
  }
  if (!isKnown(snap(point), center, history)) return { point, predictedChange: Math.min(0, predictedChange), jittered: false };
  // The minimiser was evaluated already: a random point of the region instead.
  for (let a = 0; a < d; a++) {
    const k = dims[a] as number;
    const c = center[k] as number;
    point[k] = clamp01(c + radius * Math.max(-1, Math.min(1, 0.5 * random.normal())));
  }
  return { point, predictedChange: 0, jittered: true };
}

/** Indices of the k smallest distances, ordered by (distance, index). */
function nearest(distances: Float64Array, k: number): Int32Array {
  const best = new Int32Array(k);
  let filled = 0;
  for (let i = 0; i < distances.length; i++) {
    const v = distances[i] as number;
    if (filled === k && !(v < (distances[best[k - 1] as number] as number))) continue;
    let at = filled < k ? filled++ : k - 1;
    while (at > 0 && v < (distances[best[at - 1] as number] as number)) {
      best[at] = best[at - 1] as number;
      at--;
    }
    best[at] = i;
  }
  return best;
}

/**
 * Ridge regression with an unpenalised intercept (by centring): the coefficients of the p
 * features. Solves the p x p normal equations, or the N x N dual system when there are fewer
 * points than features (the same solution, cheaper). X and y are centred in place. Exported for the tests.
 */
export function ridgeFit(X: Float64Array, y: Float64Array, N: number, p: number, lambda: number): Float64Array {
  const means = new Float64Array(p);
  let yMean = 0;
  for (let r = 0; r < N; r++) {
    yMean += y[r] as number;
    for (let a = 0; a < p; a++) means[a] = (means[a] as number) + (X[r * p + a] as number);
  }
  yMean /= N;
  for (let a = 0; a < p; a++) means[a] = (means[a] as number) / N;
  for (let r = 0; r < N; r++) {
    y[r] = (y[r] as number) - yMean;
    for (let a = 0; a < p; a++) X[r * p + a] = (X[r * p + a] as number) - (means[a] as number);
  }
  const ridge = Math.max(lambda, 1e-9);
  const beta = new Float64Array(p);
  if (N >= p) {
    const A = new Float64Array(p * p);
    const b = new Float64Array(p);
    for (let r = 0; r < N; r++) {
      const row = r * p;
      const yr = y[r] as number;
      for (let a = 0; a < p; a++) {
        const xa = X[row + a] as number;
        if (xa === 0) continue;
        b[a] = (b[a] as number) + xa * yr;
        for (let c = a; c < p; c++) A[a * p + c] = (A[a * p + c] as number) + xa * (X[row + c] as number);
      }
    }
    for (let a = 0; a < p; a++) {
      A[a * p + a] = (A[a * p + a] as number) + ridge;
      for (let c = a + 1; c < p; c++) A[c * p + a] = A[a * p + c] as number;
    }
    if (!choleskySolve(A, b, p)) return beta;
    beta.set(b);
    return beta;
  }
  const K = new Float64Array(N * N);
  for (let r = 0; r < N; r++) {
    for (let s = r; s < N; s++) {
      let dot = 0;
      for (let a = 0; a < p; a++) dot += (X[r * p + a] as number) * (X[s * p + a] as number);
      K[r * N + s] = dot;
      K[s * N + r] = dot;
    }
    K[r * N + r] = (K[r * N + r] as number) + ridge;
  }
  const alpha = Float64Array.from(y);
  if (!choleskySolve(K, alpha, N)) return beta;
  for (let r = 0; r < N; r++) {
    const ar = alpha[r] as number;
    for (let a = 0; a < p; a++) beta[a] = (beta[a] as number) + ar * (X[r * p + a] as number);
  }
  return beta;
}

/** Solves A x = b in place (b becomes x) for a symmetric positive definite A; false when it is not. */
function choleskySolve(A: Float64Array, b: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j] as number;
    for (let k = 0; k < j; k++) s -= square(A[j * n + k] as number);
    if (!(s > 0)) return false;
    const l = Math.sqrt(s);
    A[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let t = A[i * n + j] as number;
      for (let k = 0; k < j; k++) t -= (A[i * n + k] as number) * (A[j * n + k] as number);
      A[i * n + j] = t / l;
    }
  }
  for (let i = 0; i < n; i++) {
    let t = b[i] as number;
    for (let k = 0; k < i; k++) t -= (A[i * n + k] as number) * (b[k] as number);
    b[i] = t / (A[i * n + i] as number);
  }
  for (let i = n - 1; i >= 0; i--) {
    let t = b[i] as number;
    for (let k = i + 1; k < n; k++) t -= (A[k * n + i] as number) * (b[k] as number);
    b[i] = t / (A[i * n + i] as number);
  }
  return true;
}

function isKnown(point: ArrayLike<number>, center: ArrayLike<number>, history: readonly ScoredPoint[]): boolean {
  const same = (q: ArrayLike<number>) => {
    for (let k = 0; k < point.length; k++) if (Math.abs((point[k] as number) - (q[k] as number)) > 1e-12) return false;
    return true;
  };
  if (same(center)) return true;
  for (const h of history) if (same(h.point)) return true;
  return false;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function square(x: number): number {
  return x * x;
}
