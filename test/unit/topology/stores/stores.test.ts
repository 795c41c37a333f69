/** One contract suite, run by every store layer. */
import { describe, expect, it } from 'vitest';
import { buildLoggedStore, ChangeLoggingStore, InMemoryStore, MeteredStore, type KeyValueStore } from '../../../../topology/stores/index.ts';

const layers: Array<[string, () => KeyValueStore<{ n: number }>]> = [
  ['in-memory', () => new InMemoryStore('s')],
  ['change-logging', () => new ChangeLoggingStore(new InMemoryStore('s'))],
  ['metered', () => new MeteredStore(new InMemoryStore('s'))],
  ['assembled', () => buildLoggedStore<{ n: number }>('s').store],
];

describe.each(layers)('%s store contract', (_name, make) => {
  it('puts, gets, deletes and counts', () => {
    const s = make();
    s.put('a', { n: 1 });
    s.put('b', { n: 2 });
    s.put('a', { n: 3 });
    expect(s.get('a')).toEqual({ n: 3 });
    expect(s.size).toBe(2);
    s.delete('a');
    expect(s.has('a')).toBe(false);
    expect([...s.entries()]).toEqual([['b', { n: 2 }]]);
  });
});

describe('change logging', () => {
  it('drains the last change per key, tombstones included, and restores from them', () => {
    const { store, changelog } = buildLoggedStore<{ n: number }>('s');
    store.put('a', { n: 1 });
    store.put('a', { n: 2 });
    store.put('b', { n: 3 });
    store.delete('b');
    const changes = changelog.takeChanges();
    expect(changes.map((c) => [c.key, c.value?.toString() ?? null])).toEqual([['a', '{"n":2}'], ['b', null]]);
    expect(changelog.takeChanges()).toEqual([]);
    const restored = buildLoggedStore<{ n: number }>('s');
    for (const c of changes) restored.changelog.restore(c.key, c.value);
    expect([...restored.store.entries()]).toEqual([['a', { n: 2 }]]);
    expect(restored.changelog.takeChanges()).toEqual([]);
  });

  it('meters operations', () => {
    const { store } = buildLoggedStore<number>('s');
    store.put('a', 1);
    store.get('a');
    store.delete('a');
    expect(store.metrics).toEqual({ reads: 1, writes: 1, deletes: 1 });
  });
});
