import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../../config/options.ts';
import { judgeCost } from '../../../../processors/cost/anomalyProcessor.ts';
import { mad, median, robustZ } from '../../../../processors/cost/robust.ts';
import { Random } from '../../../../simulate/random.ts';

const options = DEFAULTS.anomalies;

describe('robust statistics', () => {
  it('median and MAD', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(mad([1, 2, 3, 4, 100])).toBe(1);
  });

  it('gives the same doubles as a comparator sort, -0 and NaN included', () => {
    const reference = (xs: readonly number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
    };
    const rng = new Random(5);
    for (let i = 0; i < 500; i++) {
      const xs = Array.from({ length: 1 + Math.floor(rng.next() * 200) }, () => (rng.next() < 0.2 ? Math.round(rng.next() * 5) : rng.next() * 100 - 20));
      expect(Object.is(median(xs), reference(xs))).toBe(true);
      expect(Object.is(mad(xs), reference(xs.map((x) => Math.abs(x - reference(xs)))))).toBe(true);
    }
    for (const xs of [[-0, 0], [0, -0], [-0], [1, -0, 0, 2], [Number.NaN, 1, 2], [3, Number.NaN, 1, 2]]) expect(Object.is(median(xs), reference(xs))).toBe(true);
  });

  it('still scores against a constant history', () => {
    expect(robustZ(10, [5, 5, 5, 5]).z).toBe(Number.POSITIVE_INFINITY);
    expect(robustZ(5, [5, 5, 5, 5]).z).toBe(0);
  });
});

describe('cost anomalies', () => {
  it('finds injected expensive runs and raises no false alarm on the clean part', () => {
    for (const seed of [1, 2, 3]) {
      const rng = new Random(seed);
      const injected = new Set<number>();
      while (injected.size < 15) injected.add(rng.int(40, 599));
      const history: number[] = [];
      const flagged: number[] = [];
      for (let i = 0; i < 600; i++) {
        // Lognormal run costs around $120 with 10% spread; injected runs cost 2-4x.
        const clean = 120 * Math.exp(0.1 * rng.normal());
        const cost = injected.has(i) ? clean * rng.between(2, 4) : clean;
        if (judgeCost(cost, history, options)?.anomalous) flagged.push(i);
        history.push(cost);
        if (history.length > options.maxHistory) history.shift();
      }
      expect(flagged, `seed ${seed}`).toEqual([...injected].sort((a, b) => a - b));
    }
  });

  it('judges nothing before the minimum sample count', () => {
    expect(judgeCost(1_000, Array(options.minSamples - 1).fill(10), options)).toBeNull();
    expect(judgeCost(1_000, Array(options.minSamples).fill(10), options)?.anomalous).toBe(true);
  });
});
