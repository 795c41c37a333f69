import { describe, expect, it } from 'vitest';
import { NelderMead } from '../../../../processors/hpo/nelderMead.ts';

/** Drives Nelder–Mead sequentially on f for `evaluations` evaluations; returns the best found. */
function minimise(f: (x: number[]) => number, start: number[], evaluations: number, options = {}) {
  const nm = NelderMead.create(start.length, { point: start, loss: null }, options);
  let best = { point: start, loss: Infinity };
  const asked: string[] = [];
  const events = [];
  let outOfBounds = 0;
  for (let i = 0; i < evaluations; i++) {
    const ask = nm.ask();
    if (!ask) throw new Error('sequential Nelder–Mead must always have a point to ask');
    asked.push(`${ask.requestId}`);
    if (ask.point.some((x) => x < 0 || x > 1)) outOfBounds++;
    const loss = f(ask.point);
    if (loss < best.loss) best = { point: ask.point, loss };
    events.push(...nm.tell(ask.requestId, loss));
  }
  return { best, asked, events, outOfBounds, nm };
}

describe('NelderMead', () => {
  it('finds the minimum of a 2-d sphere inside the unit cube', () => {
    const { best } = minimise((x) => (x[0]! - 0.3) ** 2 + (x[1]! - 0.7) ** 2, [0.9, 0.1], 150);
    expect(best.loss).toBeLessThan(1e-8);
  });

  it('follows the Rosenbrock valley to its minimum', () => {
    // Rosenbrock on [-2, 2]^2 mapped to the unit cube: minimum at (0.75, 0.75).
    const f = (u: number[]) => {
      const x = 4 * u[0]! - 2;
      const y = 4 * u[1]! - 2;
      return 100 * (y - x * x) ** 2 + (1 - x) ** 2;
    };
    const { best } = minimise(f, [0.2, 0.2], 400);
    expect(best.loss).toBeLessThan(1e-4);
    expect(best.point[0]).toBeCloseTo(0.75, 2);
  });

  it('never asks outside the cube, even when the minimum lies on a face', () => {
    const { best, outOfBounds } = minimise((x) => -x[0]! + (x[1]! - 0.5) ** 2, [0.5, 0.2], 120);
    expect(outOfBounds).toBe(0);
    expect(best.point[0]).toBe(1);
  });

  it('restarts with a fresh simplex around the best point when the simplex collapses', () => {
    const { events, best } = minimise((x) => (x[0]! - 0.4) ** 2 + (x[1]! - 0.6) ** 2, [0.1, 0.1], 400, { collapseTolerance: 1e-3 });
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ kind: 'restart', reason: 'collapsed' });
    expect(best.loss).toBeLessThan(1e-6);
  });

  it('asks the initial simplex all at once, each vertex once, and waits on a single reflection', () => {
    const nm = NelderMead.create(3, { point: [0.5, 0.5, 0.5], loss: null });
    const initial = [nm.ask(), nm.ask(), nm.ask(), nm.ask()];
    expect(initial.every((a) => a !== null)).toBe(true);
    expect(new Set(initial.map((a) => a!.requestId)).size).toBe(4);
    expect(nm.ask()).toBeNull();
    initial.forEach((a, i) => nm.tell(a!.requestId, i));
    const reflection = nm.ask();
    expect(reflection).not.toBeNull();
    expect(nm.ask()).toBeNull();
  });

  it('starts from known vertices without re-evaluating them when they span the space', () => {
    const known = [
      { point: [0.2, 0.2], loss: 1 },
      { point: [0.8, 0.2], loss: 2 },
      { point: [0.2, 0.8], loss: 3 },
    ];
    const nm = NelderMead.create(2, known[0]!, {}, known);
    const first = nm.ask();
    // Reflection of the worst vertex (0.2, 0.8) through the centroid (0.5, 0.2) of the others.
    expect(first!.point[0]).toBeCloseTo(0.8, 12);
    expect(first!.point[1]).toBeCloseTo(0, 12);
  });

  it('restores from its state and continues identically', () => {
    const f = (x: number[]) => (x[0]! - 0.3) ** 2 + 3 * (x[1]! - 0.6) ** 2;
    const a = NelderMead.create(2, { point: [0.9, 0.9], loss: null });
    for (let i = 0; i < 17; i++) {
      const ask = a.ask()!;
      a.tell(ask.requestId, f(ask.point));
    }
    const b = NelderMead.restore(JSON.parse(JSON.stringify(a.state())));
    for (let i = 0; i < 20; i++) {
      const x = a.ask()!;
      const y = b.ask()!;
      expect(y).toEqual(x);
      a.tell(x.requestId, f(x.point));
      b.tell(y.requestId, f(y.point));
    }
  });
});
