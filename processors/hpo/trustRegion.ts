/**
 * A model-based trust-region step (in the spirit of derivative-free trust-region methods such
 * as BOBYQA or POUNDERS, much simplified): around a centre c, fit a separable quadratic
 * m(z) = a + sum_k g_k z_k + h_k z_k^2 (z = (x - c) / radius) by ridge least squares to the
 * nearest completed trials, and propose its minimiser over the box |z_k| <= 1 (clipped to the
 * unit cube). The sampler (samplers/trustRegionSampler.ts) keeps the centre and the radius: it
 * grows after a step that improved on the centre and shrinks after one that did not; below
 * `minRadius` the region has collapsed, and the sampler scans, explores and restarts.
 *
 * Why a separable quadratic: it has 2d + 1 coefficients (a full one has (d + 1)(d + 2) / 2,
 * more than a small budget affords from d = 6 or so), its minimiser over a box is exact and
 * per coordinate, and fitted to the nearest 4d + 2 points it captures the local slope and
 * curvature of a smooth function, and the trend of a rugged one at the scale of those points
 * (which is what lets it cross ripples that trap Nelder–Mead). Measured in
 * bench/hpo-quality.ts against Nelder–Mead, from 3 dimensions on.
 *
 * Values are rescaled to [0, 1] over the fitted points (the fit is local, so a huge range
 * elsewhere does not matter). Grid values and categorical choices are handled inside the model
 * (see proposeTrustRegion). Pure function of its inputs: the only randomness is the jitter that
 * moves a proposal off a point already evaluated, drawn from the `random` passed in.
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
  /** Where a region starts after a collapse (samplers/trustRegionSampler.ts): outside the collapsed basins ('distinct', or 'explore' for the best of the exploration since), or at the best trial ('best'). */
  readonly restartFrom: 'explore' | 'distinct' | 'best';
  /** Each restart's initial radius is initialRadius x restartGrowth^restarts (IPOP-style), up to maxRadius. */
  readonly restartGrowth: number;
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
  restartFrom: 'distinct',
  restartGrowth: 2,
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

/** A categorical mismatch counts like this distance in the unit cube when choosing the fit set. */
const CATEGORY_DISTANCE = 0.2;

/**
 * One proposal around `center` with half-width `radius`. `history` holds the completed trials
 * (chronological; ties in distance go to the earlier one). `snap` maps a point to what the
 * study will actually evaluate (grid values and choices at their bucket centres), so that a
 * proposal equal to a known point can be recognised and jittered. Returns null when there is
 * nothing to move.
 *
 * Mixed spaces, inside the model rather than after it:
 * - a discrete numeric dimension (shape.levelPositions) moves only to its grid values: the
 *   model is minimised over the grid values within the region, and the region reaches at least
 *   the neighbouring value (a region narrower than the grid would freeze the dimension);
 * - a categorical dimension enters the fit as one indicator per other choice (the effect of
 *   switching from the centre's choice, measured on the nearby trials that made it), and the
 *   step switches the one choice whose fitted effect is the most negative, if any.
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
  const cats: number[] = [];
  for (let k = 0; k < D; k++) ((shape.choiceCounts[k] as number) === 0 ? dims : cats).push(k);
  const d = dims.length;
  if ((d === 0 && cats.length === 0) || history.length === 0) return null;
  const grids = dims.map((k) => shape.levelPositions?.[k] ?? null);
  const centerChoice = cats.map((k) => choiceOf(center[k] as number, shape.choiceCounts[k] as number));
  // One indicator per choice other than the centre's.
  const switches: Array<{ cat: number; choice: number }> = [];
  cats.forEach((k, c) => {
    for (let j = 0; j < (shape.choiceCounts[k] as number); j++) if (j !== centerChoice[c]) switches.push({ cat: c, choice: j });
  });

  // The fit set: the nearest trials to the centre, by (distance, position); another choice counts as CATEGORY_DISTANCE.
  const n = history.length;
  const distances = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = (history[i] as ScoredPoint).point;
    if (cats.length === 0) distances[i] = squaredDistance(p, center);
    else {
      let s = 0;
      for (const k of dims) {
        const t = (p[k] as number) - (center[k] as number);
        s += t * t;
      }
      cats.forEach((k, c) => {
        if (choiceOf(p[k] as number, shape.choiceCounts[k] as number) !== centerChoice[c]) s += CATEGORY_DISTANCE * CATEGORY_DISTANCE;
      });
      distances[i] = s;
    }
  }
  const N = Math.min(n, Math.ceil(options.fitPointsPerDimension * d) + 2 + switches.length, options.maxFitPoints);
  const chosen = nearest(distances, N);

  // Features z_k and z_k^2 (z in radius units) and the switch indicators, centred; values rescaled to [0, 1], centred.
  const p = 2 * d + switches.length;
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
    switches.forEach((sw, i) => {
      const k = cats[sw.cat] as number;
      if (choiceOf(h.point[k] as number, shape.choiceCounts[k] as number) === sw.choice) X[r * p + 2 * d + i] = 1;
    });
  }
  const beta = ridgeFit(X, y, N, p, options.ridge * N);

  // Minimise g z + h z^2 per numeric coordinate over the region (and the cube, and the grid where there is one).
  const point = Float64Array.from({ length: D }, (_, k) => center[k] as number);
  let predictedChange = 0;
  const gridSteps: Array<{ k: number; position: number; change: number }> = [];
  for (let a = 0; a < d; a++) {
    const k = dims[a] as number;
    const c = center[k] as number;
    const g = beta[a] as number;
    const h = beta[d + a] as number;
    const grid = grids[a];
    if (grid) {
      const step = bestGridStep(grid, c, radius, g, h);
      if (step.position !== c && step.change < 0) gridSteps.push({ k, ...step });
      continue;
    }
    const zLo = Math.max(-1, -c / radius);
    const zHi = Math.min(1, (1 - c) / radius);
    let z: number;
    if (h > 1e-12) z = Math.min(zHi, Math.max(zLo, -g / (2 * h)));
    else {
      const atLo = g * zLo + h * zLo * zLo;
      const atHi = g * zHi + h * zHi * zHi;
      z = atLo < atHi ? zLo : atHi < atLo ? zHi : 0;
    }
    predictedChange += g * z + h * z * z;
    point[k] = clamp01(c + z * radius);
  }
  // Grid values move a whole step however small the region: a small region moves few of them
  // (the ones the model expects most from), a region at its largest moves them all.
  if (gridSteps.length > 0) {
    const discrete = grids.filter((g) => g !== null).length;
    const moves = Math.max(1, Math.round((discrete * Math.min(radius, options.maxRadius)) / options.maxRadius));
    gridSteps.sort((x, y) => x.change - y.change || x.k - y.k);
    for (const step of gridSteps.slice(0, moves)) {
      point[step.k] = step.position;
      predictedChange += step.change;
    }
  }
  // At most one categorical switch per step: the one the nearby trials say helps most.
  let bestSwitch = -1;
  switches.forEach((_, i) => {
    const effect = beta[2 * d + i] as number;
    if (effect < -1e-12 && (bestSwitch < 0 || effect < (beta[2 * d + bestSwitch] as number))) bestSwitch = i;
  });
  if (bestSwitch >= 0) {
    const sw = switches[bestSwitch] as { cat: number; choice: number };
    const k = cats[sw.cat] as number;
    point[k] = (sw.choice + 0.5) / (shape.choiceCounts[k] as number);
    predictedChange += beta[2 * d + bestSwitch] as number;
  }
  if (!isKnown(snap(point), center, history)) return { point, predictedChange: Math.min(0, predictedChange), jittered: false };
  // The step was evaluated already: a random point of the region instead (a neighbouring grid
  // value on a discrete dimension; where that is not enough, another choice of a categorical one).
  const onlyDiscrete = grids.every((g) => g !== null);
  for (let attempt = 0; attempt < 8; attempt++) {
    for (let a = 0; a < d; a++) {
      const k = dims[a] as number;
      const c = center[k] as number;
      const grid = grids[a];
      point[k] = grid ? neighbourOnGrid(grid, c, random) : clamp01(c + radius * Math.max(-1, Math.min(1, 0.5 * random.normal())));
    }
    if (cats.length > 0 && (onlyDiscrete || attempt > 0)) {
      const k = cats[random.int(cats.length)] as number;
      point[k] = (random.int(shape.choiceCounts[k] as number) + 0.5) / (shape.choiceCounts[k] as number);
    }
    if (!isKnown(snap(point), center, history)) break;
  }
  return { point, predictedChange: 0, jittered: true };
}

function choiceOf(u: number, choices: number): number {
  return Math.min(choices - 1, Math.max(0, Math.floor(u * choices)));
}

/**
 * The grid value within the region (at least the neighbouring values) minimising g z + h z^2,
 * z = (position - c) / radius; ties go to the smaller move.
 */
function bestGridStep(grid: Float64Array, c: number, radius: number, g: number, h: number): { position: number; change: number } {
  const at = nearestIndex(grid, c);
  const reach = Math.max(radius, at > 0 ? c - (grid[at - 1] as number) : 0, at < grid.length - 1 ? (grid[at + 1] as number) - c : 0) + 1e-12;
  let best = grid[at] as number;
  let bestZ = (best - c) / radius;
  let bestValue = g * bestZ + h * bestZ * bestZ;
  for (let i = 0; i < grid.length; i++) {
    const v = grid[i] as number;
    if (Math.abs(v - c) > reach) continue;
    const z = (v - c) / radius;
    const value = g * z + h * z * z;
    if (value < bestValue - 1e-15 || (Math.abs(value - bestValue) <= 1e-15 && Math.abs(z) < Math.abs(bestZ))) {
      best = v;
      bestZ = z;
      bestValue = value;
    }
  }
  return { position: best, change: bestValue };
}

function nearestIndex(grid: Float64Array, v: number): number {
  let best = 0;
  for (let i = 1; i < grid.length; i++) if (Math.abs((grid[i] as number) - v) < Math.abs((grid[best] as number) - v)) best = i;
  return best;
}

/** The grid value one step up or down from the one nearest c (staying on the grid). */
function neighbourOnGrid(grid: Float64Array, c: number, random: SeededRandom): number {
  const at = nearestIndex(grid, c);
  if (grid.length === 1) return grid[0] as number;
  const up = at === 0 ? true : at === grid.length - 1 ? false : random.float() < 0.5;
  return grid[up ? at + 1 : at - 1] as number;
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
