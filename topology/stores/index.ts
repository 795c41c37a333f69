import { ChangeLoggingStore } from './changeLoggingStore.ts';
import { InMemoryStore } from './inMemoryStore.ts';
import { MeteredStore } from './meteredStore.ts';

export * from './keyValueStore.ts';
export { ChangeLoggingStore, type ChangelogEntry } from './changeLoggingStore.ts';
export { InMemoryStore } from './inMemoryStore.ts';
export { MeteredStore, type StoreMetrics } from './meteredStore.ts';

/** The layers, assembled in one place: metered(change-logging(in-memory)). */
export interface LoggedStore<V> {
  store: MeteredStore<V>;
  changelog: ChangeLoggingStore<V>;
}

export function buildLoggedStore<V>(name: string): LoggedStore<V> {
  const changelog = new ChangeLoggingStore<V>(new InMemoryStore<V>(name));
  return { store: new MeteredStore<V>(changelog), changelog };
}
