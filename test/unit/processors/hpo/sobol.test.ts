import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../../processors/hpo/random.ts';
import { isPrimitivePolynomial, SobolSequence, sobolDirectionNumbers, sobolPolynomials } from '../../../../processors/hpo/sobol.ts';

/** Squared L2-star discrepancy (Warnock's formula): lower is more uniform. */
function l2StarDiscrepancy(points: Float64Array[]): number {
  const n = points.length;
  const d = (points[0] as Float64Array).length;
  let single = 0;
  for (const p of points) single += p.reduce((acc, x) => acc * (1 - x * x), 1);
  let pairs = 0;
  for (const p of points) for (const q of points) pairs += p.reduce((acc, x, k) => acc * (1 - Math.max(x, q[k] as number)), 1);
  return 3 ** -d - (2 ** (1 - d) / n) * single + pairs / (n * n);
}

describe('SobolSequence', () => {
  it('gives points in [0,1)^d, up to 200 dimensions', () => {
    const sobol = new SobolSequence(200, { seed: 3 });
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < 300; i++) {
      const p = sobol.point(i);
      expect(p).toHaveLength(200);
      for (const x of p) {
        min = Math.min(min, x);
        max = Math.max(max, x);
      }
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
  });

  it('has lower L2-star discrepancy than uniform random points in low dimensions, scrambled or not', () => {
    const n = 256;
    for (const d of [2, 3, 5]) {
      const random = new SeededRandom(11);
      const uniform = Array.from({ length: n }, () => Float64Array.from({ length: d }, () => random.float()));
      const plain = new SobolSequence(d, { seed: 0, scramble: false });
      const scrambled = new SobolSequence(d, { seed: 5 });
      const randomD = l2StarDiscrepancy(uniform);
      expect(l2StarDiscrepancy(Array.from({ length: n }, (_, i) => plain.point(i)))).toBeLessThan(randomD / 2);
      expect(l2StarDiscrepancy(Array.from({ length: n }, (_, i) => scrambled.point(i)))).toBeLessThan(randomD / 2);
    }
  });

  it('covers the two-dimensional projections of a 10-d design better than random points', () => {
    // 256 points on a 16 x 16 grid per pair of coordinates: random points leave about 1/e of
    // the cells empty; a (t, m, 2)-net fills all when t = 0 and most when t is small.
    const n = 256;
    const d = 10;
    const coverage = (points: ArrayLike<number>[]) => {
      let total = 0;
      for (let a = 0; a < d; a++) {
        for (let b = a + 1; b < d; b++) {
          total += new Set(points.map((p) => Math.floor((p[a] as number) * 16) * 16 + Math.floor((p[b] as number) * 16))).size;
        }
      }
      return total / ((d * (d - 1)) / 2) / n;
    };
    const random = new SeededRandom(4);
    const uniform = Array.from({ length: n }, () => Float64Array.from({ length: d }, () => random.float()));
    const sobol = new SobolSequence(d, { seed: 8 });
    const randomCoverage = coverage(uniform);
    const sobolCoverage = coverage(Array.from({ length: n }, (_, i) => sobol.point(i)));
    expect(randomCoverage).toBeLessThan(0.7);
    expect(sobolCoverage).toBeGreaterThan(randomCoverage + 0.1);
  });

  it('puts exactly one of the first 2^k points in each dyadic interval of every coordinate (a (0,k)-net per dimension)', () => {
    const sobol = new SobolSequence(12, { seed: 77 });
    for (let j = 0; j < 12; j++) {
      const cells = new Set(Array.from({ length: 64 }, (_, i) => Math.floor((sobol.point(i)[j] as number) * 64)));
      expect(cells.size).toBe(64);
    }
  });

  it('gives the same points for the same seed and different points for another', () => {
    const a = new SobolSequence(7, { seed: 42 });
    const b = new SobolSequence(7, { seed: 42 });
    const c = new SobolSequence(7, { seed: 43 });
    expect(Array.from({ length: 20 }, (_, i) => Array.from(a.point(i)))).toEqual(Array.from({ length: 20 }, (_, i) => Array.from(b.point(i))));
    expect(Array.from(a.point(3))).not.toEqual(Array.from(c.point(3)));
  });

  it('lets n workers take indices k, k + n, ... whose union is the full sequence', () => {
    const sobol = new SobolSequence(6, { seed: 9 });
    const full = Array.from({ length: 30 }, (_, i) => Array.from(sobol.point(i)));
    const shards = [0, 1, 2].map((k) => sobol.shard(k, 3, 10).map((p) => Array.from(p)));
    const union: number[][] = [];
    for (let i = 0; i < 10; i++) for (const shard of shards) union.push(shard[i] as number[]);
    expect(union).toEqual(full);
  });

  it('builds direction numbers from primitive polynomials in the Joe–Kuo order', () => {
    // Degree and middle-coefficient code of the first 12 polynomials, as listed by Joe & Kuo.
    const expected = ['1:0', '2:1', '3:1', '3:2', '4:1', '4:4', '5:2', '5:4', '5:7', '5:11', '5:13', '5:14'];
    const got = sobolPolynomials(13).map((p) => `${p.degree}:${(p.poly >> 1) & ((1 << (p.degree - 1)) - 1)}`);
    expect(got).toEqual(expected);
    expect(isPrimitivePolynomial(0b10011, 4)).toBe(true); // x^4 + x + 1
    expect(isPrimitivePolynomial(0b11111, 4)).toBe(false); // irreducible, order 5
    expect(sobolPolynomials(201)).toHaveLength(200);
    for (const j of [1, 20, 150, 199]) {
      const v = sobolDirectionNumbers(j);
      // The k-th direction number is m_k / 2^k with m_k odd: its lowest set bit is bit 31 - k.
      v.forEach((x, k) => expect(Math.clz32(x & -x)).toBe(k));
    }
  });

  it('rejects a dimension or index out of range', () => {
    expect(() => new SobolSequence(0, { seed: 1 })).toThrow(RangeError);
    expect(() => new SobolSequence(2, { seed: 1 }).point(-1)).toThrow(RangeError);
    expect(() => new SobolSequence(2, { seed: 1 }).shard(3, 3, 1)).toThrow(RangeError);
  });
});
