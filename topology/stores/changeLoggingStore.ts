import type { KeyValueStore } from './keyValueStore.ts';

/** A pending changelog write: null value is a tombstone. */
export interface ChangelogEntry {
  key: string;
  value: Buffer | null;
}

/**
 * Records every change so the task can write it to the compacted changelog topic inside
 * the same transaction as the outputs and the input offsets: state, outputs and progress
 * commit or abort together. Only the last change per key within a batch is written.
 */
export class ChangeLoggingStore<V> implements KeyValueStore<V> {
  private readonly dirty = new Map<string, V | null>();

  constructor(private readonly inner: KeyValueStore<V>) {}

  get name(): string {
    return this.inner.name;
  }

  get(key: string): V | undefined {
    return this.inner.get(key);
  }

  put(key: string, value: V): void {
    this.inner.put(key, value);
    this.dirty.set(key, value);
  }

  delete(key: string): void {
    this.inner.delete(key);
    this.dirty.set(key, null);
  }

  has(key: string): boolean {
    return this.inner.has(key);
  }

  get size(): number {
    return this.inner.size;
  }

  entries(): IterableIterator<[string, V]> {
    return this.inner.entries();
  }

  /** Takes the changes made since the last call. */
  takeChanges(): ChangelogEntry[] {
    const out: ChangelogEntry[] = [];
    for (const [key, value] of this.dirty) {
      out.push({ key, value: value === null ? null : Buffer.from(JSON.stringify(value)) });
    }
    this.dirty.clear();
    return out;
  }

  /** Changes not yet taken by `takeChanges`: writes no transaction has carried yet. */
  get pendingChanges(): number {
    return this.dirty.size;
  }

  /** Puts a value loaded from a snapshot, without logging it again. */
  restoreValue(key: string, value: V): void {
    this.inner.put(key, value);
  }

  /** Applies a changelog record during restore, without logging it again. */
  restore(key: string, value: Buffer | null): void {
    if (value === null) this.inner.delete(key);
    else this.inner.put(key, JSON.parse(value.toString('utf8')) as V);
  }
}
