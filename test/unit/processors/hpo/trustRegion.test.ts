import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../../processors/hpo/random.ts';
import { DEFAULT_TRUST_REGION_OPTIONS, proposeTrustRegion, ridgeFit, type TrustRegionOptions } from '../../../../processors/hpo/trustRegion.ts';
import type { ScoredPoint } from '../../../../processors/hpo/tpe.ts';

const numeric = (d: number) => ({ dimension: d, choiceCounts: new Array<number>(d).fill(0) });

/** Drives proposals the way the study does: centre = best, radius grows on success, shrinks otherwise. */
function minimise(f: (x: number[]) => number, d: number, start: ScoredPoint[], evaluations: number, options: TrustRegionOptions = DEFAULT_TRUST_REGION_OPTIONS) {
  const history = [...start];
  const random = new SeededRandom(5, 'tr');
  let radius = options.initialRadius;
  let outside = 0;
  for (let i = 0; i < evaluations; i++) {
    const best = history.reduce((a, b) => (b.loss < a.loss ? b : a));
    const proposal = proposeTrustRegion(numeric(d), history, best.point, radius, options, random)!;
    const x = Array.from(proposal.point);
    if (x.some((v, k) => v < 0 || v > 1 || Math.abs(v - (best.point[k] as number)) > radius + 1e-12)) outside++;
    const loss = f(x);
    radius = loss < best.loss ? Math.min(options.maxRadius, radius * options.grow) : radius * options.shrink;
    history.push({ point: x, loss });
  }
  return { best: history.reduce((a, b) => (b.loss < a.loss ? b : a)), outside };
}

function sobolLike(d: number, n: number, f: (x: number[]) => number, seed = 1): ScoredPoint[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: n }, () => {
    const point = Array.from({ length: d }, () => random.float());
    return { point, loss: f(point) };
  });
}

describe('the quadratic trust region', () => {
  it('descends a smooth, badly scaled bowl from a random design, never leaving the cube or the region', () => {
    const f = (x: number[]) => x.reduce((s, v, k) => s + (k + 1) ** 2 * (v - 0.3 - 0.04 * k) ** 2, 0);
    const start = sobolLike(6, 20, f);
    const { best, outside } = minimise(f, 6, start, 60);
    expect(outside).toBe(0);
    expect(best.loss).toBeLessThan(1e-3);
    expect(best.loss).toBeLessThan(Math.min(...start.map((s) => s.loss)) / 100);
  });

  it('follows the trend of a rugged bowl across its ripples (Rastrigin in 5-d)', () => {
    const f = (u: number[]) => u.reduce((s, v) => s + (10.24 * v - 5.12) ** 2 - 10 * Math.cos(2 * Math.PI * (10.24 * v - 5.12)) + 10, 0);
    const start = sobolLike(5, 20, f, 3);
    const { best } = minimise(f, 5, start, 60);
    expect(best.loss).toBeLessThan(Math.min(...start.map((s) => s.loss)) / 2);
  });

  it('proposes a random point of the region instead of a point already evaluated (after the study rounds it)', () => {
    const f = (x: number[]) => (x[0]! - 0.3) ** 2 + (x[1]! - 0.6) ** 2 + (x[2]! - 0.5) ** 2;
    const history = sobolLike(3, 30, f);
    const center = history.reduce((a, b) => (b.loss < a.loss ? b : a)).point;
    const plain = proposeTrustRegion(numeric(3), history, center, 0.05, DEFAULT_TRUST_REGION_OPTIONS, new SeededRandom(1))!;
    expect(plain.jittered).toBe(false);
    // A space so coarse that every point rounds to the centre: the model's step would repeat it.
    const p = proposeTrustRegion(numeric(3), history, center, 0.05, DEFAULT_TRUST_REGION_OPTIONS, new SeededRandom(1), () => center)!;
    expect(p.jittered).toBe(true);
    expect(Array.from(p.point)).not.toEqual(Array.from(plain.point));
    p.point.forEach((v, k) => expect(Math.abs(v - (center[k] as number))).toBeLessThanOrEqual(0.05 + 1e-15));
  });

  it('keeps the centre choice of a categorical dimension unless nearby trials show another one is better', () => {
    const shape = { dimension: 3, choiceCounts: [0, 3, 0] };
    // Choice 0 is the best: choices 1 and 2 cost 0.1 and 0.2.
    const f = (x: number[]) => (x[0]! - 0.2) ** 2 + (x[2]! - 0.7) ** 2 + 0.1 * Math.floor(x[1]! * 3);
    const history = sobolLike(3, 20, f).map((h) => ({ ...h, point: [h.point[0]!, (Math.floor(h.point[1]! * 3) + 0.5) / 3, h.point[2]!] }));
    const center = [0.5, 0.5 / 3, 0.5];
    const p = proposeTrustRegion(shape, history, center, 0.2, DEFAULT_TRUST_REGION_OPTIONS, new SeededRandom(1))!;
    expect(p.point[1]).toBe(0.5 / 3);
    expect(p.point[0]).toBeLessThan(0.5);
    expect(p.point[2]).toBeGreaterThan(0.5);
  });

  it('switches a categorical choice when the trials near the centre that made another choice did better', () => {
    const shape = { dimension: 2, choiceCounts: [0, 2] };
    const f = (x: number[]) => (x[0]! - 0.5) ** 2 + (x[1]! < 0.5 ? 1 : 0); // choice 1 is better by 1
    const history = [
      ...[0.35, 0.5, 0.65].map((x) => ({ point: [x, 0.25], loss: f([x, 0.25]) })),
      ...[0.45, 0.55].map((x) => ({ point: [x, 0.75], loss: f([x, 0.75]) })),
    ];
    const p = proposeTrustRegion(shape, history, [0.5, 0.25], 0.1, DEFAULT_TRUST_REGION_OPTIONS, new SeededRandom(1))!;
    expect(p.point[1]).toBe(0.75);
    expect(p.predictedChange).toBeLessThan(0);
  });

  it('moves a grid dimension only to its grid values, at least one step however small the region', () => {
    const grid = Float64Array.from({ length: 8 }, (_, i) => (i + 0.5) / 8);
    const shape = { dimension: 2, choiceCounts: [0, 0], levelPositions: [null, grid] };
    const f = (x: number[]) => (x[0]! - 0.5) ** 2 + (x[1]! - 0.9) ** 2;
    const history = sobolLike(2, 12, f).map((h) => ({ ...h, point: [h.point[0]!, grid[Math.min(7, Math.floor(h.point[1]! * 8))]!] }));
    const center = [0.5, grid[3]!];
    for (const radius of [0.3, 0.01]) {
      const p = proposeTrustRegion(shape, history.map((h) => ({ ...h, loss: f(h.point as number[]) })), center, radius, DEFAULT_TRUST_REGION_OPTIONS, new SeededRandom(2))!;
      expect(Array.from(grid)).toContain(p.point[1]);
      expect(p.point[1]).toBeGreaterThan(center[1]!); // towards 0.9, by a whole step even in a region of 0.01
    }
  });

  it('proposes in a purely categorical space (another choice when the model sees nothing better, as the jitter)', () => {
    const shape = { dimension: 1, choiceCounts: [4] };
    const p = proposeTrustRegion(shape, [{ point: [0.125], loss: 1 }], [0.125], 0.1, DEFAULT_TRUST_REGION_OPTIONS, new SeededRandom(1), (x) => x)!;
    expect(p.jittered).toBe(true);
    expect([0.375, 0.625, 0.875]).toContain(p.point[0]);
    expect(proposeTrustRegion({ dimension: 1, choiceCounts: [4] }, [], [0.1], 0.1, DEFAULT_TRUST_REGION_OPTIONS, new SeededRandom(1))).toBeNull();
  });

  it('is a pure function of its inputs', () => {
    const f = (x: number[]) => Math.sin(7 * x[0]!) + x[1]! ** 2 + Math.abs(x[2]! - 0.4) + x[3]!;
    const history = sobolLike(4, 25, f);
    const a = proposeTrustRegion(numeric(4), history, history[3]!.point, 0.1, DEFAULT_TRUST_REGION_OPTIONS, new SeededRandom(9));
    const b = proposeTrustRegion(numeric(4), history, history[3]!.point, 0.1, DEFAULT_TRUST_REGION_OPTIONS, new SeededRandom(9));
    expect(Array.from(a!.point)).toEqual(Array.from(b!.point));
  });

  it('fits the same ridge coefficients through the normal equations and through the dual system', () => {
    const random = new SeededRandom(4);
    const p = 6;
    for (const N of [4, 12]) {
      const X = Float64Array.from({ length: N * p }, () => random.float() - 0.5);
      const y = Float64Array.from({ length: N }, () => random.float());
      const beta = ridgeFit(Float64Array.from(X), Float64Array.from(y), N, p, 0.1);
      // Reference: gradient of the ridge objective at beta is zero (intercept by centring).
      const xm = Array.from({ length: p }, (_, a) => Array.from({ length: N }, (_, r) => X[r * p + a]!).reduce((s, v) => s + v, 0) / N);
      const ym = y.reduce((s, v) => s + v, 0) / N;
      for (let a = 0; a < p; a++) {
        let g = 0.1 * beta[a]!;
        for (let r = 0; r < N; r++) {
          let fit = 0;
          for (let b = 0; b < p; b++) fit += (X[r * p + b]! - xm[b]!) * beta[b]!;
          g -= (X[r * p + a]! - xm[a]!) * (y[r]! - ym - fit);
        }
        expect(Math.abs(g), `N=${N} a=${a}`).toBeLessThan(1e-9);
      }
    }
  });
});
