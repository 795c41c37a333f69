import type { KeyValueStore } from './keyValueStore.ts';

export interface StoreMetrics {
  reads: number;
  writes: number;
  deletes: number;
}

/** The outer layer: counts operations, for /metrics and the status summary. */
export class MeteredStore<V> implements KeyValueStore<V> {
  readonly metrics: StoreMetrics = { reads: 0, writes: 0, deletes: 0 };

  constructor(private readonly inner: KeyValueStore<V>) {}

  get name(): string {
    return this.inner.name;
  }

  get(key: string): V | undefined {
    this.metrics.reads++;
    return this.inner.get(key);
  }

  put(key: string, value: V): void {
    this.metrics.writes++;
    this.inner.put(key, value);
  }

  delete(key: string): void {
    this.metrics.deletes++;
    this.inner.delete(key);
  }

  has(key: string): boolean {
    this.metrics.reads++;
    return this.inner.has(key);
  }

  get size(): number {
    return this.inner.size;
  }

  entries(): IterableIterator<[string, V]> {
    return this.inner.entries();
  }
}
