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
 * never become spikes, and on a grid dimension (INT, stepped FLOAT) to at least one grid step;
 * there candidates are drawn onto the grid, so they are scored where they will be evaluated.
 */
import { BOUND_SLACK, type GaussianMixture, type KdeEvaluator, type KdeQuery, LOG_SQRT_2PI, logUnitMass, mixtureLogDensityLowerBoundTs, mixtureLogDensityTs } from './kde.ts';
import type { SeededRandom } from './random.ts';
import { exp, log, pow } from './portableMath.ts';

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
  /**
   * Per dimension: the unit-cube coordinates of its grid values when it is a discrete numeric
   * one (INT, FLOAT with a step; SearchSpace.levelPositions), else null. Absent: all continuous.
   */
  readonly levelPositions?: readonly (Float64Array | null)[];
}

/**
 * Recency weights for n observations in chronological order: the most recent 25 weigh 1, older
 * ones ramp linearly from 1/n up to 1, so the model of the bad region follows the search.
 */
export function recencyWeights(n: number): Float64Array {
  const flat = 25;
  const out = new Float64Array(n).fill(1);
  if (n <= flat) return out;
  const ramp = n - flat;
  // The same expression per weight as before (bit for bit), without a closure per element.
  for (let i = 0; i < ramp; i++) out[i] = ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1);
  return out;
}

export class ParzenEstimator {
  private readonly numericDims: number[];
  private readonly categoricalDims: number[];
  private readonly mixture: GaussianMixture;
  private readonly componentLogWeights: Float64Array;
  private readonly cumulativeWeights: Float64Array;
  /** Per categorical dim: components x choices log probabilities. */
  private readonly categoricalLogProbs: Float64Array[];
  /** Per numeric dim: its grid (SpaceShape.levelPositions), or null when continuous. */
  private readonly grids: (Float64Array | null)[];

  constructor(
    private readonly shape: SpaceShape,
    observations: readonly ArrayLike<number>[],
    options: ParzenOptions,
    /** Relative weight of each observation; default all 1. */
    observationWeights?: ArrayLike<number>,
    /**
     * Kernel state kept from the previous fit of the same group (see KernelCache): only the
     * kernels whose neighbours changed are recomputed. The result is identical with or without.
     */
    cache: KernelCache = new KernelCache(),
  ) {
    this.numericDims = [];
    this.categoricalDims = [];
    shape.choiceCounts.forEach((c, k) => (c > 0 ? this.categoricalDims : this.numericDims).push(k));
    const n = observations.length;
    const m = n + 1; // the prior is the last component
    const d = this.numericDims.length;

    let weightSum = 0;
    for (let j = 0; j < n; j++) weightSum += observationWeights?.[j] ?? 1;
    weightSum += options.priorWeight;
    this.componentLogWeights = new Float64Array(m);
    this.cumulativeWeights = new Float64Array(m);
    let cumulative = 0;
    for (let j = 0; j < m; j++) {
      const w = (j < n ? (observationWeights?.[j] ?? 1) : options.priorWeight) / weightSum;
      this.componentLogWeights[j] = log(w);
      cumulative += w;
      this.cumulativeWeights[j] = cumulative;
    }

    // Dense copies (plus the prior's row, centre 0.5 and sigma 1): every later loop is flat.
    // A discrete dimension's kernels are at least one grid step wide: narrower ones, on the ties
    // that grid values make, could never propose a neighbouring value.
    this.grids = this.numericDims.map((k) => shape.levelPositions?.[k] ?? null);
    const floors = this.grids.some((g) => g !== null) ? Float64Array.from(this.grids, (g) => (g ? 1 / g.length : 0)) : undefined;
    const kernels = cache.fit(observations, this.numericDims, options.bandwidth, floors);
    const { centers, invSigmas, logCoefficients } = cache.mixtureBuffers(m, d);
    cache.writeRows(kernels.order, centers, invSigmas);
    for (let j = 0; j < n; j++) logCoefficients[j] = (this.componentLogWeights[j] as number) - (kernels.logNorms[kernels.order[j] as number] as number);
    centers.fill(0.5, n * d, m * d);
    invSigmas.fill(1, n * d, m * d);
    let priorLogNorm = 0;
    for (let a = 0; a < d; a++) priorLogNorm += log(1) + LOG_SQRT_2PI + logUnitMass(0.5, 1);
    logCoefficients[n] = (this.componentLogWeights[n] as number) - priorLogNorm;
    this.mixture = { size: m, dims: d, centers, invSigmas, logCoefficients };

    // Each row holds one of two values (observed choice or not) per m: two logs, not m x choices.
    const smoothing = options.priorWeight / m;
    this.categoricalLogProbs = this.categoricalDims.map((k) => {
      const choices = shape.choiceCounts[k] as number;
      const table = new Float64Array(m * choices);
      const total = 1 + smoothing * choices;
      const hit = log((1 + smoothing) / total);
      const miss = log((0 + smoothing) / total);
      for (let j = 0; j < n; j++) {
        const observed = Math.min(choices - 1, Math.floor(((observations[j] as ArrayLike<number>)[k] as number) * choices));
        table.fill(miss, j * choices, (j + 1) * choices);
        // A NaN coordinate matches no choice (as a comparison with it never holds).
        if (observed >= 0 && observed < choices) table[j * choices + observed] = hit;
      }
      table.fill(-log(choices), n * choices, m * choices);
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
        const x = sampleTruncatedNormal(random, mu, sigma);
        const grid = this.grids[a];
        // Rounded inside the model: the candidate is scored at the grid value it will be evaluated at.
        out[i * D + (this.numericDims[a] as number)] = grid ? nearestOnGrid(grid, x) : x;
      }
      this.categoricalDims.forEach((k, c) => {
        const choices = this.shape.choiceCounts[k] as number;
        const table = this.categoricalLogProbs[c] as Float64Array;
        let u = random.float();
        let chosen = choices - 1;
        for (let x = 0; x < choices; x++) {
          u -= exp(table[j * choices + x] as number);
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
    const { mixture, query } = this.prepare(points, count);
    return evaluate(mixture, query);
  }

  /**
   * The mixture and the query that evaluate the log density at `count` points (row-major count
   * x dimension): the numeric coordinates, and the categorical tables as additive log terms.
   */
  prepare(points: Float64Array, count: number): { mixture: GaussianMixture; query: KdeQuery } {
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
    // Only categorical dimensions: the mixture's weights alone, plus the tables.
    const mixture: GaussianMixture = d === 0 ? { ...this.mixture, dims: 0, logCoefficients: this.componentLogWeights } : this.mixture;
    return { mixture, query: { points: numeric, count, extra } };
  }

  /**
   * For each of `count` points, the largest log term over the given components (indices into
   * the mixture, the prior being the last), in `max`, and in `lower` a lower bound of the log
   * density: the log-sum-exp of those terms within BOUND_SLACK of the largest, less a margin
   * of 1e-9 (relative, at least absolute) for rounding. The largest term is a lower bound too,
   * bit for bit: the density's log-sum-exp adds log(sum) >= 0 to the largest term over all
   * components, and each term here is computed by the same expressions in the same order as in
   * mixtureLogDensityTs (and the categorical terms as in prepare).
   */
  subsetBounds(points: Float64Array, count: number, components: Int32Array): { max: Float64Array; lower: Float64Array } {
    const D = this.shape.dimension;
    const d = this.numericDims.length;
    const { centers, invSigmas } = this.mixture;
    const logCoefficients = d === 0 ? this.componentLogWeights : this.mixture.logCoefficients;
    const cats = this.categoricalDims.length;
    const numericDims = this.numericDims;
    const maxOut = new Float64Array(count);
    const lowerOut = new Float64Array(count);
    const kept = new Float64Array(components.length);
    for (let i = 0; i < count; i++) {
      const row = i * D;
      let max = -Infinity;
      let nKept = 0;
      for (let s = 0; s < components.length; s++) {
        const j = components[s] as number;
        const c = j * d;
        let ex = 0;
        for (let k = 0; k < cats; k++) {
          const dim = this.categoricalDims[k] as number;
          const choices = this.shape.choiceCounts[dim] as number;
          const x = Math.min(choices - 1, Math.floor((points[row + dim] as number) * choices));
          ex += (this.categoricalLogProbs[k] as Float64Array)[j * choices + x] as number;
        }
        const lc = logCoefficients[j] as number;
        // Dropped once certainly more than BOUND_SLACK below the running maximum (half a unit of slack for rounding).
        const qCut = 2 * (lc + ex - max + BOUND_SLACK) + 1;
        let q = 0;
        let a = 0;
        for (; a < d; a++) {
          const z = ((points[row + (numericDims[a] as number)] as number) - (centers[c + a] as number)) * (invSigmas[c + a] as number);
          q += z * z;
          if (q > qCut) break;
        }
        if (a < d) continue;
        let t = lc - 0.5 * q;
        if (cats > 0) t += ex;
        if (t > max) max = t;
        if (t >= max - BOUND_SLACK) kept[nKept++] = t;
      }
      maxOut[i] = max;
      let sum = 0;
      for (let r = 0; r < nKept; r++) if ((kept[r] as number) >= max - BOUND_SLACK) sum += exp((kept[r] as number) - max);
      const bound = sum > 0 ? max + log(sum) : max;
      lowerOut[i] = Math.max(max, bound - 1e-9 * Math.max(1, Math.abs(bound)));
    }
    return { max: maxOut, lower: lowerOut };
  }

  /** A lower bound of the log density at row `index` of `points`, given `floor`, the largest of some of its terms (see mixtureLogDensityLowerBoundTs). */
  logDensityLowerBoundAt(points: Float64Array, index: number, floor: number, prepared = this.prepareAt(points, index)): number {
    return mixtureLogDensityLowerBoundTs(prepared.mixture, prepared.query, Float64Array.of(floor))[0] as number;
  }

  /** The log density at row `index` of `points`: bit for bit logDensity(points, ...)[index] with the TypeScript evaluator. */
  logDensityAt(points: Float64Array, index: number, prepared = this.prepareAt(points, index)): number {
    return mixtureLogDensityTs(prepared.mixture, prepared.query)[0] as number;
  }

  /** prepare() of row `index` alone: what the two methods above evaluate (computed once when both are needed). */
  prepareAt(points: Float64Array, index: number): { mixture: GaussianMixture; query: KdeQuery } {
    const D = this.shape.dimension;
    return this.prepare(points.subarray(index * D, (index + 1) * D), 1);
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

/** The grid value nearest x (grid ascending). */
function nearestOnGrid(grid: Float64Array, x: number): number {
  let lo = 0;
  let hi = grid.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((grid[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && x - (grid[lo - 1] as number) <= (grid[lo] as number) - x) lo--;
  return grid[lo] as number;
}

/** N(mu, sigma^2) conditioned on [0, 1], by rejection (acceptance >= 1/3 for mu in [0,1], sigma <= 1). */
export function sampleTruncatedNormal(random: SeededRandom, mu: number, sigma: number): number {
  for (let attempt = 0; attempt < 64; attempt++) {
    const x = mu + sigma * random.normal();
    if (x >= 0 && x <= 1) return x;
  }
  return Math.min(1, Math.max(0, mu));
}

/** The neighbour bandwidth of the kernel at position r of a sorted column of n values. */
function neighbourSigma(values: Float64Array, r: number, n: number, floor: number): number {
  const here = values[r] as number;
  const left = r > 0 ? here - (values[r - 1] as number) : here;
  const right = r < n - 1 ? (values[r + 1] as number) - here : 1 - here;
  let sigma: number;
  if (n >= 2 && r === 0) sigma = right; // the outermost kernels ignore the cube's end
  else if (n >= 2 && r === n - 1) sigma = left;
  else sigma = Math.max(left, right);
  return Math.min(1, Math.max(floor, sigma));
}

/** The first position whose value is not below v (values sorted, NaN-free up to length). */
function lowerBound(values: Float64Array, length: number, v: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((values[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function minimumSigma(n: number): number {
  return 1 / Math.min(100, n + 2);
}

function scottBandwidth(n: number, d: number): number {
  return Math.min(1, Math.max(minimumSigma(n), 0.2 * pow(Math.max(n, 1), -1 / (d + 4))));
}

/** Kernels of one group, as fitted by KernelCache.fit; rows are indexed by slot. */
export interface FittedKernels {
  /** Chronological position j -> slot. */
  readonly order: Int32Array;
  /** slot x d. */
  readonly centers: Float64Array;
  readonly invSigmas: Float64Array;
  /** Per slot: the log normaliser of the truncated product kernel, summed over dimensions in order. */
  readonly logNorms: Float64Array;
}

/**
 * The numeric kernels (centres, bandwidths, truncation normalisers) of one group of
 * observations, kept between fits. Between two asks a group changes by a point or two (a
 * tell, an eviction, a pending point), and a neighbour bandwidth depends only on the adjacent
 * values in each dimension, so a refit moves the departed and the added points out of and into
 * each sorted column (binary search, copyWithin) and recomputes the bandwidth only of the
 * kernels next to a change, and log(sigma) and the erfc-based normaliser only where a bandwidth
 * changed: O(changes x d x log n) per fit instead of O(n x d). (A column with equal values is
 * checked and recomputed in full, as is every column when the bandwidth floor moves, i.e. below
 * 98 points.) Every number is computed by the same expressions in the same order as a fit from
 * scratch, so the result is bit-for-bit the same.
 *
 * Observations are recognised by identity: an array passed in must never be changed in place
 * afterwards (the study's point arrays never are); a changed point is a new array. A repeated
 * object or a non-finite coordinate falls back to a full rebuild.
 */
export class KernelCache {
  private d = -1;
  private dimsKey = '';
  private mode: ParzenOptions['bandwidth'] | null = null;
  private capacity = 0;
  private centers = new Float64Array(0);
  private sigmas = new Float64Array(0);
  private invSigmas = new Float64Array(0);
  /** slot x d: log(sigma) + log sqrt(2 pi) + log mass on [0, 1], the summands of logNorms. */
  private terms = new Float64Array(0);
  private logNorms = new Float64Array(0);
  /** Per slot: position in the current group (the sort's tie-break). */
  private chrono = new Int32Array(0);
  /** Per slot: the fit that last used it, or that last changed its normaliser. */
  private seen = new Int32Array(0);
  private dirty = new Int32Array(0);
  private keys: Array<object | null> = [];
  private readonly slotOf = new Map<object, number>();
  private free: number[] = [];
  private order = new Int32Array(0);
  private n = 0;
  /** Per dimension: the slots of the group sorted by (value, chrono)... */
  private columns: Int32Array[] = [];
  /** ...their values, in the same order (contiguous, unlike the slot-major centres)... */
  private columnValues: Float64Array[] = [];
  private columnLength: number[] = [];
  /** Per dimension: whether the column may hold equal values (or NaN), which needs a full check. */
  private irregular: boolean[] = [];
  /** The bandwidth floor of the last fit (it depends on the group's size up to 98). */
  private floor = NaN;
  private generation = 0;
  private out: { centers: Float64Array; invSigmas: Float64Array; logCoefficients: Float64Array } | null = null;
  /** Per row of `out`: the slot whose kernel it holds (-1: none, or the prior). */
  private rowSlots = new Int32Array(0);

  /**
   * Mixture buffers of at least m x d, reused from fit to fit (a ParzenEstimator built with
   * this cache is only valid until the next estimator built with it).
   */
  mixtureBuffers(m: number, d: number): { centers: Float64Array; invSigmas: Float64Array; logCoefficients: Float64Array } {
    if (!this.out || this.out.logCoefficients.length < m || this.out.centers.length < m * d) {
      const rows = Math.max(m, Math.ceil(m * 1.25));
      this.out = { centers: new Float64Array(rows * d), invSigmas: new Float64Array(rows * d), logCoefficients: new Float64Array(rows) };
      this.rowSlots = new Int32Array(rows).fill(-1);
    }
    const o = this.out;
    return { centers: o.centers.subarray(0, m * d), invSigmas: o.invSigmas.subarray(0, m * d), logCoefficients: o.logCoefficients.subarray(0, m) };
  }

  /**
   * Writes the fitted kernels into rows 0..n-1 of the mixture buffers, in chronological order,
   * rewriting only the rows whose slot or bandwidths changed since the last write (after a tell
   * the rows before the change keep their kernels). Call right after `fit`, with its order.
   */
  writeRows(order: Int32Array, centers: Float64Array, invSigmas: Float64Array): void {
    const d = this.d;
    const gen = this.generation;
    const rowSlots = this.rowSlots;
    for (let j = 0; j < order.length; j++) {
      const slot = order[j] as number;
      if (rowSlots[j] === slot && this.dirty[slot] !== gen) continue;
      rowSlots[j] = slot;
      const src = slot * d;
      const dst = j * d;
      for (let a = 0; a < d; a++) {
        centers[dst + a] = this.centers[src + a] as number;
        invSigmas[dst + a] = this.invSigmas[src + a] as number;
      }
    }
    if (order.length < rowSlots.length) rowSlots[order.length] = -1; // the prior's row
  }

  /** `floors`: per numeric dimension, the smallest bandwidth (a discrete one's grid step); absent: none. */
  fit(observations: readonly ArrayLike<number>[], numericDims: readonly number[], mode: ParzenOptions['bandwidth'], floors?: Float64Array): FittedKernels {
    const d = numericDims.length;
    const dimsKey = numericDims.join(',') + (floors ? `|${Array.from(floors).join(',')}` : '');
    if (d !== this.d || dimsKey !== this.dimsKey || mode !== this.mode) this.reset(d, dimsKey, mode);
    const n = observations.length;
    const previous = this.order.subarray(0, this.n);
    this.ensureCapacity(this.n + n);
    const gen = ++this.generation;
    const order = new Int32Array(n);
    const added: number[] = [];
    let nonFinite = false;
    for (let j = 0; j < n; j++) {
      const o = observations[j] as ArrayLike<number>;
      let slot = this.slotOf.get(o);
      if (slot === undefined || this.seen[slot] === gen) {
        const repeated = slot !== undefined && this.seen[slot] === gen;
        slot = this.allocate(repeated ? null : o);
        for (let a = 0; a < d; a++) {
          const v = o[numericDims[a] as number] as number;
          this.centers[slot * d + a] = v;
          if (!Number.isFinite(v)) nonFinite = true;
        }
        this.sigmas.fill(NaN, slot * d, slot * d + d); // forces the normaliser below
        added.push(slot);
      }
      this.seen[slot] = gen;
      this.chrono[slot] = j;
      order[j] = slot;
    }
    const departed: number[] = [];
    for (let r = 0; r < previous.length; r++) {
      const slot = previous[r] as number;
      if (this.seen[slot] !== gen) {
        this.release(slot);
        departed.push(slot);
      }
    }
    const full = nonFinite || this.n === 0 || added.length * 8 > n;
    this.order = order;
    this.n = n;

    if (mode === 'scott') {
      const sigma = scottBandwidth(n, d);
      for (let j = 0; j < n; j++) {
        const slot = order[j] as number;
        for (let a = 0; a < d; a++) this.setSigma(slot, a, floors ? Math.min(1, Math.max(sigma, floors[a] as number)) : sigma, gen);
      }
    } else {
      const floor = minimumSigma(n);
      const recomputeAll = full || floor !== this.floor;
      this.floor = floor;
      for (let a = 0; a < d; a++) {
        let affected: number[] | null = null;
        if (full) this.sortColumn(a);
        else affected = this.updateColumn(a, departed, added);
        const column = this.columns[a] as Int32Array;
        const values = this.columnValues[a] as Float64Array;
        const dimFloor = floors ? Math.max(floor, floors[a] as number) : floor;
        if (recomputeAll || affected === null) {
          for (let r = 0; r < n; r++) this.setSigma(column[r] as number, a, neighbourSigma(values, r, n, dimFloor), gen);
          continue;
        }
        // Only the kernels next to a change: find each by its value (the column has no ties).
        for (const slot of affected) {
          if (this.seen[slot] !== gen) continue; // departed after all
          const r = lowerBound(values, n, this.centers[slot * d + a] as number);
          if (column[r] !== slot) throw new Error(`KernelCache: slot ${slot} is not where its value says in dimension ${a}`);
          this.setSigma(slot, a, neighbourSigma(values, r, n, dimFloor), gen);
        }
      }
    }
    for (let j = 0; j < n; j++) {
      const slot = order[j] as number;
      if (this.dirty[slot] !== gen) continue;
      let logNorm = 0;
      for (let a = 0; a < d; a++) logNorm += this.terms[slot * d + a] as number;
      this.logNorms[slot] = logNorm;
    }
    return { order, centers: this.centers, invSigmas: this.invSigmas, logNorms: this.logNorms };
  }

  private setSigma(slot: number, a: number, sigma: number, gen: number): void {
    const at = slot * this.d + a;
    if (sigma === this.sigmas[at]) return;
    this.sigmas[at] = sigma;
    this.invSigmas[at] = 1 / sigma;
    this.terms[at] = log(sigma) + LOG_SQRT_2PI + logUnitMass(this.centers[at] as number, sigma);
    this.dirty[slot] = gen;
  }

  /** A column sorted from scratch, in the order of a fit without cache: (value, chrono). */
  private sortColumn(a: number): void {
    const d = this.d;
    const column = this.columnBuffer(a);
    for (let j = 0; j < this.n; j++) column[j] = this.order[j] as number;
    this.columnLength[a] = this.n;
    const sorted = column.subarray(0, this.n);
    sorted.sort((x, y) => (this.centers[x * d + a] as number) - (this.centers[y * d + a] as number) || (this.chrono[x] as number) - (this.chrono[y] as number));
    const values = this.columnValues[a] as Float64Array;
    let irregular = false;
    for (let r = 0; r < this.n; r++) {
      const v = this.centers[(sorted[r] as number) * d + a] as number;
      values[r] = v;
      if (v !== v || (r > 0 && v === values[r - 1])) irregular = true;
    }
    this.irregular[a] = irregular;
  }

  /**
   * The previous column without the departed slots and with the added ones, each found by
   * binary search and moved in with copyWithin. Returns the slots whose neighbours changed, or
   * null when the whole column needs its bandwidths recomputed: a column with equal values (or
   * NaN) is checked in full, since pending points move behind later results and equal values
   * may need their order fixed, which a full sort does.
   */
  private updateColumn(a: number, departed: readonly number[], added: readonly number[]): number[] | null {
    const d = this.d;
    const column = this.columnBuffer(a);
    const values = this.columnValues[a] as Float64Array;
    const chrono = this.chrono;
    let length = this.columnLength[a] as number;
    const affected: number[] = [];
    let irregular = this.irregular[a] as boolean;
    for (const slot of departed) {
      const v = this.centers[slot * d + a] as number;
      let r = lowerBound(values, length, v);
      while (r < length && column[r] !== slot) r++;
      if (r === length) {
        // Not where its value says (NaN): rebuild the column.
        this.sortColumn(a);
        return null;
      }
      column.copyWithin(r, r + 1, length);
      values.copyWithin(r, r + 1, length);
      length--;
      if (r > 0) affected.push(column[r - 1] as number);
      if (r < length) affected.push(column[r] as number);
    }
    for (const slot of added) {
      const v = this.centers[slot * d + a] as number;
      const c = chrono[slot] as number;
      let lo = 0;
      let hi = length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const w = values[mid] as number;
        if (w - v < 0 || (w - v === 0 && (chrono[column[mid] as number] as number) - c < 0)) lo = mid + 1;
        else hi = mid;
      }
      column.copyWithin(lo + 1, lo, length);
      values.copyWithin(lo + 1, lo, length);
      column[lo] = slot;
      values[lo] = v;
      length++;
      affected.push(slot);
      if (lo > 0) {
        affected.push(column[lo - 1] as number);
        if (values[lo - 1] === v) irregular = true;
      }
      if (lo + 1 < length) {
        affected.push(column[lo + 1] as number);
        if (values[lo + 1] === v) irregular = true;
      }
      if (v !== v) irregular = true;
    }
    this.columnLength[a] = length;
    if (!irregular) {
      this.irregular[a] = false;
      return affected;
    }
    // Equal values: check the whole order (and forget the flag once they are gone).
    let ties = false;
    for (let r = 1; r < length; r++) {
      const diff = (values[r - 1] as number) - (values[r] as number);
      if (diff < 0) continue;
      if (diff === 0 && (chrono[column[r - 1] as number] as number) < (chrono[column[r] as number] as number)) {
        ties = true;
        continue;
      }
      this.sortColumn(a);
      return null;
    }
    this.irregular[a] = ties;
    return null;
  }

  private columnBuffer(a: number): Int32Array {
    let column = this.columns[a] as Int32Array;
    if (column.length < this.capacity) {
      const grown = new Int32Array(this.capacity);
      grown.set(column);
      this.columns[a] = column = grown;
      const values = new Float64Array(this.capacity);
      values.set(this.columnValues[a] as Float64Array);
      this.columnValues[a] = values;
    }
    return column;
  }

  private reset(d: number, dimsKey: string, mode: ParzenOptions['bandwidth']): void {
    this.d = d;
    this.dimsKey = dimsKey;
    this.mode = mode;
    this.capacity = 0;
    this.centers = new Float64Array(0);
    this.sigmas = new Float64Array(0);
    this.invSigmas = new Float64Array(0);
    this.terms = new Float64Array(0);
    this.logNorms = new Float64Array(0);
    this.chrono = new Int32Array(0);
    this.seen = new Int32Array(0);
    this.dirty = new Int32Array(0);
    this.keys = [];
    this.slotOf.clear();
    this.free = [];
    this.order = new Int32Array(0);
    this.n = 0;
    this.columns = Array.from({ length: d }, () => new Int32Array(0));
    this.columnValues = Array.from({ length: d }, () => new Float64Array(0));
    this.columnLength = new Array<number>(d).fill(0);
    this.irregular = new Array<boolean>(d).fill(false);
    this.floor = NaN;
    this.out = null;
    this.rowSlots = new Int32Array(0);
  }

  private ensureCapacity(slots: number): void {
    if (slots <= this.capacity) return;
    const capacity = Math.max(16, slots, Math.ceil(this.capacity * 1.5));
    const d = this.d;
    const grow = <T extends Float64Array | Int32Array>(old: T, size: number, make: (size: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    const f64 = (size: number) => new Float64Array(size);
    const i32 = (size: number) => new Int32Array(size);
    this.centers = grow(this.centers, capacity * d, f64);
    this.sigmas = grow(this.sigmas, capacity * d, f64);
    this.invSigmas = grow(this.invSigmas, capacity * d, f64);
    this.terms = grow(this.terms, capacity * d, f64);
    this.logNorms = grow(this.logNorms, capacity, f64);
    this.chrono = grow(this.chrono, capacity, i32);
    this.seen = grow(this.seen, capacity, i32);
    this.dirty = grow(this.dirty, capacity, i32);
    for (let slot = this.capacity; slot < capacity; slot++) {
      this.free.push(capacity - 1 - (slot - this.capacity));
      this.keys.push(null);
    }
    this.capacity = capacity;
  }

  private allocate(key: object | null): number {
    const slot = this.free.pop() as number;
    this.keys[slot] = key;
    if (key) this.slotOf.set(key, slot);
    this.seen[slot] = 0;
    this.dirty[slot] = this.generation; // its normaliser is computed in this fit

    return slot;
  }

  private release(slot: number): void {
    const key = this.keys[slot];
    if (key && this.slotOf.get(key) === slot) this.slotOf.delete(key);
    this.keys[slot] = null;
    this.free.push(slot);
  }
}
