/**
 * Tree-structured Parzen Estimator (Bergstra et al. 2011), the orchestration half: split the
 * history into good and bad by the quantile gamma, fit one Parzen estimator to each (l and g,
 * parzenEstimator.ts), draw candidates from l and keep the one with the largest l(x)/g(x),
 * which maximises expected improvement under TPE's model.
 *
 * Cost: l is small (at most maxGood + 1 components) and is evaluated at every candidate; g
 * (up to the whole history) only where it can change the choice: the candidates are screened
 * with lower bounds of log g and only the few that could win get g exactly (screenCandidates).
 * The choice is the same, bit for bit, as evaluating g everywhere.
 *
 * Both estimators weight observations by recency (recencyWeights), as Optuna does.
 *
 * Parallel trials: pending points join the bad group as if they had returned the worst value
 * seen (a constant liar), so g grows around them and the next candidate goes elsewhere.
 */
import { chooseKdeBackend, type KdeChooserOptions, type KdeEvaluator, kdeWork, mixtureLogDensityTs, DEFAULT_KDE_CHOOSER } from './kde.ts';
import { type GpuKde, loadGpuKde } from './kdeGpu.ts';
import { KernelCache, ParzenEstimator, recencyWeights, type SpaceShape } from './parzenEstimator.ts';
import type { SeededRandom } from './random.ts';

export interface TpeOptions {
  /** Candidates drawn from l(x) per ask. */
  readonly candidates: number;
  /** Fraction of the history that is "good"... */
  readonly gamma: number;
  /** ...capped at this many trials. */
  readonly maxGood: number;
  readonly priorWeight: number;
  readonly bandwidth: 'neighbour' | 'scott';
  /** Which KDE implementation evaluates l and g. */
  readonly kde: KdeChooserOptions;
}

export const DEFAULT_TPE_OPTIONS: TpeOptions = {
  candidates: 64,
  gamma: 0.1,
  maxGood: 25,
  priorWeight: 1,
  bandwidth: 'neighbour',
  kde: DEFAULT_KDE_CHOOSER,
};

export interface ScoredPoint {
  readonly point: ArrayLike<number>;
  /** Minimised. */
  readonly loss: number;
}

/** Supplies a gpu.js KDE on demand (loaded once per process, null when unavailable). */
export type GpuKdeProvider = () => GpuKde | null;

let sharedGpuKde: GpuKde | null | undefined;
export const defaultGpuKdeProvider: GpuKdeProvider = () => {
  if (sharedGpuKde === undefined) sharedGpuKde = loadGpuKde();
  return sharedGpuKde;
};

/** Number of good trials out of n. */
export function goodCount(n: number, options: Pick<TpeOptions, 'gamma' | 'maxGood'>): number {
  return Math.max(1, Math.min(Math.ceil(options.gamma * n), options.maxGood));
}

/**
 * Kernel state of the good and the bad group kept from one suggestion to the next (a study
 * keeps one): consecutive asks see nearly the same groups, so refits are incremental. Pure
 * cache: suggestions are identical with a fresh one.
 */
export interface TpeCache {
  readonly below: KernelCache;
  readonly above: KernelCache;
}

export function createTpeCache(): TpeCache {
  return { below: new KernelCache(), above: new KernelCache() };
}

export interface TpeSuggestion {
  readonly point: Float64Array;
  /** log l(x) - log g(x) of the chosen candidate. */
  readonly score: number;
  readonly backend: 'ts' | 'gpujs';
}

/**
 * One TPE suggestion. `history` needs at least one point; `random` is advanced by a number of
 * draws that depends only on the inputs (never on timing).
 */
export function suggestTpe(
  shape: SpaceShape,
  history: readonly ScoredPoint[],
  pending: readonly ArrayLike<number>[],
  random: SeededRandom,
  options: TpeOptions = DEFAULT_TPE_OPTIONS,
  gpuKde: GpuKdeProvider = defaultGpuKdeProvider,
  cache: TpeCache = createTpeCache(),
): TpeSuggestion {
  // `history` is chronological; both groups keep that order (for the recency weights).
  const n = history.length;
  const k = goodCount(n, options);
  // The k best are the good group; the next SCREEN_NEAREST_LOSSES are where the screen looks.
  const ranked = rankByLoss(history, k + SCREEN_NEAREST_LOSSES);
  const isGood = new Uint8Array(n);
  for (let r = 0; r < Math.min(k, ranked.length); r++) isGood[ranked[r] as number] = 1;
  const good: ArrayLike<number>[] = [];
  const bad: ArrayLike<number>[] = [];
  const badIndex = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (isGood[i]) good.push((history[i] as ScoredPoint).point);
    else {
      badIndex[i] = bad.length;
      bad.push((history[i] as ScoredPoint).point);
    }
  }
  const badFromHistory = bad.length;
  for (const p of pending) bad.push(p);
  const parzen = { priorWeight: options.priorWeight, bandwidth: options.bandwidth };
  const below = new ParzenEstimator(shape, good, parzen, recencyWeights(good.length), cache.below);
  const above = new ParzenEstimator(shape, bad, parzen, recencyWeights(bad.length), cache.above);

  const count = options.candidates;
  const candidates = below.sample(random, count);
  const numericDims = shape.choiceCounts.filter((c) => c === 0).length;
  const backend = chooseKdeBackend(kdeWork(count, above.components, numericDims), options.kde);
  let evaluate: KdeEvaluator = mixtureLogDensityTs;
  let used: 'ts' | 'gpujs' = 'ts';
  if (backend === 'gpujs') {
    const gpu = gpuKde();
    if (gpu) {
      evaluate = (mixture, query) => gpu.evaluate(mixture, query);
      used = 'gpujs';
    }
  }
  const logL = below.logDensity(candidates, count, evaluate);
  if (isDiscrete(shape)) excludeRepeats(candidates, count, shape.dimension, history, pending, logL);
  let bestIndex: number;
  let bestScore: number;
  if (used === 'ts') {
    // Screen against the bad points nearest the good ones in value, the most recent pending points, and the prior.
    const screen: number[] = [];
    const rankedBad = new Uint8Array(badFromHistory);
    for (let r = k; r < ranked.length; r++) {
      screen.push(badIndex[ranked[r] as number] as number);
      rankedBad[badIndex[ranked[r] as number] as number] = 1;
    }
    for (let j = Math.max(0, badFromHistory - SCREEN_RECENT); j < badFromHistory; j++) if (!rankedBad[j]) screen.push(j);
    for (let j = Math.max(badFromHistory, bad.length - SCREEN_PENDING); j < bad.length; j++) screen.push(j);
    screen.push(bad.length);
    ({ bestIndex, bestScore } = screenCandidates(above, candidates, count, logL, Int32Array.from(screen)));
  } else {
    ({ bestIndex, bestScore } = scoreAll(above, candidates, count, logL, evaluate));
  }
  const D = shape.dimension;
  return { point: candidates.slice(bestIndex * D, (bestIndex + 1) * D), score: bestScore, backend: used };
}

/** True when every dimension is categorical or on a grid: candidates can repeat an evaluated point exactly. */
function isDiscrete(shape: SpaceShape): boolean {
  return shape.choiceCounts.every((c, k) => c > 0 || (shape.levelPositions?.[k] ?? null) !== null);
}

/**
 * In a discrete space, a candidate equal to an evaluated or pending point would only repeat it:
 * its l(x) becomes 0 (log -Infinity), so another candidate wins, unless every one repeats.
 */
function excludeRepeats(candidates: Float64Array, count: number, D: number, history: readonly ScoredPoint[], pending: readonly ArrayLike<number>[], logL: Float64Array): void {
  const key = (p: ArrayLike<number>, from = 0) => {
    let k = '';
    for (let a = 0; a < D; a++) k += `${p[from + a] as number},`;
    return k;
  };
  const seen = new Set<string>();
  for (const h of history) seen.add(key(h.point));
  for (const p of pending) seen.add(key(p));
  for (let i = 0; i < count; i++) if (seen.has(key(candidates, i * D))) logL[i] = -Infinity;
}

/** The first candidate with the largest log l - log g (the plain way: g at every candidate). */
function scoreAll(above: ParzenEstimator, candidates: Float64Array, count: number, logL: Float64Array, evaluate: KdeEvaluator): { bestIndex: number; bestScore: number } {
  const logG = above.logDensity(candidates, count, evaluate);
  let bestIndex = 0;
  let bestScore = -Infinity;
  for (let i = 0; i < count; i++) {
    const score = (logL[i] as number) - (logG[i] as number);
    if (score > bestScore) {
      bestScore = score;
      bestIndex = i;
    }
  }
  return { bestIndex, bestScore };
}

/** Bad points by loss, and pending points, that the screen looks at (see screenCandidates). */
const SCREEN_NEAREST_LOSSES = 16;
const SCREEN_PENDING = 8;
const SCREEN_RECENT = 16;

/**
 * The same choice as scoreAll, with g evaluated in full at few candidates (screen, then
 * verify). Any lower bound of log g at a candidate gives an upper bound of its score. First,
 * cheaply, from a subset of g's components (ParzenEstimator.subsetBounds): the bad points whose
 * losses come right after the good group's and the most recent ones (candidates are drawn near
 * good points, and these are the bad points most like them, or where TPE looked last), the
 * latest pending points, and the prior. Candidates are then taken in decreasing order of that
 * bound until it falls below the best exact score; each one gets a tighter bound from g's
 * terms over all components (mixtureLogDensityLowerBoundTs: pruned hard, few exps), and only
 * if that still clears the best score, its exact score. No candidate left out could have won,
 * nor tied (ties go to the first index, as in scoreAll), and each exact score is computed by
 * the same loop as in scoreAll, so the chosen candidate and its score are identical. A loose
 * bound costs time, never the choice. The bounds carry a margin of 1e-9 for rounding; the
 * largest term itself is a lower bound bit for bit.
 */
function screenCandidates(above: ParzenEstimator, candidates: Float64Array, count: number, logL: Float64Array, screen: Int32Array): { bestIndex: number; bestScore: number } {
  const lowerG = above.subsetBounds(candidates, count, screen);
  const bound = new Float64Array(count);
  const order: number[] = [];
  for (let i = 0; i < count; i++) {
    bound[i] = (logL[i] as number) - (lowerG.lower[i] as number);
    // A NaN bound (NaN coordinates) can only go with a NaN score, which never wins.
    if (!Number.isNaN(bound[i])) order.push(i);
  }
  order.sort((a, b) => (bound[b] as number) - (bound[a] as number) || a - b);
  let bestIndex = 0;
  let bestScore = -Infinity;
  for (const i of order) {
    const b = bound[i] as number;
    if (b < bestScore || b === -Infinity) break;
    // A tighter bound from g's largest terms over all its components (a few exps), then the score.
    const prepared = above.prepareAt(candidates, i);
    if ((logL[i] as number) - above.logDensityLowerBoundAt(candidates, i, lowerG.max[i] as number, prepared) < bestScore) continue;
    const score = (logL[i] as number) - above.logDensityAt(candidates, i, prepared);
    if (score > bestScore || (score === bestScore && i < bestIndex)) {
      bestScore = score;
      bestIndex = i;
    }
  }
  return { bestIndex, bestScore };
}

/**
 * The indices of the k best entries by (loss, position), best first: the first k of a stable
 * sort by loss, found by one pass with a k-long sorted buffer instead of sorting the whole
 * history.
 */
function rankByLoss(history: readonly ScoredPoint[], k: number): Int32Array {
  const best = new Int32Array(Math.min(k, history.length));
  const size = best.length;
  let filled = 0;
  for (let i = 0; i < history.length; i++) {
    const loss = (history[i] as ScoredPoint).loss;
    // An earlier position wins ties, so i goes before an entry only when its loss is strictly lower
    // (the comparison a sort by `loss difference || position` makes).
    if (filled === size && !(loss - (history[best[size - 1] as number] as ScoredPoint).loss < 0)) continue;
    let p = filled < size ? filled++ : size - 1;
    while (p > 0 && loss - (history[best[p - 1] as number] as ScoredPoint).loss < 0) {
      best[p] = best[p - 1] as number;
      p--;
    }
    best[p] = i;
  }
  return best;
}
