/**
 * The pure model of TPE: a Parzen estimator (kernel density) over observations in the unit
 * cube. Numeric dimensions use Gaussian kernels truncated to [0, 1]; categorical ones a
 * smoothed frequency table per observation. One component per observation, all dimensions
 * at once (multivariate: a candidate is drawn whole from one observation's kernel, so
 * correlations between parameters survive), plus a broad prior component (centre 0.5,
 * sigma 1, uniform over choices) that keeps every region reachable.
 *
 * Bandwidth, per kernel and numeric dimension (option `bandwidth`): the larger distance to
 * its neighbours in that dimension among the sorted observations (the cube's ends count as
 * neighbours, except for the outermost observation, which uses its inner gap), or Scott's rule
 * for a d-dimensional product kernel. Either is clipped to [1 / min(100, n + 2), 1] so kernels
 * never become spikes.
 */
import { type GaussianMixture, type KdeEvaluator, LOG_SQRT_2PI, logUnitMass } from './kde.ts';
import type { SeededRandom } from './random.ts';

export interface ParzenOptions {
  /** Weight of the prior component relative to one observation. */
  readonly priorWeight: number;
  /**
   * 'neighbour': each kernel's width in a dimension is the larger gap to its neighbours in
   * that dimension (Bergstra et al.'s rule; adapts to where observations crowd).
   * 'scott': one width per dimension, 0.2 * n^(-1/(d+4)).
   */
  readonly bandwidth: 'neighbour' | 'scott';
}

export interface SpaceShape {
  readonly dimension: number;
  /** Per dimension: number of choices, 0 for numeric. */
  readonly choiceCounts: readonly number[];
}

/**
 * Recency weights for n observations in chronological order: the most recent 25 weigh 1, older
 * ones ramp linearly from 1/n up to 1, so the model of the bad region follows the search.
 */
export function recencyWeights(n: number): number[] {
  const flat = 25;
  if (n <= flat) return new Array<number>(n).fill(1);
  const ramp = n - flat;
  return Array.from({ length: n }, (_, i) => (i < ramp ? (ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1)) : 1));
}

export class ParzenEstimator {
  private readonly numericDims: number[];
  private readonly categoricalDims: number[];
  private readonly mixture: GaussianMixture;
  private readonly componentLogWeights: Float64Array;
  private readonly cumulativeWeights: Float64Array;
  /** Per categorical dim: components x choices log probabilities. */
  private readonly categoricalLogProbs: Float64Array[];

  constructor(
    private readonly shape: SpaceShape,
    observations: readonly ArrayLike<number>[],
    options: ParzenOptions,
    /** Relative weight of each observation; default all 1. */
    observationWeights?: readonly number[],
  ) {
    this.numericDims = [];
    this.categoricalDims = [];
    shape.choiceCounts.forEach((c, k) => (c > 0 ? this.categoricalDims : this.numericDims).push(k));
    const n = observations.length;
    const m = n + 1; // the prior is the last component
    const d = this.numericDims.length;

    const raw = (j: number) => (j < n ? (observationWeights?.[j] ?? 1) : options.priorWeight);
    let weightSum = 0;
    for (let j = 0; j < m; j++) weightSum += raw(j);
    this.componentLogWeights = new Float64Array(m);
    this.cumulativeWeights = new Float64Array(m);
    let cumulative = 0;
    for (let j = 0; j < m; j++) {
      const w = raw(j) / weightSum;
      this.componentLogWeights[j] = Math.log(w);
      cumulative += w;
      this.cumulativeWeights[j] = cumulative;
    }

    // Dense copy of the numeric coordinates (plus the prior's centre): every later loop is flat.
    const centers = new Float64Array(m * d);
    for (let j = 0; j < n; j++) {
      const o = observations[j] as ArrayLike<number>;
      for (let a = 0; a < d; a++) centers[j * d + a] = o[this.numericDims[a] as number] as number;
    }
    centers.fill(0.5, n * d);
    const sigmas = options.bandwidth === 'scott' ? scottBandwidths(n, d) : neighbourBandwidths(centers, n, d);
    const invSigmas = new Float64Array(m * d);
    const logCoefficients = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      let logNorm = 0;
      for (let a = 0; a < d; a++) {
        const mu = centers[j * d + a] as number;
        const s = j < n ? (sigmas[j * d + a] as number) : 1;
        invSigmas[j * d + a] = 1 / s;
        logNorm += Math.log(s) + LOG_SQRT_2PI + logUnitMass(mu, s);
      }
      logCoefficients[j] = (this.componentLogWeights[j] as number) - logNorm;
    }
    this.mixture = { size: m, dims: d, centers, invSigmas, logCoefficients };

    this.categoricalLogProbs = this.categoricalDims.map((k) => {
      const choices = shape.choiceCounts[k] as number;
      const table = new Float64Array(m * choices);
      const smoothing = options.priorWeight / m;
      for (let j = 0; j < m; j++) {
        if (j === n) {
          table.fill(-Math.log(choices), j * choices, (j + 1) * choices);
          continue;
        }
        const observed = Math.min(choices - 1, Math.floor(((observations[j] as ArrayLike<number>)[k] as number) * choices));
        const total = 1 + smoothing * choices;
        for (let c = 0; c < choices; c++) table[j * choices + c] = Math.log(((c === observed ? 1 : 0) + smoothing) / total);
      }
      return table;
    });
  }

  get components(): number {
    return this.mixture.size;
  }

  /** `count` points drawn from the estimator, row-major count x dimension. */
  sample(random: SeededRandom, count: number): Float64Array {
    const D = this.shape.dimension;
    const d = this.numericDims.length;
    const out = new Float64Array(count * D);
    for (let i = 0; i < count; i++) {
      const j = this.pickComponent(random.float());
      for (let a = 0; a < d; a++) {
        const mu = this.mixture.centers[j * d + a] as number;
        const sigma = 1 / (this.mixture.invSigmas[j * d + a] as number);
        out[i * D + (this.numericDims[a] as number)] = sampleTruncatedNormal(random, mu, sigma);
      }
      this.categoricalDims.forEach((k, c) => {
        const choices = this.shape.choiceCounts[k] as number;
        const table = this.categoricalLogProbs[c] as Float64Array;
        let u = random.float();
        let chosen = choices - 1;
        for (let x = 0; x < choices; x++) {
          u -= Math.exp(table[j * choices + x] as number);
          if (u < 0) {
            chosen = x;
            break;
          }
        }
        out[i * D + k] = (chosen + 0.5) / choices;
      });
    }
    return out;
  }

  /** Log density at `count` points (row-major count x dimension), through `evaluate`. */
  logDensity(points: Float64Array, count: number, evaluate: KdeEvaluator): Float64Array {
    const D = this.shape.dimension;
    const d = this.numericDims.length;
    const m = this.mixture.size;
    let numeric = points;
    if (d !== D) {
      numeric = new Float64Array(count * d);
      for (let i = 0; i < count; i++) for (let a = 0; a < d; a++) numeric[i * d + a] = points[i * D + (this.numericDims[a] as number)] as number;
    }
    let extra: Float64Array | undefined;
    if (this.categoricalDims.length > 0) {
      const sums = new Float64Array(count * m);
      extra = sums;
      this.categoricalDims.forEach((k, c) => {
        const choices = this.shape.choiceCounts[k] as number;
        const table = this.categoricalLogProbs[c] as Float64Array;
        for (let i = 0; i < count; i++) {
          const x = Math.min(choices - 1, Math.floor((points[i * D + k] as number) * choices));
          for (let j = 0; j < m; j++) sums[i * m + j] = (sums[i * m + j] as number) + (table[j * choices + x] as number);
        }
      });
    }
    if (d === 0) {
      // Only categorical dimensions: the mixture's weights alone, plus the tables.
      const zeroDim: GaussianMixture = { ...this.mixture, dims: 0, logCoefficients: this.componentLogWeights };
      return evaluate(zeroDim, { points: numeric, count, extra });
    }
    return evaluate(this.mixture, { points: numeric, count, extra });
  }

  /** The Gaussian part, for the gpu.js comparison tests and the bench. */
  gaussianMixture(): GaussianMixture {
    return this.mixture;
  }

  private pickComponent(u: number): number {
    // Binary search on the cumulative weights.
    let lo = 0;
    let hi = this.cumulativeWeights.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (u < (this.cumulativeWeights[mid] as number)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** N(mu, sigma^2) conditioned on [0, 1], by rejection (acceptance >= 1/3 for mu in [0,1], sigma <= 1). */
export function sampleTruncatedNormal(random: SeededRandom, mu: number, sigma: number): number {
  for (let attempt = 0; attempt < 64; attempt++) {
    const x = mu + sigma * random.normal();
    if (x >= 0 && x <= 1) return x;
  }
  return Math.min(1, Math.max(0, mu));
}

function minimumSigma(n: number): number {
  return 1 / Math.min(100, n + 2);
}

function scottBandwidths(n: number, d: number): Float64Array {
  const sigma = Math.min(1, Math.max(minimumSigma(n), 0.2 * Math.pow(Math.max(n, 1), -1 / (d + 4))));
  return new Float64Array(n * d).fill(sigma);
}

/** n x d widths (centers is row-major, at least n x d): per dimension, the larger gap to the sorted neighbours. */
function neighbourBandwidths(centers: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n * d);
  const floor = minimumSigma(n);
  const column = new Float64Array(n);
  const order = new Uint32Array(n);
  for (let a = 0; a < d; a++) {
    for (let i = 0; i < n; i++) {
      column[i] = centers[i * d + a] as number;
      order[i] = i;
    }
    order.sort((x, y) => (column[x] as number) - (column[y] as number) || x - y);
    for (let r = 0; r < n; r++) {
      const here = column[order[r] as number] as number;
      const left = r > 0 ? here - (column[order[r - 1] as number] as number) : here;
      const right = r < n - 1 ? (column[order[r + 1] as number] as number) - here : 1 - here;
      let sigma: number;
      if (n >= 2 && r === 0) sigma = right; // the outermost kernels ignore the cube's end
      else if (n >= 2 && r === n - 1) sigma = left;
      else sigma = Math.max(left, right);
      out[(order[r] as number) * d + a] = Math.min(1, Math.max(floor, sigma));
    }
  }
  return out;
}
