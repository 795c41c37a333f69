import { describe, expect, it } from 'vitest';
import { type GaussianMixture, type KdeQuery, mixtureLogDensityTs } from '../../../../processors/hpo/kde.ts';
import { KernelCache, ParzenEstimator, recencyWeights } from '../../../../processors/hpo/parzenEstimator.ts';
import { SeededRandom } from '../../../../processors/hpo/random.ts';

/** The plain loop the pruned one replaced: every component, every dimension, every exp. */
function referenceLogDensity(mixture: GaussianMixture, query: KdeQuery): Float64Array {
  const { size: m, dims: d, centers, invSigmas, logCoefficients } = mixture;
  const { points, count: n, extra } = query;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    let sum = 0;
    for (let j = 0; j < m; j++) {
      let q = 0;
      for (let k = 0; k < d; k++) {
        const z = (points[i * d + k]! - centers[j * d + k]!) * invSigmas[j * d + k]!;
        q += z * z;
      }
      let t = logCoefficients[j]! - 0.5 * q;
      if (extra) t += extra[i * m + j]!;
      if (t > max) {
        sum = sum * Math.exp(max - t) + 1;
        max = t;
      } else {
        sum += Math.exp(t - max);
      }
    }
    out[i] = max + Math.log(sum);
  }
  return out;
}

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

/** Points on a coarse grid in some dimensions, so that columns have ties. */
function point(random: SeededRandom, d: number): number[] {
  return Array.from({ length: d }, (_, k) => (k % 3 === 1 ? (random.int(5) + 0.5) / 5 : random.float()));
}

describe('exactness of the TPE speed-ups', () => {
  it('the pruned log-sum-exp equals the plain loop bit for bit (with and without categorical terms)', () => {
    const random = new SeededRandom(42);
    for (const [d, n, choices] of [
      [1, 5, 0],
      [2, 100, 0],
      [3, 40, 4],
      [10, 600, 0],
      [10, 300, 3],
      [40, 200, 0],
      [0, 30, 5],
    ] as const) {
      const shape = { dimension: d + (choices ? 1 : 0), choiceCounts: [...new Array<number>(d).fill(0), ...(choices ? [choices] : [])] };
      const obs = Array.from({ length: n }, () => [...point(random, d), ...(choices ? [(random.int(choices) + 0.5) / choices] : [])]);
      const above = new ParzenEstimator(shape, obs, { priorWeight: 1, bandwidth: 'neighbour' }, recencyWeights(n));
      const below = new ParzenEstimator(shape, obs.slice(0, 10), { priorWeight: 1, bandwidth: 'neighbour' });
      const candidates = below.sample(random, 64);
      expect(sameBits(above.logDensity(candidates, 64, mixtureLogDensityTs), above.logDensity(candidates, 64, referenceLogDensity)), `d=${d} n=${n}`).toBe(true);
    }
  });

  for (const bandwidth of ['neighbour', 'scott'] as const) {
    it(`a kernel cache kept across changing groups fits exactly what a fresh one does (${bandwidth})`, () => {
      const random = new SeededRandom(bandwidth === 'scott' ? 2 : 1);
      const d = 6;
      const shape = { dimension: d + 1, choiceCounts: [0, 0, 0, 0, 0, 0, 3] };
      const cache = new KernelCache();
      let group: number[][] = [];
      for (let step = 0; step < 300; step++) {
        // Add, remove or reorder like a study does: tells, evictions, pending points moving back.
        const action = random.int(6);
        if (action <= 2 || group.length < 3) group.push([...point(random, d), (random.int(3) + 0.5) / 3]);
        if (action === 3 && group.length > 1) group.splice(random.int(group.length), 1);
        if (action === 4 && group.length > 2) {
          const [moved] = group.splice(random.int(group.length), 1);
          group.splice(random.int(group.length + 1), 0, moved!);
        }
        if (action === 5 && step % 50 === 5) group = group.slice(0, 2); // a big change: full rebuild
        if (step % 40 === 7) group.push(group[0]!); // the same object twice
        if (step % 60 === 11 && group.length > 0) group[random.int(group.length)]![0] = random.float(); // mutated in place
        const options = { priorWeight: 1, bandwidth };
        const warm = new ParzenEstimator(shape, group, options, recencyWeights(group.length), cache).gaussianMixture();
        const cold = new ParzenEstimator(shape, group, options, recencyWeights(group.length)).gaussianMixture();
        for (const key of ['centers', 'invSigmas', 'logCoefficients'] as const) expect(sameBits(warm[key], cold[key]), `step ${step} ${key}`).toBe(true);
      }
    });
  }
});
