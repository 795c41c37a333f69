/**
 * The key-value store contract every layer implements (in-memory, change-logging,
 * metered), as in Kafka Streams. Keys are strings; values are plain JSON-serialisable data.
 * A store belongs to one task (one partition) and is used from one pipeline at a time.
 */
export interface KeyValueStore<V> {
  readonly name: string;
  get(key: string): V | undefined;
  put(key: string, value: V): void;
  delete(key: string): void;
  has(key: string): boolean;
  readonly size: number;
  /** Iterates a snapshot-safe view; deleting the current key while iterating is allowed. */
  entries(): IterableIterator<[string, V]>;
}

/** How a store is declared by a processor. */
export interface StoreSpec {
  name: string;
}

/** `<applicationId>-<store>-changelog`, as Kafka Streams names it. */
export function changelogTopic(applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`;
}
