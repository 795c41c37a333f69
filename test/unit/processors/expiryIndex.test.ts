import { describe, expect, it } from 'vitest';
import { ExpiryIndex } from '../../../processors/expiryIndex.ts';

interface Entry {
  expiresAt: number;
}
const timeOf = (e: Entry) => e.expiresAt;

/** The reference: sort everything by time, then key. */
function bySort(store: Map<string, Entry>, n: number): string[] {
  return [...store]
    .sort((a, b) => a[1].expiresAt - b[1].expiresAt || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([k]) => k);
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('ExpiryIndex', () => {
  it('gives the entries that expire first, as a sort would, through rewrites and deletes', () => {
    const rnd = random(7);
    const store = new Map<string, Entry>();
    const index = ExpiryIndex.of(store, timeOf);
    for (let i = 0; i < 5_000; i++) {
      const key = `k${Math.floor(rnd() * 2_000)}`;
      const r = rnd();
      if (r < 0.15) {
        store.delete(key);
      } else {
        const e = { expiresAt: Math.floor(rnd() * 1_000) };
        store.set(key, e);
        index.add(key, e.expiresAt);
      }
      if (i % 500 === 499) {
        const want = bySort(store, 25);
        expect(index.oldest(25)).toEqual(want);
        for (const k of want) store.delete(k);
      }
    }
  });

  it('is rebuilt from the store for a store it has not seen (a restored task) and evicts the same keys', () => {
    const live = new Map<string, Entry>();
    const index = ExpiryIndex.of(live, timeOf);
    for (let i = 0; i < 1_000; i++) {
      const e = { expiresAt: (i * 7919) % 503 };
      live.set(`j${i}`, e);
      index.add(`j${i}`, e.expiresAt);
    }
    const restored = new Map([...live].reverse());
    expect(ExpiryIndex.of(restored, timeOf).oldest(50)).toEqual(index.oldest(50));
  });

  it('keeps its heap bounded by the live entries when entries are rewritten over and over', () => {
    const store = new Map<string, Entry>();
    const index = ExpiryIndex.of(store, timeOf);
    for (let i = 0; i < 50_000; i++) {
      const e = { expiresAt: i };
      store.set(`k${i % 100}`, e);
      index.add(`k${i % 100}`, i);
    }
    expect(index.indexed).toBeLessThanOrEqual(2 * store.size + 1025);
    expect(index.oldest(3)).toEqual(bySort(store, 3));
  });

  it('evicts from 100,000 entries without sorting them: a thousand evictions past the cap take well under a second', () => {
    const store = new Map<string, Entry>();
    const index = ExpiryIndex.of(store, timeOf);
    for (let i = 0; i < 100_000; i++) {
      const e = { expiresAt: (i * 104_729) % 1_000_003 };
      store.set(`k${i}`, e);
      index.add(`k${i}`, e.expiresAt);
    }
    const started = performance.now();
    let next = 100_000;
    for (let round = 0; round < 1_000; round++) {
      // One new entry over capacity, then the oldest leave (as the processor does past its cap).
      const e = { expiresAt: 1_000_003 + next };
      store.set(`k${next}`, e);
      index.add(`k${next++}`, e.expiresAt);
      for (const k of index.oldest(1)) store.delete(k);
    }
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(store.size).toBe(100_000);
  });
});
