import { describe, expect, it } from 'vitest';
import { type GaussianMixture, mixtureLogDensityTs, chooseKdeBackend } from '../../../../processors/hpo/kde.ts';
import { loadGpuKde } from '../../../../processors/hpo/kdeGpu.ts';
import { ParzenEstimator } from '../../../../processors/hpo/parzenEstimator.ts';
import { SeededRandom } from '../../../../processors/hpo/random.ts';
import { DEFAULT_TPE_OPTIONS, suggestTpe } from '../../../../processors/hpo/tpe.ts';

function relativeError(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)) / Math.max(1, Math.abs(b[i] as number)));
  return worst;
}

function randomCase(d: number, n: number, seed: number) {
  const random = new SeededRandom(seed);
  const observations = Array.from({ length: n }, () => Float64Array.from({ length: d }, () => random.float()));
  const shape = { dimension: d, choiceCounts: new Array<number>(d).fill(0) };
  const parzen = new ParzenEstimator(shape, observations, { priorWeight: 1, bandwidth: 'neighbour' });
  const points = parzen.sample(random, 48);
  return { parzen, points, shape };
}

describe('the KDE behind TPE', () => {
  it('TypeScript and gpu.js log densities agree within 1e-6 (relative to max(1, |value|))', () => {
    const gpu = loadGpuKde({ log: () => undefined });
    expect(gpu, 'gpu.js must load here (it is a dependency)').not.toBeNull();
    for (const [d, n] of [
      [2, 30],
      [10, 200],
      [50, 300],
    ] as const) {
      const { parzen, points } = randomCase(d, n, d * 7 + n);
      const ts = parzen.logDensity(points, 48, mixtureLogDensityTs);
      const viaGpu = parzen.logDensity(points, 48, (m, q) => gpu!.evaluate(m, q));
      expect(relativeError(viaGpu, ts)).toBeLessThan(1e-6);
    }
    gpu!.destroy();
  });

  it('also agrees with gpu.js when categorical terms are added', () => {
    const gpu = loadGpuKde({ log: () => undefined })!;
    const random = new SeededRandom(3);
    const shape = { dimension: 3, choiceCounts: [0, 4, 0] };
    const obs = Array.from({ length: 25 }, () => [random.float(), (random.int(4) + 0.5) / 4, random.float()]);
    const parzen = new ParzenEstimator(shape, obs, { priorWeight: 1, bandwidth: 'neighbour' });
    const points = parzen.sample(random, 32);
    expect(relativeError(parzen.logDensity(points, 32, (m, q) => gpu.evaluate(m, q)), parzen.logDensity(points, 32, mixtureLogDensityTs))).toBeLessThan(1e-6);
    gpu.destroy();
  });

  it('computes a log density that integrates to 1 over the unit square', () => {
    const { parzen } = randomCase(2, 15, 1);
    const grid = 200;
    const points = new Float64Array(grid * grid * 2);
    for (let i = 0; i < grid; i++) {
      for (let j = 0; j < grid; j++) {
        points[(i * grid + j) * 2] = (i + 0.5) / grid;
        points[(i * grid + j) * 2 + 1] = (j + 0.5) / grid;
      }
    }
    const logDensity = parzen.logDensity(points, grid * grid, mixtureLogDensityTs);
    const integral = logDensity.reduce((s, v) => s + Math.exp(v), 0) / (grid * grid);
    expect(integral).toBeCloseTo(1, 2);
  });

  it('a single-component mixture gives the Gaussian log density', () => {
    const mixture: GaussianMixture = { size: 1, dims: 1, centers: Float64Array.of(0.5), invSigmas: Float64Array.of(10), logCoefficients: Float64Array.of(Math.log(10) - 0.5 * Math.log(2 * Math.PI)) };
    const [value] = mixtureLogDensityTs(mixture, { points: Float64Array.of(0.6), count: 1 });
    expect(value).toBeCloseTo(Math.log(10) - 0.5 * Math.log(2 * Math.PI) - 0.5, 12);
  });

  it('the chooser follows its thresholds and can be overridden', () => {
    expect(chooseKdeBackend(1e9)).toBe('ts'); // default: gpu.js never (measured slower here)
    expect(chooseKdeBackend(1e6, { backend: 'auto', gpujsMinWork: 5e5 })).toBe('gpujs');
    expect(chooseKdeBackend(1e3, { backend: 'auto', gpujsMinWork: 5e5 })).toBe('ts');
    expect(chooseKdeBackend(10, { backend: 'gpujs', gpujsMinWork: null })).toBe('gpujs');
  });
});

describe('suggestTpe', () => {
  it('samples candidates inside the cube and favours the good region', () => {
    const random = new SeededRandom(5);
    const shape = { dimension: 2, choiceCounts: [0, 0] };
    const history = Array.from({ length: 60 }, () => {
      const point = [random.float(), random.float()];
      return { point, loss: (point[0]! - 0.2) ** 2 + (point[1]! - 0.8) ** 2 };
    });
    const suggestions = Array.from({ length: 20 }, () => suggestTpe(shape, history, [], random).point);
    for (const s of suggestions) for (const x of s) expect(x >= 0 && x <= 1).toBe(true);
    const meanDistance = suggestions.reduce((acc, s) => acc + Math.hypot(s[0]! - 0.2, s[1]! - 0.8), 0) / suggestions.length;
    expect(meanDistance).toBeLessThan(0.2);
  });

  it('moves away from pending points (constant liar)', () => {
    const shape = { dimension: 1, choiceCounts: [0] };
    const history = [0.1, 0.3, 0.5, 0.7, 0.9, 0.45, 0.55].map((x) => ({ point: [x], loss: Math.abs(x - 0.5) }));
    const free = suggestTpe(shape, history, [], new SeededRandom(1)).point[0]!;
    const pendingAtFree = suggestTpe(shape, history, Array.from({ length: 8 }, () => [free]), new SeededRandom(1)).point[0]!;
    expect(Math.abs(pendingAtFree - free)).toBeGreaterThan(0.01);
  });
});

describe('TPE on grids (INT and stepped FLOAT parameters)', () => {
  const grid = Float64Array.from({ length: 10 }, (_, i) => (i + 0.5) / 10);
  const shape = { dimension: 2, choiceCounts: [0, 0], levelPositions: [grid, null] };

  it('scores and proposes candidates at the grid values they will be evaluated at', () => {
    const random = new SeededRandom(3);
    const history = Array.from({ length: 30 }, (_, i) => ({ point: [grid[i % 10]!, random.float()], loss: Math.abs((i % 10) - 6) + random.float() }));
    for (let k = 0; k < 20; k++) {
      const s = suggestTpe(shape, history, [], random);
      expect(Array.from(grid)).toContain(s.point[0]);
    }
  });

  it('keeps kernels at least one grid step wide, so a group stuck on one value still proposes its neighbours', () => {
    // Every observation on level 3: a neighbour bandwidth of 0 (ties) would sample level 3 only.
    const observations = Array.from({ length: 40 }, (_, i) => [grid[3]!, (i + 0.5) / 40]);
    const parzen = new ParzenEstimator(shape, observations, { priorWeight: 1, bandwidth: 'neighbour' });
    const samples = parzen.sample(new SeededRandom(5), 400);
    const levels = new Set<number>();
    for (let i = 0; i < 400; i++) levels.add(samples[i * 2]!);
    expect(levels.has(grid[2]!) || levels.has(grid[4]!)).toBe(true);
    expect([...levels].every((v) => Array.from(grid).includes(v))).toBe(true);
  });

  it('in a discrete space, does not propose a point already evaluated while candidates offer a new one', () => {
    const small = { dimension: 2, choiceCounts: [3, 0], levelPositions: [null, Float64Array.from({ length: 4 }, (_, i) => (i + 0.5) / 4)] };
    const random = new SeededRandom(9);
    const history: Array<{ point: number[]; loss: number }> = [];
    const seen = new Set<string>();
    // 12 points in the space; TPE proposes 11 distinct ones after the first.
    history.push({ point: [0.5, 0.375], loss: 1 });
    seen.add('0.5,0.375');
    for (let k = 0; k < 11; k++) {
      const s = suggestTpe(small, history, [], random, { ...DEFAULT_TPE_OPTIONS, candidates: 64 });
      const key = Array.from(s.point).join(',');
      expect(seen.has(key), `repeat at ${k}: ${key}`).toBe(false);
      seen.add(key);
      history.push({ point: Array.from(s.point), loss: random.float() });
    }
  });
});
