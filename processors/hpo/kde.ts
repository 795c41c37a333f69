/**
 * Log density of a Gaussian mixture at many points: the hot loop of TPE (candidates x
 * components x dimensions). Every component j is a product of per-dimension Gaussians
 * N(centre_jk, sigma_jk^2); everything that does not depend on the point (mixture weight,
 * 1/(sigma sqrt(2 pi)), truncation to [0,1]) is folded into one log coefficient per
 * component, so the loop is a squared distance and a log-sum-exp. An optional n x m matrix
 * adds per (point, component) log terms (the categorical dimensions).
 *
 * Two implementations compute it: this file (Float64Array loops) and kdeGpu.ts (gpu.js);
 * `chooseKdeBackend` picks one by the size of the work. This file also has the cheap lower
 * bound (mixtureLogDensityLowerBoundTs) that TPE's candidate screen uses.
 */
import { erfc, exp, log } from './portableMath.ts';

export interface GaussianMixture {
  /** Number of components (m). */
  readonly size: number;
  /** Numeric dimensions (d). */
  readonly dims: number;
  /** m x d, row-major. */
  readonly centers: Float64Array;
  /** m x d, 1 / sigma. */
  readonly invSigmas: Float64Array;
  /** m: log weight minus the log normaliser of the (truncated) product kernel. */
  readonly logCoefficients: Float64Array;
}

export interface KdeQuery {
  /** n x d, row-major. */
  readonly points: Float64Array;
  readonly count: number;
  /** Optional n x m additive log terms. */
  readonly extra?: Float64Array;
}

export type KdeBackend = 'ts' | 'gpujs';

/** One evaluation, whatever computes it: log density of each of the n points. */
export type KdeEvaluator = (mixture: GaussianMixture, query: KdeQuery) => Float64Array;

/**
 * Terms this far below the running maximum are skipped: exp(-40) < 4.3e-18 < 2^-53, under half
 * an ulp of the running sum (which is >= 1 once a term is in), so adding them would leave the
 * sum unchanged to the last bit. Skipping them is exact, not an approximation.
 */
const NEGLIGIBLE = 40;
/**
 * Slack for the early exit, which bounds t by an expression rounded differently from t's own:
 * the difference is a few ulps of values far below 1e9, i.e. under 1e-6.
 */
const EXIT_MARGIN = 1;

/**
 * From this many numeric dimensions on, each point first finds a few "pilot" components (the
 * best by the first PILOT_DIMS dimensions, PILOT_COUNT of them) and sums them first: their
 * terms set a running maximum close to the final one at once, so that the early exit drops
 * almost every other component after the PILOT_DIMS dimensions already computed (whose partial
 * sums are kept, not recomputed). Measured on the bench's histories (1,000 components): at
 * d = 200 the work per (point, component) falls from ~158 dimensions to ~8-10, at d = 50 from
 * ~30; below ~24 dimensions the plain order exits early enough and the pilot pass would cost
 * more than it saves. The sum then runs in another order (pilots first), which can change the
 * last bits of the result, not what the skipping guarantees.
 */
const PILOT_MIN_DIMS = 24;
const PILOT_DIMS = 8;
const PILOT_COUNT = 4;

export function mixtureLogDensityTs(mixture: GaussianMixture, query: KdeQuery): Float64Array {
  const { size: m, dims: d, centers, invSigmas, logCoefficients } = mixture;
  const { points, count: n, extra } = query;
  const out = new Float64Array(n);
  const pilotPass = d >= PILOT_MIN_DIMS && m > PILOT_COUNT;
  const partial = pilotPass ? new Float64Array(m) : null;
  const pilots = new Int32Array(PILOT_COUNT);
  const pilotScores = new Float64Array(PILOT_COUNT);
  for (let i = 0; i < n; i++) {
    const p = i * d;
    const e = i * m;
    // Single-pass log-sum-exp: keep the running maximum and the sum scaled to it.
    let max = -Infinity;
    let sum = 0;
    // Early exit: the squared distance only grows and t = lc + ex - q / 2, so once q passes
    // 2 (lc + ex) - cut the term is certainly more than NEGLIGIBLE below the running maximum:
    // a no-op. (Before the first term, cut is -Infinity: no exit.)
    let cut = 2 * (max - NEGLIGIBLE - EXIT_MARGIN);
    let from = 0;
    let pilotCount = 0;
    if (partial) {
      // Pass 1: the first PILOT_DIMS dimensions of every component, and the best few by them.
      from = PILOT_DIMS;
      for (let j = 0; j < m; j++) {
        const c = j * d;
        let q = 0;
        for (let k = 0; k < PILOT_DIMS; k++) {
          const z = ((points[p + k] as number) - (centers[c + k] as number)) * (invSigmas[c + k] as number);
          q += z * z;
        }
        partial[j] = q;
        const score = q - 2 * ((logCoefficients[j] as number) + (extra ? (extra[e + j] as number) : 0));
        if (!(score < Infinity)) continue; // NaN, or a component of weight 0
        if (pilotCount === PILOT_COUNT && !(score < (pilotScores[PILOT_COUNT - 1] as number))) continue;
        let at = pilotCount < PILOT_COUNT ? pilotCount++ : PILOT_COUNT - 1;
        while (at > 0 && score < (pilotScores[at - 1] as number)) {
          pilots[at] = pilots[at - 1] as number;
          pilotScores[at] = pilotScores[at - 1] as number;
          at--;
        }
        pilots[at] = j;
        pilotScores[at] = score;
      }
    }
    // Pass 2 (pilots, best first), then every other component in order.
    for (let r = -pilotCount; r < m; r++) {
      let j: number;
      if (r < 0) j = pilots[r + pilotCount] as number;
      else {
        j = r;
        let isPilot = false;
        for (let s = 0; s < pilotCount; s++) if (pilots[s] === j) isPilot = true;
        if (isPilot) continue;
      }
      const c = j * d;
      const lc = logCoefficients[j] as number;
      const ex = extra ? (extra[e + j] as number) : 0;
      const qCut = 2 * (lc + ex) - cut;
      let q = partial ? (partial[j] as number) : 0;
      if (q > qCut) continue;
      let k = from;
      for (; k < d; k++) {
        const z = ((points[p + k] as number) - (centers[c + k] as number)) * (invSigmas[c + k] as number);
        q += z * z;
        if (q > qCut) break;
      }
      if (k < d) continue;
      // The same expression as always, so that the kept terms are bit-for-bit the same.
      let t = lc - 0.5 * q;
      if (extra) t += ex;
      if (t > max) {
        sum = sum * exp(max - t) + 1;
        max = t;
        cut = 2 * (max - NEGLIGIBLE - EXIT_MARGIN);
      } else {
        const u = t - max;
        if (!(u < -NEGLIGIBLE)) sum += exp(u);
      }
    }
    out[i] = max + log(sum);
  }
  return out;
}

/** Terms kept by mixtureLogDensityLowerBoundTs: those within this of the running maximum. */
export const BOUND_SLACK = 8;

/**
 * A lower bound of the log density at each point, cheaper than the density itself: the
 * log-sum-exp of only the terms within BOUND_SLACK of the running maximum (which starts at
 * floor_i, the largest of some of the terms: see ParzenEstimator.subsetBounds), so most components
 * are dropped after a dimension or two and only a few terms cost an exp. Every term left out
 * is positive, so the exact value is at least this one, up to rounding, which the result
 * gives away with a margin of 1e-9 (relative, at least absolute): the bound holds for the
 * values mixtureLogDensityTs computes.
 */
export function mixtureLogDensityLowerBoundTs(mixture: GaussianMixture, query: KdeQuery, floor: Float64Array): Float64Array {
  const { size: m, dims: d, centers, invSigmas, logCoefficients } = mixture;
  const { points, count: n, extra } = query;
  const out = new Float64Array(n);
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = i * d;
    const e = i * m;
    let max = floor[i] as number;
    kept.length = 0;
    for (let j = 0; j < m; j++) {
      const c = j * d;
      const lc = logCoefficients[j] as number;
      const ex = extra ? (extra[e + j] as number) : 0;
      const qCut = 2 * (lc + ex - max + BOUND_SLACK);
      let q = 0;
      let k = 0;
      for (; k < d; k++) {
        const z = ((points[p + k] as number) - (centers[c + k] as number)) * (invSigmas[c + k] as number);
        q += z * z;
        if (q > qCut) break;
      }
      if (k < d) continue;
      let t = lc - 0.5 * q;
      if (extra) t += ex;
      if (!(t >= max - BOUND_SLACK)) continue;
      kept.push(t);
      if (t > max) max = t;
    }
    let sum = 0;
    for (const t of kept) if (t >= max - BOUND_SLACK) sum += exp(t - max);
    const bound = sum > 0 ? max + log(sum) : max;
    out[i] = bound - 1e-9 * Math.max(1, Math.abs(bound));
  }
  return out;
}

/** Work of one evaluation, the quantity the chooser's thresholds are expressed in. */
export function kdeWork(points: number, components: number, dims: number): number {
  return points * components * Math.max(1, dims);
}

export interface KdeChooserOptions {
  /** 'auto' picks by size; 'ts' or 'gpujs' forces one. Default 'auto'. */
  readonly backend: 'auto' | KdeBackend;
  /**
   * Smallest work (points x components x dims) from which 'auto' uses gpu.js; null: never.
   * Default null, measured by bench/hpo-latency.ts: on the 2-core bench machine gpu.js has no
   * GPU backend (no headless-gl), runs its WebAssembly or CPU backend in float32, and is
   * slower than the TypeScript loop at every size from d = 2 to 200.
   */
  readonly gpujsMinWork: number | null;
}

export const DEFAULT_KDE_CHOOSER: KdeChooserOptions = { backend: 'auto', gpujsMinWork: null };

export function chooseKdeBackend(work: number, options: KdeChooserOptions = DEFAULT_KDE_CHOOSER): KdeBackend {
  if (options.backend !== 'auto') return options.backend;
  return options.gpujsMinWork !== null && work >= options.gpujsMinWork ? 'gpujs' : 'ts';
}

// --- The normal distribution, for the truncation normalisers and sampling. ---

/** Standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

export const LOG_SQRT_2PI = 0.5 * log(2 * Math.PI);

/** log of the mass that N(mu, sigma^2) puts on [0, 1]. */
export function logUnitMass(mu: number, sigma: number): number {
  // Both ends more than 8.3 sigma away: the missing mass is below 1e-16, log(mass) is 0.
  if (mu > 8.3 * sigma && 1 - mu > 8.3 * sigma) return 0;
  const mass = normalCdf((1 - mu) / sigma) - normalCdf(-mu / sigma);
  return log(Math.max(mass, 1e-300));
}
