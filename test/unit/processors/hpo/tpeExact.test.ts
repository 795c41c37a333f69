import { describe, expect, it } from 'vitest';
import { type GaussianMixture, type KdeQuery, mixtureLogDensityTs } from '../../../../processors/hpo/kde.ts';
import { KernelCache, ParzenEstimator, recencyWeights } from '../../../../processors/hpo/parzenEstimator.ts';
import { SeededRandom } from '../../../../processors/hpo/random.ts';
import { DEFAULT_TPE_OPTIONS, type GpuKdeProvider, suggestTpe } from '../../../../processors/hpo/tpe.ts';

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
  it('the pruned log-sum-exp equals the plain loop bit for bit below 24 dimensions, and within 1e-12 from there (pilot components summed first)', () => {
    const random = new SeededRandom(42);
    for (const [d, n, choices] of [
      [1, 5, 0],
      [2, 100, 0],
      [3, 40, 4],
      [10, 600, 0],
      [10, 300, 3],
      [23, 200, 0],
      [40, 200, 0],
      [40, 150, 3],
      [120, 400, 0],
      [0, 30, 5],
    ] as const) {
      const shape = { dimension: d + (choices ? 1 : 0), choiceCounts: [...new Array<number>(d).fill(0), ...(choices ? [choices] : [])] };
      const obs = Array.from({ length: n }, () => [...point(random, d), ...(choices ? [(random.int(choices) + 0.5) / choices] : [])]);
      const above = new ParzenEstimator(shape, obs, { priorWeight: 1, bandwidth: 'neighbour' }, recencyWeights(n));
      const below = new ParzenEstimator(shape, obs.slice(0, 10), { priorWeight: 1, bandwidth: 'neighbour' });
      const candidates = below.sample(random, 64);
      const pruned = above.logDensity(candidates, 64, mixtureLogDensityTs);
      const plain = above.logDensity(candidates, 64, referenceLogDensity);
      if (d < 24) expect(sameBits(pruned, plain), `d=${d} n=${n}`).toBe(true);
      else pruned.forEach((v, i) => expect(Math.abs(v - plain[i]!), `d=${d} n=${n} point ${i}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(plain[i]!))));
    }
  });

  it('the screen never rules out the winner: its bounds sit below the exact log density, bit for bit', () => {
    const random = new SeededRandom(7);
    for (const [d, n, choices] of [
      [2, 300, 0],
      [5, 80, 3],
      [30, 400, 0],
      [0, 40, 4],
    ] as const) {
      const shape = { dimension: d + (choices ? 1 : 0), choiceCounts: [...new Array<number>(d).fill(0), ...(choices ? [choices] : [])] };
      const obs = Array.from({ length: n }, () => [...point(random, d), ...(choices ? [(random.int(choices) + 0.5) / choices] : [])]);
      const above = new ParzenEstimator(shape, obs, { priorWeight: 1, bandwidth: 'neighbour' }, recencyWeights(n));
      const below = new ParzenEstimator(shape, obs.slice(0, 12), { priorWeight: 1, bandwidth: 'neighbour' });
      const candidates = below.sample(random, 64);
      const exact = above.logDensity(candidates, 64, mixtureLogDensityTs);
      const subset = Int32Array.from({ length: 9 }, (_, k) => (k === 8 ? n : random.int(n)));
      const everything = Int32Array.from({ length: n + 1 }, (_, j) => j);
      const fromSubset = above.subsetBounds(candidates, 64, subset);
      const fromAll = above.subsetBounds(candidates, 64, everything);
      for (let i = 0; i < 64; i++) {
        expect(fromSubset.max[i]!).toBeLessThanOrEqual(fromAll.max[i]!);
        expect(fromSubset.lower[i]!).toBeLessThanOrEqual(fromAll.lower[i]! + 1e-6);
        expect(fromAll.max[i]!).toBeLessThanOrEqual(exact[i]!);
        expect(fromAll.lower[i]!).toBeLessThanOrEqual(exact[i]!);
        expect(fromAll.lower[i]!).toBeGreaterThanOrEqual(exact[i]! - 1e-3);
        const tighter = above.logDensityLowerBoundAt(candidates, i, fromSubset.max[i]!);
        expect(tighter).toBeLessThanOrEqual(exact[i]!);
        expect(tighter).toBeGreaterThanOrEqual(fromAll.max[i]! - 1e-6);
        expect(Object.is(above.logDensityAt(candidates, i), exact[i]), `d=${d} point ${i}`).toBe(true);
      }
    }
  });

  it('suggestTpe with the screen picks exactly what scoring every candidate picks', () => {
    const random = new SeededRandom(11);
    // The gpu.js path scores every candidate; handing it the TypeScript loop makes it the plain reference.
    const plain: GpuKdeProvider = () => ({ mode: 'reference', evaluate: mixtureLogDensityTs, destroy: () => undefined });
    for (const [d, n, choices, pending] of [
      [2, 150, 0, 0],
      [3, 60, 4, 2],
      [10, 400, 0, 3],
      [40, 300, 0, 0],
      [0, 50, 6, 1],
    ] as const) {
      const shape = { dimension: d + (choices ? 1 : 0), choiceCounts: [...new Array<number>(d).fill(0), ...(choices ? [choices] : [])] };
      const history = Array.from({ length: n }, () => {
        const p = [...point(random, d), ...(choices ? [(random.int(choices) + 0.5) / choices] : [])];
        return { point: p, loss: p.reduce((s, v, k) => s + (v - 0.3 - 0.02 * k) ** 2, 0) + 0.1 * random.float() };
      });
      const pend = Array.from({ length: pending }, () => [...point(random, d), ...(choices ? [0.5 / choices] : [])]);
      for (let trial = 0; trial < 5; trial++) {
        const seed = random.int(1e9);
        const screened = suggestTpe(shape, history, pend, new SeededRandom(seed), { ...DEFAULT_TPE_OPTIONS, kde: { backend: 'ts', gpujsMinWork: null } });
        const reference = suggestTpe(shape, history, pend, new SeededRandom(seed), { ...DEFAULT_TPE_OPTIONS, kde: { backend: 'gpujs', gpujsMinWork: null } }, plain);
        expect(reference.backend).toBe('gpujs');
        expect(sameBits(screened.point, reference.point), `d=${d} n=${n} trial ${trial}`).toBe(true);
        expect(Object.is(screened.score, reference.score)).toBe(true);
      }
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
        if (step % 60 === 11 && group.length > 0) {
          const at = random.int(group.length);
          group[at] = [random.float(), ...group[at]!.slice(1)]; // a changed point is a new array
        }
        const options = { priorWeight: 1, bandwidth };
        const warm = new ParzenEstimator(shape, group, options, recencyWeights(group.length), cache).gaussianMixture();
        const cold = new ParzenEstimator(shape, group, options, recencyWeights(group.length)).gaussianMixture();
        for (const key of ['centers', 'invSigmas', 'logCoefficients'] as const) expect(sameBits(warm[key], cold[key]), `step ${step} ${key}`).toBe(true);
      }
    });
  }

  it('the kernel cache stays exact on large groups (past the fixed bandwidth floor), with ties, one or two changes per fit', () => {
    const random = new SeededRandom(3);
    const d = 3;
    const shape = { dimension: d, choiceCounts: [0, 0, 0] };
    const cache = new KernelCache();
    // Dimension 1 takes 5 values only (an integer parameter): its column is full of ties.
    const fresh = () => [random.float(), (random.int(5) + 0.5) / 5, random.float()];
    const group: number[][] = Array.from({ length: 60 }, fresh);
    for (let step = 0; step < 500; step++) {
      const action = random.int(8);
      if (action <= 3) group.push(fresh()); // a tell
      else if (action === 4) group.splice(0, 1); // the oldest evicted
      else if (action === 5) group.splice(random.int(group.length), 1); // a point leaves for the good group
      else if (action === 6) group.splice(random.int(group.length + 1), 0, fresh()); // one joins from it
      else group.push(fresh(), fresh()); // a tell and a pending point
      const options = { priorWeight: 1, bandwidth: 'neighbour' as const };
      const warm = new ParzenEstimator(shape, group, options, recencyWeights(group.length), cache).gaussianMixture();
      const cold = new ParzenEstimator(shape, group, options, recencyWeights(group.length)).gaussianMixture();
      for (const key of ['centers', 'invSigmas', 'logCoefficients'] as const) expect(sameBits(warm[key], cold[key]), `step ${step} (n=${group.length}) ${key}`).toBe(true);
    }
    expect(group.length).toBeGreaterThan(150);
  });
});
