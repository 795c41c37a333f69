/**
 * A task's buffered input, merged in event-time order across its topics, as Kafka Streams'
 * PartitionGroup does. Without it, a task working through a backlog consumes each topic
 * at its own pace: outcomes ran hours of event time ahead of their dispatches, the task's
 * stream time with them, and the dispatches then arrived "late" (and joins waited past
 * their bounds). Here a task takes the buffered record with the smallest event time next,
 * and stops while an input that is known to have more records has none buffered, waiting
 * for its fetch at most `maxTaskIdleMs` (Kafka Streams' max.task.idle.ms), and never before
 * two fetches went by without it: a consumer busy processing fetches seldom, and wall time
 * alone let outcomes run ahead again whenever processing outlasted the bound.
 *
 * Pure bookkeeping: no Kafka, no clock of its own (the caller passes `now`).
 */
import type { Decoded } from './operators/decodeRecords.ts';

export interface BufferedRecord {
  readonly decoded: Decoded;
  /** Event time; records that failed to decode have none and go first (-Infinity). */
  readonly eventTime: number;
  readonly offset: bigint;
}

export interface TakenRecord extends BufferedRecord {
  readonly topic: string;
}

interface InputState {
  buffer: BufferedRecord[];
  head: number;
  /** Next offset this task has not yet received (buffered or not). */
  received: bigint;
  /** The partition's end as last seen (fetch high watermark, or the end offset at assignment). */
  end: bigint;
  /** Next offset not yet handed out by take(). */
  taken: bigint;
  /** Next offset after the records whose transaction committed. */
  committed: bigint;
  /** When (wall time and fetch round) this input was first found empty while behind its end, for the idle bound. */
  emptySince?: { at: number; round: number };
  /** The idle bound ran out: the task goes on without this input until it delivers again. */
  idleExpired?: boolean;
}

export interface TakeResult {
  records: TakenRecord[];
  /** Set when taking stopped to wait for an input that is behind: retry after this many ms (0: after the next fetches). */
  waitMs?: number;
  /** The input waited for. */
  waitingOn?: string;
}

export interface PartitionGroupOptions {
  /** Topics whose backlog holds the others back (the task's source topics; not repartition topics). */
  alignedTopics: ReadonlySet<string>;
  maxTaskIdleMs: number;
  /** An input's idle bound ran out: the task goes on without it until it delivers again. */
  onIdleExpired?: (topic: string) => void;
}

export class PartitionGroup {
  private readonly inputs = new Map<string, InputState>();
  constructor(private readonly options: PartitionGroupOptions) {}

  private state(topic: string, from: bigint): InputState {
    let s = this.inputs.get(topic);
    if (!s) {
      s = { buffer: [], head: 0, received: from, end: from, taken: from, committed: from };
      this.inputs.set(topic, s);
    }
    return s;
  }

  /** The input's position before any record arrived: its committed offset and its end. */
  observeStart(topic: string, next: bigint, end: bigint): void {
    const s = this.state(topic, next);
    if (s.buffer.length - s.head === 0 && s.received <= next) {
      s.received = next;
      s.taken = next;
      s.committed = next;
    }
    if (end > s.end) s.end = end;
  }

  /** Records fetched for `topic`, in offset order; `end` is the fetch's high watermark. */
  add(topic: string, records: readonly BufferedRecord[], next: bigint, end: bigint): void {
    const s = this.state(topic, records[0]?.offset ?? next);
    for (const r of records) s.buffer.push(r);
    if (next > s.received) s.received = next;
    if (end > s.end) s.end = end;
    if (records.length > 0) {
      s.emptySince = undefined;
      s.idleExpired = undefined;
    }
  }

  /** A fetch that held no deliverable record (control records, aborted data) still moves the position. */
  observePosition(topic: string, next: bigint, end: bigint): void {
    const s = this.inputs.get(topic);
    if (!s) return;
    if (next > s.received) s.received = next;
    if (end > s.end) s.end = end;
    if (!this.behind(s)) {
      s.emptySince = undefined;
      s.idleExpired = undefined;
    }
  }

  buffered(topic: string): number {
    const s = this.inputs.get(topic);
    return s ? s.buffer.length - s.head : 0;
  }

  get totalBuffered(): number {
    let n = 0;
    for (const s of this.inputs.values()) n += s.buffer.length - s.head;
    return n;
  }

  /** Per input: the next offset to fetch (past markers) and the records fetched but not committed (for consumer lag). */
  positions(): Map<string, { received: bigint; pending: number }> {
    const out = new Map<string, { received: bigint; pending: number }>();
    for (const [topic, s] of this.inputs) out.set(topic, { received: s.received, pending: s.buffer.length - s.head + Math.max(0, Number(s.taken - s.committed)) });
    return out;
  }

  /** The records taken so far have committed. */
  markCommitted(): void {
    for (const s of this.inputs.values()) s.committed = s.taken;
  }

  /** Per input, the next offset after what committed: where consumption resumes if the buffers are lost. */
  committedPositions(): Map<string, bigint> {
    return new Map([...this.inputs].map(([topic, s]) => [topic, s.committed]));
  }

  private behind(s: InputState): boolean {
    // A transactional producer's commit marker takes one offset after its last record.
    return s.end - s.received > 1n;
  }

  /**
   * Takes up to `max` buffered records, smallest event time first (offset order within
   * a topic). Stops early when an aligned input that is behind its end has nothing
   * buffered, unless it has been so for `maxTaskIdleMs` and over two fetch rounds
   * (`round` counts the consumer's completed fetches).
   */
  take(max: number, now: number, round = 0): TakeResult {
    const records: TakenRecord[] = [];
    let waitMs: number | undefined;
    let waitingOn: string | undefined;
    while (records.length < max) {
      let best: { topic: string; s: InputState; r: BufferedRecord } | undefined;
      let blocked = false;
      for (const [topic, s] of this.inputs) {
        if (s.head < s.buffer.length) {
          const r = s.buffer[s.head] as BufferedRecord;
          if (!best || r.eventTime < best.r.eventTime) best = { topic, s, r };
          continue;
        }
        if (!this.options.alignedTopics.has(topic) || !this.behind(s) || s.idleExpired) continue;
        s.emptySince ??= { at: now, round };
        const left = Math.max(0, s.emptySince.at + this.options.maxTaskIdleMs - now);
        if (left > 0 || round - s.emptySince.round < 2) {
          blocked = true;
          if (waitMs === undefined || left < waitMs) {
            waitMs = left;
            waitingOn = topic;
          }
        } else {
          s.idleExpired = true;
          this.options.onIdleExpired?.(topic);
        }
      }
      if (blocked || !best) break;
      best.s.head++;
      best.s.taken = best.r.offset + 1n;
      records.push({ ...best.r, topic: best.topic });
    }
    this.compact();
    return waitMs !== undefined && records.length < max ? { records, waitMs, waitingOn } : { records };
  }

  private compact(): void {
    for (const s of this.inputs.values()) {
      if (s.head > 0 && s.head * 2 >= s.buffer.length) {
        s.buffer = s.buffer.slice(s.head);
        s.head = 0;
      }
    }
  }
}
