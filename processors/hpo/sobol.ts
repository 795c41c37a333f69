/**
 * Scrambled Sobol' sequence, any point computable from its index (so a probe can be split
 * across workers: worker k of n takes indices k, k + n, k + 2n, ...).
 *
 * Direction numbers, by a documented construction instead of a copied table:
 * - dimension 1 is van der Corput (all initial values 1);
 * - dimension j >= 2 uses the (j-1)-th primitive polynomial over GF(2), enumerated by degree
 *   and then by value, each tested for primitivity (x has order 2^s - 1 modulo it);
 * - initial values m_1..m_s: for dimensions 2–13 the Joe–Kuo (2008) values, typed below as
 *   data; beyond that odd integers m_k < 2^k drawn from a fixed-seed generator
 *   (Bratley & Fox's random initialisation). Every odd m_k < 2^k gives a valid (t, s)-sequence;
 *   Joe–Kuo's search only improves the two-dimensional projections of the first dimensions.
 *
 * Scrambling, from the study's seed: a random linear matrix scramble (Matoušek) applied to the
 * direction numbers, then a random digital shift. Both keep the net structure of the sequence
 * and make every point uniform on [0,1)^d.
 */
import { SeededRandom } from './random.ts';

const BITS = 32;
/** Highest dimension supported (primitive polynomials up to degree 13 are enough). */
export const SOBOL_MAX_DIMENSION = 1024;

/** Joe–Kuo initial direction numbers for dimensions 2..13 (index 0 = dimension 2). */
const JOE_KUO_INITIAL: readonly (readonly number[])[] = [
  [1],
  [1, 3],
  [1, 3, 1],
  [1, 1, 1],
  [1, 1, 3, 3],
  [1, 3, 5, 13],
  [1, 1, 5, 5, 17],
  [1, 1, 5, 5, 5],
  [1, 1, 7, 11, 19],
  [1, 1, 5, 1, 1],
  [1, 1, 1, 3, 11],
  [1, 3, 5, 5, 31],
];

function polyMulMod(a: number, b: number, mod: number, degree: number): number {
  let result = 0;
  while (b) {
    if (b & 1) result ^= a;
    b >>>= 1;
    a <<= 1;
    if (a & (1 << degree)) a ^= mod;
  }
  return result;
}

function polyPowMod(base: number, exponent: number, mod: number, degree: number): number {
  let result = 1;
  let b = base;
  let e = exponent;
  while (e > 0) {
    if (e % 2 === 1) result = polyMulMod(result, b, mod, degree);
    b = polyMulMod(b, b, mod, degree);
    e = Math.floor(e / 2);
  }
  return result;
}

function primeFactors(n: number): number[] {
  const factors: number[] = [];
  for (let p = 2; p * p <= n; p++) {
    if (n % p === 0) {
      factors.push(p);
      while (n % p === 0) n /= p;
    }
  }
  if (n > 1) factors.push(n);
  return factors;
}

/** True when the polynomial (bit i = coefficient of x^i) of the given degree is primitive over GF(2). */
export function isPrimitivePolynomial(poly: number, degree: number): boolean {
  if ((poly & 1) === 0 || (poly >>> degree) !== 1) return false;
  const order = 2 ** degree - 1;
  const x = degree === 1 ? 0 : 2; // x mod (x + 1) is 1
  const reduce = (v: number) => (degree === 1 ? (v & 1) ^ ((v >>> 1) & 1) : v);
  if (degree === 1) return poly === 0b11;
  if (polyPowMod(x, order, poly, degree) !== 1) return false;
  return primeFactors(order).every((q) => reduce(polyPowMod(x, order / q, poly, degree)) !== 1);
}

interface DimensionTable {
  readonly directions: Uint32Array; // BITS direction numbers, MSB-aligned
}

/** Immutable, derived once: the unscrambled direction numbers of each dimension. */
const tables: DimensionTable[] = [];
const polynomials: Array<{ poly: number; degree: number }> = [];
let nextPolyCandidate = { degree: 1, poly: 0b11 };
const initialValueRandom = new SeededRandom(0x5eed50b0, 'sobol-initial-direction-numbers');

function nextPrimitivePolynomial(): { poly: number; degree: number } {
  for (;;) {
    const { degree, poly } = nextPolyCandidate;
    nextPolyCandidate = poly + 2 < 1 << (degree + 1) ? { degree, poly: poly + 2 } : { degree: degree + 1, poly: (1 << (degree + 1)) | 1 };
    if (isPrimitivePolynomial(poly, degree)) return { poly, degree };
  }
}

function dimensionTable(dim: number): DimensionTable {
  while (tables.length <= dim) {
    const j = tables.length;
    const directions = new Uint32Array(BITS);
    if (j === 0) {
      for (let k = 0; k < BITS; k++) directions[k] = 2 ** (BITS - 1 - k);
    } else {
      const { poly, degree } = nextPrimitivePolynomial();
      polynomials.push({ poly, degree });
      const typed = JOE_KUO_INITIAL[j - 1];
      const m = new Array<number>(BITS + 1).fill(0);
      for (let k = 1; k <= degree; k++) m[k] = typed ? (typed[k - 1] as number) : 2 * initialValueRandom.int(2 ** (k - 1)) + 1;
      for (let k = degree + 1; k <= BITS; k++) {
        // m_k = m_{k-s} XOR 2^s m_{k-s} XOR sum_i 2^i a_i m_{k-i}, a_i the middle coefficients.
        let value = (m[k - degree] as number) ^ ((m[k - degree] as number) * 2 ** degree);
        for (let i = 1; i < degree; i++) {
          if ((poly >>> (degree - i)) & 1) value ^= (m[k - i] as number) * 2 ** i;
        }
        m[k] = value;
      }
      for (let k = 1; k <= BITS; k++) directions[k - 1] = ((m[k] as number) * 2 ** (BITS - k)) >>> 0;
    }
    tables.push({ directions });
  }
  return tables[dim] as DimensionTable;
}

function parity(x: number): number {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  x ^= x >>> 2;
  x ^= x >>> 1;
  return x & 1;
}

export interface SobolOptions {
  /** Seed of the scramble; the same seed gives the same points. */
  seed: number;
  /** false: the plain (unscrambled) sequence, for tests. Default true. */
  scramble?: boolean;
}

export class SobolSequence {
  readonly dimension: number;
  private readonly directions: Uint32Array; // dimension x BITS, scrambled
  private readonly shifts: Uint32Array;

  constructor(dimension: number, options: SobolOptions) {
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > SOBOL_MAX_DIMENSION) {
      throw new RangeError(`Sobol dimension must be an integer in 1..${SOBOL_MAX_DIMENSION}, got ${dimension}`);
    }
    this.dimension = dimension;
    this.directions = new Uint32Array(dimension * BITS);
    this.shifts = new Uint32Array(dimension);
    const scramble = options.scramble ?? true;
    const random = new SeededRandom(options.seed, 'sobol-scramble');
    for (let j = 0; j < dimension; j++) {
      const base = dimensionTable(j).directions;
      if (!scramble) {
        this.directions.set(base, j * BITS);
        continue;
      }
      // Lower-triangular matrix with unit diagonal: output digit r = digit r XOR a random
      // combination of the more significant digits. Row r is a mask over bit positions.
      const rows = new Uint32Array(BITS);
      for (let r = 0; r < BITS; r++) {
        const higherDigits = r === 0 ? 0 : (~0 << (BITS - r)) >>> 0; // digits 0..r-1 are the top r bits
        rows[r] = ((random.nextUint32() & higherDigits) | (2 ** (BITS - 1 - r))) >>> 0;
      }
      for (let k = 0; k < BITS; k++) {
        const v = base[k] as number;
        let scrambled = 0;
        for (let r = 0; r < BITS; r++) if (parity(v & (rows[r] as number))) scrambled |= 2 ** (BITS - 1 - r);
        this.directions[j * BITS + k] = scrambled >>> 0;
      }
      this.shifts[j] = random.nextUint32();
    }
  }

  /** Point `index` (0-based, below 2^32), in [0,1)^d. */
  point(index: number, out: Float64Array = new Float64Array(this.dimension)): Float64Array {
    if (!Number.isInteger(index) || index < 0 || index >= 2 ** BITS) throw new RangeError(`Sobol index must be an integer in [0, 2^32), got ${index}`);
    for (let j = 0; j < this.dimension; j++) {
      let x = this.shifts[j] as number;
      let rest = index;
      for (let k = 0; rest > 0; k++, rest = Math.floor(rest / 2)) {
        if (rest % 2 === 1) x ^= this.directions[j * BITS + k] as number;
      }
      out[j] = (x >>> 0) / 2 ** BITS;
    }
    return out;
  }

  /** The points a worker owns: indices worker, worker + workers, ... (count of them). */
  shard(worker: number, workers: number, count: number): Float64Array[] {
    if (!Number.isInteger(workers) || workers < 1 || !Number.isInteger(worker) || worker < 0 || worker >= workers) {
      throw new RangeError(`shard: need 0 <= worker < workers, got worker ${worker} of ${workers}`);
    }
    return Array.from({ length: count }, (_, i) => this.point(worker + i * workers));
  }
}

/** The primitive polynomials used so far, for tests and documentation. */
export function sobolPolynomials(dimension: number): ReadonlyArray<{ poly: number; degree: number }> {
  dimensionTable(dimension - 1);
  return polynomials.slice(0, dimension - 1);
}

/** The unscrambled direction numbers of dimension j (0-based), for tests. */
export function sobolDirectionNumbers(j: number): Uint32Array {
  return dimensionTable(j).directions.slice();
}
