import { describe, expect, it } from 'vitest';
import { crowdingDistance, dominates, nonDominatedSort } from '../../../../processors/hpo/nsga2.ts';
import { createStudy, type ParamSpec } from '../../../../processors/hpo/index.ts';

/** ZDT1: f1 = x1, f2 = g (1 - sqrt(x1 / g)), g = 1 + 9 mean(x2..xn); true front f2 = 1 - sqrt(f1). */
function zdt1(x: number[]): [number, number] {
  const g = 1 + (9 * x.slice(1).reduce((s, v) => s + v, 0)) / (x.length - 1);
  return [x[0]!, g * (1 - Math.sqrt(x[0]! / g))];
}

describe('NSGA-II building blocks', () => {
  it('dominance is strict in one objective and weak in the others', () => {
    expect(dominates([1, 2], [1, 3])).toBe(true);
    expect(dominates([1, 3], [1, 3])).toBe(false);
    expect(dominates([0, 4], [1, 3])).toBe(false);
  });

  it('sorts points into non-dominated fronts', () => {
    const fronts = nonDominatedSort([
      [1, 5],
      [2, 2],
      [5, 1],
      [3, 3],
      [6, 6],
      [2.5, 4],
    ]);
    expect(fronts).toEqual([[0, 1, 2], [3, 5], [4]]);
  });

  it('gives the extremes of a front infinite crowding distance and the rest their neighbour gaps', () => {
    const d = crowdingDistance([
      [0, 4],
      [1, 2],
      [2, 1],
      [4, 0],
    ]);
    expect(d[0]).toBe(Infinity);
    expect(d[3]).toBe(Infinity);
    expect(d[1]).toBeCloseTo(2 / 4 + 3 / 4, 12);
    expect(d[2]).toBeCloseTo(3 / 4 + 2 / 4, 12);
  });
});

describe('NSGA-II study on ZDT1', () => {
  it('ends with a front close to the true Pareto front, spread along it', () => {
    const d = 6;
    const params: ParamSpec[] = Array.from({ length: d }, (_, i) => ({ name: `x${i}`, kind: 'FLOAT', low: 0, high: 1, log: false, choices: [] }));
    const study = createStudy({
      params,
      objectives: [
        { name: 'f1', direction: 'MINIMIZE' },
        { name: 'f2', direction: 'MINIMIZE' },
      ],
      budget: 3000,
      seed: 3,
      strategy: 'nsga2',
      nsga2: { populationSize: 40 },
    });
    while (!study.isDone()) {
      const t = study.ask();
      study.tell(t.trialId, zdt1(params.map((p) => t.params[p.name] as number)));
    }
    const front = study.paretoFront();
    expect(front.length).toBeGreaterThanOrEqual(20);
    // Generational distance: mean vertical gap to the true front.
    const gaps = front.map((t) => t.values[1]! - (1 - Math.sqrt(t.values[0]!)));
    expect(gaps.reduce((s, g) => s + g, 0) / gaps.length).toBeLessThan(0.05);
    // Spread: the front covers most of f1 in [0, 1].
    const f1 = front.map((t) => t.values[0]!);
    expect(Math.max(...f1) - Math.min(...f1)).toBeGreaterThan(0.8);
    // No member of the returned front dominates another.
    for (const a of front) for (const b of front) expect(dominates(a.values, b.values)).toBe(false);
  }, 20_000); // 3,000 trials: a quality test, slow on a loaded box, not a timing one
});

describe('NSGA-II on categorical genes', () => {
  it('crosses a categorical gene over whole and mutates it to another choice: children stay on the choices', async () => {
    const { Nsga2 } = await import('../../../../processors/hpo/nsga2.ts');
    const nsga = Nsga2.create(2, 4, { populationSize: 8, mutationProbability: 0.5 }, [0, 3]);
    const centres = [1 / 6, 0.5, 5 / 6];
    for (let i = 0; i < 8; i++) nsga.tell([i / 8, centres[i % 3]!], [i, 8 - i], i);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const child = nsga.askChild();
      expect(centres).toContain(child[1]);
      seen.add(child[1]!);
    }
    expect(seen.size).toBe(3);
  });
});
