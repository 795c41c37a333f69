import { describe, expect, it } from 'vitest';
import { ackley, branin, rastrigin, rosenbrock, sphere, type TestFunction } from '../../../../bench/hpo-functions.ts';
import { classifyLandscape } from '../../../../processors/hpo/landscape.ts';
import { SobolSequence } from '../../../../processors/hpo/sobol.ts';

const PROBE = 64;
const SEEDS = 20;

function structuredShare(fn: TestFunction): number {
  let structured = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const sobol = new SobolSequence(fn.dimension, { seed });
    const points = Array.from({ length: PROBE }, (_, i) => sobol.point(i));
    const values = points.map((u) => fn.evaluate(Array.from(u, (x, k) => fn.bounds[k]![0] + x * (fn.bounds[k]![1] - fn.bounds[k]![0]))));
    if (classifyLandscape(points, values).landscape === 'STRUCTURED') structured++;
  }
  return structured / SEEDS;
}

describe('classifyLandscape on a 64-point Sobol probe, 20 seeds', () => {
  it.each([sphere(2), sphere(5), sphere(10), rosenbrock(2), rosenbrock(5), branin])('calls the smooth $name STRUCTURED for at least 90% of seeds', (fn) => {
    expect(structuredShare(fn)).toBeGreaterThanOrEqual(0.9);
  });

  it.each([rastrigin(2), rastrigin(5), rastrigin(10), ackley(5), ackley(10)])('calls the rugged $name CHAOTIC for at least 90% of seeds', (fn) => {
    expect(structuredShare(fn)).toBeLessThanOrEqual(0.1);
  });

  it('is unchanged by a monotone transform of the objective (it works on ranks)', () => {
    const sobol = new SobolSequence(3, { seed: 2 });
    const points = Array.from({ length: 40 }, (_, i) => sobol.point(i));
    const values = points.map((p) => p.reduce((s, x) => s + (x - 0.3) ** 2, 0));
    const a = classifyLandscape(points, values);
    const b = classifyLandscape(points, values.map((v) => Math.exp(10 * v) - 5));
    expect(b).toEqual(a);
  });

  it('falls back to CHAOTIC with too few finite samples', () => {
    const report = classifyLandscape([[0.1], [0.2], [0.3], [0.4], [0.5]], [1, NaN, 2, Infinity, 3]);
    expect(report).toMatchObject({ landscape: 'CHAOTIC', samples: 3 });
  });
});
