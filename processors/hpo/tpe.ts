/**
 * Tree-structured Parzen Estimator (Bergstra et al. 2011), the orchestration half: split the
 * history into good and bad by the quantile gamma, fit one Parzen estimator to each (l and g,
 * parzenEstimator.ts), draw candidates from l and keep the one with the largest l(x)/g(x),
 * which maximises expected improvement under TPE's model.
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
  const isGood = bestByLoss(history, goodCount(n, options));
  const good: ArrayLike<number>[] = [];
  const bad: ArrayLike<number>[] = [];
  for (let i = 0; i < n; i++) (isGood[i] ? good : bad).push((history[i] as ScoredPoint).point);
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
  const D = shape.dimension;
  return { point: candidates.slice(bestIndex * D, (bestIndex + 1) * D), score: bestScore, backend: used };
}

/**
 * Marks the k best entries by (loss, position): the first k of a stable sort by loss, found by
 * one pass with a k-long sorted buffer instead of sorting the whole history.
 */
function bestByLoss(history: readonly ScoredPoint[], k: number): Uint8Array {
  const best = new Int32Array(k);
  let filled = 0;
  for (let i = 0; i < history.length; i++) {
    const loss = (history[i] as ScoredPoint).loss;
    // An earlier position wins ties, so i goes before an entry only when its loss is strictly lower
    // (the comparison a sort by `loss difference || position` makes).
    if (filled === k && !(loss - (history[best[k - 1] as number] as ScoredPoint).loss < 0)) continue;
    let p = filled < k ? filled++ : k - 1;
    while (p > 0 && loss - (history[best[p - 1] as number] as ScoredPoint).loss < 0) {
      best[p] = best[p - 1] as number;
      p--;
    }
    best[p] = i;
  }
  const marks = new Uint8Array(history.length);
  for (let r = 0; r < filled; r++) marks[best[r] as number] = 1;
  return marks;
}
