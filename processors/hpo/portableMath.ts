/**
 * The transcendental functions of the engine, computed the same way on every JavaScript
 * runtime: only IEEE-754 double additions, multiplications and divisions (which JavaScript
 * rounds the same everywhere) and bit access to doubles. `Math.exp`, `Math.log` and
 * `Math.cos` are implementation-defined: V8 computes them with its own ports of fdlibm today,
 * may change them (it already did for `Math.pow`: Node 24 calls the C library's `pow`, whose
 * last bit depends on the machine's libc), and other engines differ. A study snapshotted on
 * one Node version must ask the same next point on another, so the engine calls these instead.
 *
 * `exp`, `log` and `cos` follow the classic fdlibm algorithms (Sun Microsystems' freely
 * distributable libm, the algorithms V8 also uses): argument reduction in two parts of ln 2 or
 * pi/2, then the same minimax polynomials. Written here from the algorithms, they give the same
 * bits as V8's Math.exp, Math.log and Math.cos of Node 20 to 24 on every input the tests
 * compare (so the golden traces recorded before them still hold); their error is below 1 ulp.
 * `pow` is exp(y log x) with its special cases (an error of a few ulps where |y log x| is
 * large, which the engine never needs). `sqrt` is correctly rounded by IEEE 754 already:
 * Math.sqrt is portable as it is.
 */

const buffer = new ArrayBuffer(8);
const asDouble = new Float64Array(buffer);
const asWords = new Int32Array(buffer);
// Which of the two words is the high one (every platform Node runs on is little-endian; checked anyway).
asDouble[0] = 1;
const HI = asWords[1] === 0x3ff00000 ? 1 : 0;
const LO = 1 - HI;

function highWord(x: number): number {
  asDouble[0] = x;
  return asWords[HI] as number;
}

function fromWords(high: number, low: number): number {
  asWords[HI] = high;
  asWords[LO] = low;
  return asDouble[0] as number;
}

/** 2^k for k in [-1022, 1023], exact. */
const POW2 = new Float64Array(2046);
for (let k = -1022; k <= 1023; k++) POW2[k + 1022] = fromWords((k + 1023) << 20, 0);
const TWO_M1000 = fromWords((1023 - 1000) << 20, 0);
const TWO_1023 = fromWords((1023 + 1023) << 20, 0);

// --- exp ---

const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.442695040888963387;
const EXP_P1 = 1.66666666666666019037e-1;
const EXP_P2 = -2.77777777770155933842e-3;
const EXP_P3 = 6.61375632143793436117e-5;
const EXP_P4 = -1.6533902205465251539e-6;
const EXP_P5 = 4.13813679705723846039e-8;
const EXP_OVERFLOW = 7.09782712893383973096e2;
const EXP_UNDERFLOW = -7.4513321910194110842e2;
/** |x| thresholds of the reduction, as doubles (the algorithm compares high words). */
const EXP_BIG = fromWords(0x40862e42, 0); // |x| >= this: may overflow or underflow
const EXP_HALF_LN2 = fromWords(0x3fd62e43, 0); // |x| >= this: reduce (|x| > 0.5 ln 2)
const EXP_TINY = fromWords(0x3e300000, 0); // 2^-28

/** e^x, correctly rounded in nearly all cases (error < 1 ulp), the same bits everywhere. */
export function exp(x: number): number {
  const ax = x < 0 ? -x : x;
  if (ax < EXP_HALF_LN2) {
    // |x| < 0.5 ln 2: no reduction (k = 0).
    if (ax < EXP_TINY) return 1 + x;
    const t = x * x;
    const c = x - t * (EXP_P1 + t * (EXP_P2 + t * (EXP_P3 + t * (EXP_P4 + t * EXP_P5))));
    return 1 - ((x * c) / (c - 2) - x);
  }
  if (ax < EXP_BIG) {
    // e itself, correctly rounded (as V8 returns it; the reduction would give one ulp more).
    if (x === 1) return Math.E;
    // x = k ln 2 + r, |r| <= 0.5 ln 2, ln 2 in two parts so that hi - lo is r to ~85 bits.
    // (fdlibm treats |x| < 1.5 ln 2 apart with k = +-1, which this gives too, bit for bit.)
    const k = (INV_LN2 * x + (x < 0 ? -0.5 : 0.5)) | 0;
    const hi = x - k * LN2_HI;
    const lo = k * LN2_LO;
    const r = hi - lo;
    const t = r * r;
    const c = r - t * (EXP_P1 + t * (EXP_P2 + t * (EXP_P3 + t * (EXP_P4 + t * EXP_P5))));
    const y = 1 - (lo - (r * c) / (2 - c) - hi);
    if (k >= -1021) return k === 1024 ? y * 2 * TWO_1023 : y * (POW2[k + 1022] as number);
    return y * (POW2[k + 1000 + 1022] as number) * TWO_M1000;
  }
  if (x !== x) return x + x; // NaN
  if (ax === Infinity) return x < 0 ? 0 : x;
  if (x > EXP_OVERFLOW) return Infinity;
  if (x < EXP_UNDERFLOW) return 0;
  // |x| within ~1 of the thresholds: the general reduction.
  const k = (INV_LN2 * x + (x < 0 ? -0.5 : 0.5)) | 0;
  const hi = x - k * LN2_HI;
  const lo = k * LN2_LO;
  const r = hi - lo;
  const t = r * r;
  const c = r - t * (EXP_P1 + t * (EXP_P2 + t * (EXP_P3 + t * (EXP_P4 + t * EXP_P5))));
  const y = 1 - (lo - (r * c) / (2 - c) - hi);
  if (k >= -1021) return k === 1024 ? y * 2 * TWO_1023 : y * (POW2[k + 1022] as number);
  return y * (POW2[k + 1000 + 1022] as number) * TWO_M1000;
}

// --- log ---

const TWO54 = 1.8014398509481984e16;
const LG1 = 6.666666666666735130e-1;
const LG2 = 3.999999999940941908e-1;
const LG3 = 2.857142874366239149e-1;
const LG4 = 2.222219843214978396e-1;
const LG5 = 1.818357216161805012e-1;
const LG6 = 1.531383769920937332e-1;
const LG7 = 1.479819860511658591e-1;

/** The natural logarithm, error < 1 ulp, the same bits everywhere. */
export function log(x: number): number {
  asDouble[0] = x;
  let hx = asWords[HI] as number;
  const lx = asWords[LO] as number;
  let k = 0;
  if (hx < 0x00100000) {
    // x < 2^-1022: zero, negative, or subnormal.
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= TWO54;
    hx = highWord(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000;
  // x (or x / 2) scaled into [sqrt(2)/2, sqrt(2)).
  asDouble[0] = x;
  asWords[HI] = hx | (i ^ 0x3ff00000);
  x = asDouble[0] as number;
  k += i >> 20;
  const f = x - 1;
  if ((0x000fffff & (2 + hx)) < 3) {
    // -2^-20 <= f < 2^-20
    if (f === 0) return k === 0 ? 0 : k * LN2_HI + k * LN2_LO;
    const R = f * f * (0.5 - 0.3333333333333333 * f);
    return k === 0 ? f - R : k * LN2_HI - (R - k * LN2_LO - f);
  }
  const s = f / (2 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const R = t2 + t1;
  if (((hx - 0x6147a) | (0x6b851 - hx)) > 0) {
    const hfsq = 0.5 * f * f;
    return k === 0 ? f - (hfsq - s * (hfsq + R)) : k * LN2_HI - (hfsq - (s * (hfsq + R) + k * LN2_LO) - f);
  }
  return k === 0 ? f - s * (f - R) : k * LN2_HI - (s * (f - R) - k * LN2_LO - f);
}

// --- cos ---

const C1 = 4.16666666666666019037e-2;
const C2 = -1.38888888888741095749e-3;
const C3 = 2.48015872894767294178e-5;
const C4 = -2.75573143513906633035e-7;
const C5 = 2.08757232129817482790e-9;
const C6 = -1.13596475577881948265e-11;
const S1 = -1.66666666666666324348e-1;
const S2 = 8.33333333332248946124e-3;
const S3 = -1.98412698298579493134e-4;
const S4 = 2.75573137070700676789e-6;
const S5 = -2.50507602534068634195e-8;
const S6 = 1.58969099521155010221e-10;
const INV_PIO2 = 6.36619772367581382433e-1;
const PIO2_1 = 1.57079632673412561417;
const PIO2_1T = 6.07710050650619224932e-11;
const PIO2_2 = 6.07710050630396597660e-11;
const PIO2_2T = 2.02226624879595063154e-21;
const PIO2_3 = 2.02226624871116645580e-21;
const PIO2_3T = 8.47842766036889956997e-32;

/** cos on [-pi/4, pi/4] of x + y (y: the tail of the reduced argument). */
function kernelCos(x: number, y: number): number {
  const ix = highWord(x) & 0x7fffffff;
  if (ix < 0x3e400000 && (x | 0) === 0) return 1; // |x| < 2^-27
  const z = x * x;
  const r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  if (ix < 0x3fd33333) return 1 - (0.5 * z - (z * r - x * y)); // |x| < 0.3
  const qx = ix > 0x3fe90000 ? 0.28125 : fromWords(ix - 0x00200000, 0);
  const hz = 0.5 * z - qx;
  const a = 1 - qx;
  return a - (hz - (z * r - x * y));
}

/** sin on [-pi/4, pi/4] of x + y. */
function kernelSin(x: number, y: number): number {
  const ix = highWord(x) & 0x7fffffff;
  if (ix < 0x3e400000 && (x | 0) === 0) return x;
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  return x - (z * (0.5 * y - v * r) - y - v * S1);
}

/** High words of n * pi / 2 for n = 1..32 (where the reduction needs no cancellation check). */
const NPIO2_HW = Int32Array.from({ length: 32 }, (_, n) => highWord((n + 1) * PIO2_1 + (n + 1) * PIO2_1T));

const reduced = new Float64Array(2);

/** x - n pi/2 as reduced[0] + reduced[1], for |x| <= 2^19 pi/2; returns n. */
function reduceMedium(x: number, ix: number, hx: number): number {
  if (ix < 0x4002d97c) {
    // |x| < 3 pi / 4: n = +-1
    const sign = hx > 0 ? 1 : -1;
    let z = x - sign * PIO2_1;
    if (ix !== 0x3ff921fb) {
      reduced[0] = z - sign * PIO2_1T;
      reduced[1] = z - (reduced[0] as number) - sign * PIO2_1T;
    } else {
      z -= sign * PIO2_2;
      reduced[0] = z - sign * PIO2_2T;
      reduced[1] = z - (reduced[0] as number) - sign * PIO2_2T;
    }
    return sign;
  }
  const t0 = x < 0 ? -x : x;
  const n = (t0 * INV_PIO2 + 0.5) | 0;
  const fn = n;
  let r = t0 - fn * PIO2_1;
  let w = fn * PIO2_1T;
  let y0: number;
  if (n < 32 && ix !== NPIO2_HW[n - 1]) {
    y0 = r - w;
  } else {
    const j = ix >> 20;
    y0 = r - w;
    let i = j - ((highWord(y0) >> 20) & 0x7ff);
    if (i > 16) {
      // A second round: cancellation took more than 16 bits.
      let t = r;
      w = fn * PIO2_2;
      r = t - w;
      w = fn * PIO2_2T - (t - r - w);
      y0 = r - w;
      i = j - ((highWord(y0) >> 20) & 0x7ff);
      if (i > 49) {
        t = r;
        w = fn * PIO2_3;
        r = t - w;
        w = fn * PIO2_3T - (t - r - w);
        y0 = r - w;
      }
    }
  }
  const y1 = r - y0 - w;
  if (hx < 0) {
    reduced[0] = -y0;
    reduced[1] = -y1;
    return -n;
  }
  reduced[0] = y0;
  reduced[1] = y1;
  return n;
}

/**
 * cos(x) for |x| <= 2^19 pi / 2 (about 823,550), the range the engine needs (Box–Muller's
 * 2 pi u); beyond it, NaN instead of a costly exact reduction.
 */
export function cos(x: number): number {
  const hx = highWord(x);
  const ix = hx & 0x7fffffff;
  if (ix <= 0x3fe921fb) return kernelCos(x, 0);
  if (ix >= 0x7ff00000 || ix > 0x413921fb) return NaN;
  const n = reduceMedium(x, ix, hx);
  const y0 = reduced[0] as number;
  const y1 = reduced[1] as number;
  switch (n & 3) {
    case 0:
      return kernelCos(y0, y1);
    case 1:
      return -kernelSin(y0, y1);
    case 2:
      return -kernelCos(y0, y1);
    default:
      return kernelSin(y0, y1);
  }
}

// --- pow ---

/**
 * x^y: exact by repeated squaring for integer |y| <= 64 (as a product, not correctly rounded,
 * but the same everywhere), else exp(y log x). Special cases as Math.pow.
 */
export function pow(x: number, y: number): number {
  if (y === 0) return 1;
  if (x !== x || y !== y) return NaN;
  if (Number.isInteger(y) && Math.abs(y) <= 64) {
    let base = y < 0 ? 1 / x : x;
    let e = y < 0 ? -y : y;
    let result = 1;
    while (e > 0) {
      if (e & 1) result *= base;
      base *= base;
      e >>= 1;
    }
    return result;
  }
  if (x === 1) return 1;
  if (x === 0) return y > 0 ? 0 : Infinity;
  if (x < 0) {
    if (!Number.isInteger(y)) return NaN;
    const magnitude = exp(y * log(-x));
    return y % 2 === 0 ? magnitude : -magnitude;
  }
  if (x === Infinity) return y > 0 ? Infinity : 0;
  return exp(y * log(x));
}

// --- the normal distribution ---

/** erfc(x), Chebyshev fit with fractional error below 1.2e-7 (Numerical Recipes, 6.2). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
