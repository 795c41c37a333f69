/**
 * The ranking-data generators of bench/ltr-quality.ts: seeded and deterministic (the same
 * count and seed give the same numbers, NaN included; the fingerprints pin them across
 * processes and versions, so the figures in BENCHMARKS.md stay reproducible), and shaped as
 * each one's header says.
 */
import { describe, expect, it } from 'vitest';
import { RANKING_GENERATORS, trainingSet } from '../../../bench/ltr-data/index.ts';
import { median, rankWithinQuery } from '../../../bench/ltr-data/dataset.ts';
import type { RankingGenerator, RankingQuery } from '../../../bench/ltr-data/dataset.ts';

const byName = (name: string) => RANKING_GENERATORS.find((g) => g.name === name) as RankingGenerator;

/** FNV-1a over every label and every feature's bits. */
function fingerprint(queries: readonly RankingQuery[]): string {
  let h = 0x811c9dc5;
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  const mix = (v: number) => {
    view.setFloat64(0, v);
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  };
  for (const q of queries) {
    q.labels.forEach(mix);
    for (const row of q.features) row.forEach(mix);
  }
  return (h >>> 0).toString(16);
}

const column = (qs: readonly RankingQuery[], g: RankingGenerator, name: string) => {
  const f = g.featureNames.indexOf(name);
  expect(f).toBeGreaterThanOrEqual(0);
  return qs.flatMap((q) => q.features.map((r) => r[f] as number));
};

describe('ranking-data generators', () => {
  it('are deterministic per seed, differ between seeds, and hand out integer labels 0-4 on rows of their declared width', () => {
    for (const g of RANKING_GENERATORS) {
      const a = g.queries(30, 7);
      expect(g.queries(30, 7)).toEqual(a);
      expect(fingerprint(g.queries(30, 8))).not.toBe(fingerprint(a));
      expect(new Set(a.map((q) => q.id)).size).toBe(30);
      for (const q of a) {
        expect(q.features.length).toBe(q.labels.length);
        for (const r of q.features) expect(r.length).toBe(g.featureNames.length);
        for (const l of q.labels) expect(Number.isInteger(l) && l >= 0 && l <= 4).toBe(true);
      }
      const set = trainingSet(a);
      expect(set.x.length).toBe(set.labels.length);
      expect(set.queries.length).toBe(set.labels.length);
    }
  });

  it('hand out the same numbers in every process (pinned fingerprints)', () => {
    expect(Object.fromEntries(['marketplace', 'web-search', 'recommendations'].map((n) => [n, fingerprint(byName(n).queries(20, 1))]))).toEqual({
      marketplace: 'ca33e8db',
      'web-search': '63528e84',
      recommendations: 'f38527a0',
    });
  });

  it('marketplace: missing ratings, fees and response rates, a per-query price rank, labels of every grade', () => {
    const g = byName('marketplace');
    const qs = g.queries(200, 3);
    for (const name of ['rating', 'cancellation_fee_share', 'response_rate', 'noise_missing']) {
      const share = column(qs, g, name).filter(Number.isNaN).length / column(qs, g, name).length;
      expect(share).toBeGreaterThan(0.1);
      expect(share).toBeLessThan(0.45);
    }
    for (const q of qs) {
      const rank = q.features.map((r) => r[g.featureNames.indexOf('price_rank')] as number);
      expect(Math.min(...rank)).toBe(0);
      expect(Math.max(...rank)).toBe(1);
    }
    const labels = qs.flatMap((q) => q.labels);
    for (let l = 0; l <= 4; l++) expect(labels.filter((x) => x === l).length / labels.length).toBeGreaterThan(0.02);
    expect(Math.min(...qs.map((q) => q.labels.length))).toBeGreaterThanOrEqual(8);
    expect(Math.max(...qs.map((q) => q.labels.length))).toBeGreaterThan(30); // longer than the truncation level
  });

  it('web search: sparse labels, missing anchor text, spam score and click-through rate, up to 120 documents a query', () => {
    const g = byName('web-search');
    const qs = g.queries(150, 3);
    const labels = qs.flatMap((q) => q.labels);
    expect(labels.filter((l) => l === 0).length / labels.length).toBeGreaterThan(0.7);
    for (const name of ['bm25_anchor', 'spam_score', 'ctr']) expect(column(qs, g, name).some(Number.isNaN)).toBe(true);
    expect(Math.max(...qs.map((q) => q.labels.length))).toBeGreaterThan(100);
    // Navigational queries have exactly one perfect page.
    const nav = g.featureNames.indexOf('is_navigational');
    for (const q of qs.filter((q) => q.features[0]![nav] === 1)) expect(q.labels.filter((l) => l === 4).length).toBeGreaterThanOrEqual(1);
  });

  it('recommendations: no single feature explains the labels, but the user-item dot product does', () => {
    const g = byName('recommendations');
    const qs = g.queries(300, 3);
    const labels = qs.flatMap((q) => q.labels);
    const corr = (xs: number[]) => {
      const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
      const my = labels.reduce((a, b) => a + b, 0) / labels.length;
      let sxy = 0;
      let sxx = 0;
      let syy = 0;
      xs.forEach((x, i) => {
        sxy += (x - mx) * ((labels[i] as number) - my);
        sxx += (x - mx) ** 2;
        syy += ((labels[i] as number) - my) ** 2;
      });
      return sxy / Math.sqrt(sxx * syy);
    };
    const dot = qs.flatMap((q) => q.features.map((r) => [0, 1, 2, 3].reduce((s, k) => s + (r[k] as number) * (r[7 + k] as number), 0)));
    for (let k = 0; k < 4; k++) {
      expect(Math.abs(corr(column(qs, g, `user_taste_${k}`)))).toBeLessThan(0.1);
      expect(Math.abs(corr(column(qs, g, `item_vector_${k}`)))).toBeLessThan(0.1);
    }
    expect(corr(dot)).toBeGreaterThan(0.3);
  });

  it('rank within a query and the median skip missing values', () => {
    expect(rankWithinQuery([3, Number.NaN, 1, 3, 2])).toEqual([2 / 3, Number.NaN, 0, 2 / 3, 1 / 3]);
    expect(median([4, Number.NaN, 1, 3])).toBe(3);
    expect(median([Number.NaN])).toBeNaN();
  });
});
