/**
 * The lambdarank objective against its definition written out plainly (every pair of a
 * query, the way LightGBM's rank_objective.hpp states it), and the properties that make it
 * LightGBM's: per-query normalisation, score-distance weighting, truncation.
 */
import { describe, expect, it } from 'vitest';
import { lambdaGradients, type LambdaObjectiveOptions } from '../../../../processors/advisor/ltr/lambdaObjective.ts';
import { Random } from '../../../../simulate/random.ts';

/** The definition, with nothing skipped or reordered for speed. */
function reference(labels: number[], groups: number[][], scores: Float64Array, o: LambdaObjectiveOptions): { grad: Float64Array; hess: Float64Array } {
  const grad = new Float64Array(labels.length);
  const hess = new Float64Array(labels.length);
  for (const rows of groups) {
    const ideal = rows.map((r) => labels[r] as number).sort((a, b) => b - a);
    let idealDcg = 0;
    ideal.slice(0, o.truncationLevel).forEach((l, i) => (idealDcg += (2 ** l - 1) / Math.log2(i + 2)));
    if (idealDcg === 0) continue;
    const sorted = [...rows].sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
    const byDistance = o.normalise && scores[sorted[0] as number] !== scores[sorted[sorted.length - 1] as number];
    const g = new Map<number, number>(rows.map((r) => [r, 0]));
    const h = new Map<number, number>(rows.map((r) => [r, 0]));
    let sum = 0;
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        if (i >= o.truncationLevel) continue; // the better-placed one must be above the cut
        const a = sorted[i] as number;
        const b = sorted[j] as number;
        if (labels[a] === labels[b]) continue;
        const [high, low] = (labels[a] as number) > (labels[b] as number) ? [a, b] : [b, a];
        const delta = (scores[high] as number) - (scores[low] as number);
        let weight = (Math.abs(2 ** (labels[a] as number) - 2 ** (labels[b] as number)) * (1 / Math.log2(i + 2) - 1 / Math.log2(j + 2))) / idealDcg;
        if (byDistance) weight /= 0.01 + Math.abs(delta);
        const rho = 1 / (1 + Math.exp(o.sigma * delta));
        g.set(high, (g.get(high) as number) - o.sigma * weight * rho);
        g.set(low, (g.get(low) as number) + o.sigma * weight * rho);
        h.set(high, (h.get(high) as number) + o.sigma * o.sigma * weight * rho * (1 - rho));
        h.set(low, (h.get(low) as number) + o.sigma * o.sigma * weight * rho * (1 - rho));
        sum += 2 * o.sigma * weight * rho;
      }
    }
    const factor = o.normalise && sum > 0 ? Math.log2(1 + sum) / sum : 1;
    for (const r of rows) {
      grad[r] = (g.get(r) as number) * factor;
      hess[r] = (h.get(r) as number) * factor;
    }
  }
  return { grad, hess };
}

function randomQueries(rng: Random, queries: number): { labels: number[]; groups: number[][]; scores: Float64Array } {
  const labels: number[] = [];
  const groups: number[][] = [];
  const scores: number[] = [];
  for (let q = 0; q < queries; q++) {
    const n = rng.int(1, 70);
    const rows: number[] = [];
    const sparse = rng.chance(0.5);
    for (let i = 0; i < n; i++) {
      rows.push(labels.length);
      labels.push(sparse ? (rng.chance(0.85) ? 0 : rng.int(1, 4)) : rng.int(0, 4));
      // Some exact ties, as after the first rounds.
      scores.push(rng.chance(0.2) ? 0 : rng.normal());
    }
    groups.push(rows);
  }
  return { labels, groups, scores: Float64Array.from(scores) };
}

const OPTIONS: LambdaObjectiveOptions[] = [
  { sigma: 1, normalise: true, truncationLevel: 30 },
  { sigma: 1, normalise: false, truncationLevel: 30 },
  { sigma: 2, normalise: true, truncationLevel: 5 },
  { sigma: 0.5, normalise: false, truncationLevel: 1000 },
];

describe('lambdarank objective', () => {
  it('equals its plain definition on random queries: ties, sparse labels, truncation, both normalisations', () => {
    const rng = new Random(5);
    for (const o of OPTIONS) {
      const { labels, groups, scores } = randomQueries(rng, 40);
      const got = lambdaGradients(labels, groups, scores, o);
      const want = reference(labels, groups, scores, o);
      for (let r = 0; r < labels.length; r++) {
        expect(got.grad[r]).toBeCloseTo(want.grad[r] as number, 12);
        expect(got.hess[r]).toBeCloseTo(want.hess[r] as number, 12);
      }
    }
  });

  it('is deterministic and does not depend on the previous call (its kept order is only a head start)', () => {
    const { labels, groups, scores } = randomQueries(new Random(6), 30);
    const o = OPTIONS[0] as LambdaObjectiveOptions;
    const first = lambdaGradients(labels, groups, scores, o);
    expect(lambdaGradients(labels, groups, scores, o)).toEqual(first);
  });

  it('normalises per query: with equal scores, gradients scale by log2(1 + S) / S of the raw ones', () => {
    const labels = [3, 0, 1, 0, 2];
    const groups = [[0, 1, 2, 3, 4]];
    const zero = new Float64Array(5);
    const raw = lambdaGradients(labels, groups, zero, { sigma: 1, normalise: false, truncationLevel: 30 });
    const normalised = lambdaGradients(labels, groups, zero, { sigma: 1, normalise: true, truncationLevel: 30 });
    // S: the sum of |lambda| over both ends of every pair. Equal scores: rho = 1/2, positions in input order.
    const ideal = 7 / 1 + 3 / Math.log2(3) + 1 / Math.log2(4);
    let s = 0;
    for (let i = 0; i < 5; i++)
      for (let j = i + 1; j < 5; j++) s += (2 * 0.5 * Math.abs(2 ** (labels[i] as number) - 2 ** (labels[j] as number)) * (1 / Math.log2(i + 2) - 1 / Math.log2(j + 2))) / ideal;
    const factor = Math.log2(1 + s) / s;
    expect(factor).toBeLessThan(1);
    raw.grad.forEach((g, i) => expect(normalised.grad[i]).toBeCloseTo(g * factor, 14));
    raw.hess.forEach((h, i) => expect(normalised.hess[i]).toBeCloseTo(h * factor, 14));
    // Still a push in the right direction, summing to zero.
    expect(normalised.grad[0]).toBeLessThan(0);
    expect([...normalised.grad].reduce((a, b) => a + b, 0)).toBeCloseTo(0, 14);
  });

  it('keeps a query with many mis-ordered pairs from drowning a small one', () => {
    // Query A: 60 documents, relevance in reverse order of score; query B: 3 documents, one swap.
    const labels: number[] = [];
    const scores: number[] = [];
    const a: number[] = [];
    for (let i = 0; i < 60; i++) {
      a.push(labels.length);
      labels.push(i % 5);
      scores.push(i / 60);
    }
    const b = [labels.length, labels.length + 1, labels.length + 2];
    labels.push(0, 2, 1);
    scores.push(0.5, 0.4, 0.3);
    const total = (g: Float64Array, rows: number[]) => rows.reduce((s, r) => s + Math.abs(g[r] as number), 0);
    const ratio = (normalise: boolean) => {
      const { grad } = lambdaGradients(labels, [a, b], Float64Array.from(scores), { sigma: 1, normalise, truncationLevel: 30 });
      return total(grad, a) / total(grad, b);
    };
    expect(ratio(true)).toBeLessThan(ratio(false) / 3);
  });

  it('weights pairs the model already separates widely less (score-distance weighting)', () => {
    const labels = [1, 0];
    const grad = (gap: number, normalise: boolean) => lambdaGradients(labels, [[0, 1]], Float64Array.from([gap, 0]), { sigma: 1, normalise, truncationLevel: 30 }).grad[0] as number;
    // Raw: the logistic alone. Normalised: also divided by 0.01 + gap before the per-query scaling.
    const rho = (gap: number) => 1 / (1 + Math.exp(gap));
    const weight = 1 - 1 / Math.log2(3);
    expect(grad(2, false)).toBeCloseTo(-weight * rho(2), 14);
    const s = (2 * weight * rho(2)) / 2.01;
    expect(grad(2, true)).toBeCloseTo((-(weight * rho(2)) / 2.01) * (Math.log2(1 + s) / s), 14);
  });

  it('ignores queries without a relevant document and pairs below the truncation level', () => {
    const labels = [0, 0, 0, 1, 0, 0];
    const groups = [
      [0, 1, 2],
      [3, 4, 5],
    ];
    // Query 2 sorted by score: rows 4, 5, 3 (the relevant one third). With truncation 1 only pairs with position 0 count.
    const scores = Float64Array.from([0.3, 0.2, 0.1, 0.1, 0.9, 0.5]);
    const { grad } = lambdaGradients(labels, groups, scores, { sigma: 1, normalise: false, truncationLevel: 1 });
    expect([grad[0], grad[1], grad[2]]).toEqual([0, 0, 0]);
    expect(grad[5]).toBe(0); // row 5 is at position 1: its pair with row 3 is below the cut
    expect(grad[4]).toBeGreaterThan(0);
    expect(grad[3]).toBeCloseTo(-(grad[4] as number), 15);
  });
});
