/** What the runtime counts, shared by the thread, the task manager, the record collector and the sender; /metrics reads it. */
export interface StreamsCounters {
  consumed: Record<string, number>;
  produced: Record<string, number>;
  deadLetters: Record<string, number>;
  events: Record<string, number>;
  transactions: number;
  restores: number;
}

export function newStreamsCounters(): StreamsCounters {
  return { consumed: {}, produced: {}, deadLetters: {}, events: {}, transactions: 0, restores: 0 };
}

/** Adds `n` to `counts[what]`. */
export function bump(counts: Record<string, number>, what: string, n = 1): void {
  counts[what] = (counts[what] ?? 0) + n;
}
