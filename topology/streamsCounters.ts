/** What the runtime counts, shared by the thread, the task manager, the record collector and the sender; /metrics reads it. */
export interface StreamsCounters {
  consumed: Record<string, number>;
  produced: Record<string, number>;
  deadLetters: Record<string, number>;
  events: Record<string, number>;
  transactions: number;
  restores: number;
  /** [restore] Changelog records read and applied while restoring tasks (the tail after a snapshot, or all). */
  restoredRecords: number;
  /** [restore] Store entries loaded from task snapshots. */
  restoredSnapshotEntries: number;
  /** [restore] Time spent restoring, in ms. */
  restoreMs: number;
  /** [partitioner] Records on the wrong partition for their key, per input topic and action (reroute, dlq). */
  mispartitioned: Record<string, Record<string, number>>;
}

export function newStreamsCounters(): StreamsCounters {
  return { consumed: {}, produced: {}, deadLetters: {}, events: {}, transactions: 0, restores: 0, restoredRecords: 0, restoredSnapshotEntries: 0, restoreMs: 0, mispartitioned: {} };
}

/** Adds `n` to `counts[what]`. */
export function bump(counts: Record<string, number>, what: string, n = 1): void {
  counts[what] = (counts[what] ?? 0) + n;
}
