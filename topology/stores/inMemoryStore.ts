import type { KeyValueStore } from './keyValueStore.ts';

/** The innermost layer: a Map, insertion-ordered. */
export class InMemoryStore<V> implements KeyValueStore<V> {
  private readonly map = new Map<string, V>();

  constructor(readonly name: string) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  put(key: string, value: V): void {
    this.map.set(key, value);
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get size(): number {
    return this.map.size;
  }

  entries(): IterableIterator<[string, V]> {
    return this.map.entries();
  }
}
