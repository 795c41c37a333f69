/**
 * A time index over a store's entries: a binary min-heap of (time, key), so the entries
 * that expire first are found in O(log n) each instead of sorting the whole store. Entries
 * are indexed when they are written; an index entry whose time is no longer the store
 * entry's (rewritten or deleted since) is stale and dropped when it reaches the top (lazy
 * deletion), and the heap is rebuilt from the store when stale entries outnumber live ones.
 *
 * Ties are broken by key, so the order depends on the store's content only: a task
 * restored from its changelog evicts exactly what the task before the restart would have.
 *
 * @example
 * const index = ExpiryIndex.of(store, (p) => p.expiresAt);
 * store.put(key, entry); index.add(key, entry.expiresAt);
 * for (const key of index.oldest(10)) store.delete(key);
 */

interface Indexed {
  at: number;
  key: string;
}

interface Store<V> {
  get(key: string): V | undefined;
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
}

function before(a: Indexed, b: Indexed): boolean {
  return a.at < b.at || (a.at === b.at && a.key < b.key);
}

export class ExpiryIndex<V> {
  private heap: Indexed[] = [];
  private static readonly indexes = new WeakMap<object, ExpiryIndex<unknown>>();

  private constructor(
    private readonly store: Store<V>,
    private readonly timeOf: (v: V) => number,
  ) {
    this.rebuild();
  }

  /** The index of a store (built from its entries on first use: after a restore, say). */
  static of<V>(store: Store<V>, timeOf: (v: V) => number): ExpiryIndex<V> {
    let index = ExpiryIndex.indexes.get(store) as ExpiryIndex<V> | undefined;
    if (!index) {
      index = new ExpiryIndex(store, timeOf);
      ExpiryIndex.indexes.set(store, index as ExpiryIndex<unknown>);
    }
    return index;
  }

  /** The index of a store if one was built, else undefined (a store that never needed one pays nothing). */
  static existing<V>(store: Store<V>): ExpiryIndex<V> | undefined {
    return ExpiryIndex.indexes.get(store) as ExpiryIndex<V> | undefined;
  }

  get indexed(): number {
    return this.heap.length;
  }

  /** Indexes a key just written with this time. */
  add(key: string, at: number): void {
    this.heap.push({ at, key });
    this.up(this.heap.length - 1);
    if (this.heap.length > 2 * this.store.size + 1024) this.rebuild();
  }

  /** Up to `n` live keys with the smallest times, smallest first; they are taken out of the index. */
  oldest(n: number): string[] {
    const out: string[] = [];
    const taken = new Set<string>();
    while (out.length < n && this.heap.length > 0) {
      const top = this.pop() as Indexed;
      const v = this.store.get(top.key);
      // Stale: rewritten with another time, deleted, or already taken.
      if (v === undefined || this.timeOf(v) !== top.at || taken.has(top.key)) continue;
      taken.add(top.key);
      out.push(top.key);
    }
    return out;
  }

  private rebuild(): void {
    this.heap = [];
    for (const [key, v] of this.store.entries()) this.heap.push({ at: this.timeOf(v), key });
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private pop(): Indexed | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const heap = this.heap;
    const item = heap[i] as Indexed;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent] as Indexed)) break;
      heap[i] = heap[parent] as Indexed;
      i = parent;
    }
    heap[i] = item;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[i] as Indexed;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap[child + 1] as Indexed, heap[child] as Indexed)) child++;
      if (!before(heap[child] as Indexed, item)) break;
      heap[i] = heap[child] as Indexed;
      i = child;
    }
    heap[i] = item;
  }
}
