/**
 * The storage model over a history of accesses, outside the stream: the same StorageModel the
 * stream runs, fed in event-time order. The reporting layer (`reporting/storage.ts`) calls it
 * with the history kept in ClickHouse, so on-demand advice equals the stream's.
 */
import type { DatasetAccess } from '../../schemas/generated/records.ts';
import { InMemoryStore } from '../../topology/stores/inMemoryStore.ts';
import { StorageModel, type DatasetState, type StorageModelOptions } from './model.ts';

/** Replays accesses (any order; they are sorted by event time) and returns the model. */
export function replayAccesses(accesses: DatasetAccess[], options: StorageModelOptions): { model: StorageModel; lastEventTime: number } {
  const model = new StorageModel(new InMemoryStore<DatasetState>('datasets'), new InMemoryStore<number>('clock'), options);
  const sorted = [...accesses].sort((a, b) => a.event_time - b.event_time || a.event_id.localeCompare(b.event_id));
  for (const a of sorted) model.onAccess(a);
  return { model, lastEventTime: sorted.at(-1)?.event_time ?? 0 };
}
