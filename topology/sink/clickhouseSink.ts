/**
 * Persists every input and output topic to ClickHouse: its own consumer group, reading
 * committed records only, batch inserts, offsets committed after the insert succeeds.
 * At-least-once into ReplacingMergeTree tables keyed by event_id: effectively once.
 *
 * Backpressure: rows wait in a bounded buffer per table; past `sink.maxBufferedRows` the
 * table's topics pause until an insert into it succeeds. While ClickHouse is down, inserts
 * are retried with backoff and nothing is committed, so a crash meanwhile loses nothing
 * either. Tables are independent: one that keeps refusing inserts holds back only its own
 * topics, and the others go on being written and committed.
 * Input records that do not decode are skipped here: the stream topology dead-letters them.
 *
 * A failure that retrying cannot mend (the embedded engine given up after repeated crashes,
 * its consumer stopped for good, a bug in a flush) stops the sink: it is then not ready, and the
 * instance's vital components report it, so that `run` exits non-zero. One failed flush never
 * leaves later flushes behind a rejected promise.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Config } from '../../config/options.ts';
import type { ClickHouseClient } from '../../infra/clickhouse/client.ts';
import { qualified } from '../../infra/clickhouse/client.ts';
import { TABLE_OF_ROLE, toRow } from '../../infra/clickhouse/flatten.ts';
import { INPUT_TOPICS, TOPIC_ROLES, type TopicRole } from '../../schemas/catalog.ts';
import { ArtenicError, DeadLetterError } from '../../common/errors.ts';
import { rowStream } from '../../infra/clickhouse/rowStream.ts';
import type { Logger } from '../../common/logger.ts';
import type { TopicSerde } from '../serde.ts';
import type { FetchPosition } from '../admin.ts';

export interface SinkCounters {
  rowsInserted: Record<string, number>;
  inserts: number;
  insertFailures: number;
  skipped: number;
  lastInsertMs: number;
  paused: boolean;
}

type TopicPartitionOffset = { topic: string; partition: number; offset: string };

/** Where the sink stands on a partition it owns: next fetch offset (past markers), after its last record, and its last commit. */
interface OwnedPartition {
  topic: string;
  partition: number;
  received: bigint;
  lastRecord: bigint;
  committed: bigint;
}

/** One table's rows waiting for an insert, the offsets they complete, and its retry state. */
interface TableBuffer {
  rows: Record<string, unknown>[];
  offsets: Map<string, TopicPartitionOffset>;
  failures: number;
  backoffUntil: number;
  paused: boolean;
}

export class ClickHouseSink {
  readonly counters: SinkCounters = { rowsInserted: {}, inserts: 0, insertFailures: 0, skipped: 0, lastInsertMs: 0, paused: false };
  private consumer?: Consumer;
  private readonly tables = new Map<string, TableBuffer>();
  private flushing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private readonly roleByTopic: Map<string, TopicRole>;
  private stopped = false;
  private started = false;
  private readonly owned = new Map<string, OwnedPartition>();
  /** Observer of each successful insert: rows and seconds. */
  onInsert?: (rows: number, seconds: number) => void;
  /** Called once when the sink stopped for good (its consumer will not restart, or its engine was given up): the instance is then not ready. */
  onFatal?: (err: Error) => void;
  private failure: Error | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    private readonly serde: TopicSerde,
    private readonly client: ClickHouseClient,
    private readonly logger: Logger,
  ) {
    this.roleByTopic = new Map(TOPIC_ROLES.map((r) => [config.topics[r], r]));
  }

  get groupId(): string {
    return `${this.config.kafka.applicationId}-clickhouse-sink`;
  }

  /** Every topic the sink persists. */
  get subscribedTopics(): string[] {
    return [...this.roleByTopic.keys()];
  }

  get ready(): boolean {
    return this.started && !this.stopped && this.failure === null;
  }

  /** Why the sink stopped for good, if it did. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Stops taking records for good and reports it: what is buffered stays uncommitted, so the next instance re-reads it. */
  private die(err: unknown): void {
    if (this.failure) return;
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.logger.error({ err: this.failure }, 'ClickHouse sink failed for good: it no longer writes (not ready)');
    if (this.timer) clearInterval(this.timer);
    this.consumer?.pause([...this.roleByTopic.keys()].map((topic) => ({ topic })));
    this.onFatal?.(this.failure);
  }

  get bufferedRows(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.rows.length;
    return n;
  }

  private tableBuffer(table: string): TableBuffer {
    let t = this.tables.get(table);
    if (!t) {
      t = { rows: [], offsets: new Map(), failures: 0, backoffUntil: 0, paused: false };
      this.tables.set(table, t);
    }
    return t;
  }

  private topicsOf(table: string): Array<{ topic: string }> {
    return [...this.roleByTopic].filter(([, role]) => TABLE_OF_ROLE(role) === table).map(([topic]) => ({ topic }));
  }

  private setPaused(table: string, t: TableBuffer, paused: boolean): void {
    if (t.paused === paused) return;
    t.paused = paused;
    if (paused) this.consumer?.pause(this.topicsOf(table));
    else this.consumer?.resume(this.topicsOf(table));
    this.counters.paused = [...this.tables.values()].some((b) => b.paused);
    if (paused) this.logger.warn({ table, buffered: t.rows.length }, 'sink buffer of a table full: its topics paused until ClickHouse accepts an insert into it');
    else this.logger.info({ table }, 'sink caught up on a table: its topics resumed');
  }

  async start(): Promise<void> {
    this.consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      sessionTimeout: this.config.kafka.sessionTimeoutMs,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 200,
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) return;
      this.logger.error({ err: payload.error }, 'ClickHouse sink consumer crashed and will not restart: nothing is written any more');
      this.die(payload.error);
    });
    // Fetch positions, for consumer lag: every fetch moves one, those of only commit markers too.
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, ps]) => (ps as number[]).map((p) => `${topic}|${p}`)));
      for (const key of this.owned.keys()) if (!assigned.has(key)) this.owned.delete(key);
    });
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = `${payload.topic}|${payload.partition}`;
      const next = BigInt(payload.lastOffset) + 1n;
      const o = this.owned.get(key);
      if (o) {
        if (next > o.received) o.received = next;
      } else if (payload.batchSize === 0) {
        // Only markers (or aborted data) since this partition came: nothing of it is pending.
        const from = BigInt(payload.firstOffset ?? payload.lastOffset);
        this.owned.set(key, { topic: payload.topic, partition: payload.partition, received: next, lastRecord: from, committed: from });
      }
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.die(payload.error);
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.roleByTopic.keys()], fromBeginning: true });
    this.timer = setInterval(() => void this.flush(), this.config.sink.flushIntervalMs);
    this.started = true;
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.onBatch(p) });
  }

  private async onBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    const role = this.roleByTopic.get(batch.topic);
    if (!role) return;
    const table = TABLE_OF_ROLE(role);
    // The same acceptance rules as the topology, so raw tables hold exactly the records it
    // processed and the DLQ table the rest. Output topics are written by us and always pass.
    const isInput = (INPUT_TOPICS as readonly string[]).includes(role);
    const bounds = isInput
      ? { minEventTimeMs: this.config.validation.minEventTimeMs, maxEventTimeMs: Date.now() + this.config.validation.maxFutureSkewMs }
      : { minEventTimeMs: Number.NEGATIVE_INFINITY, maxEventTimeMs: Number.POSITIVE_INFINITY };
    const t = this.tableBuffer(table);
    const key = `${batch.topic}|${batch.partition}`;
    const first = batch.messages[0];
    if (first && !this.owned.has(key)) {
      const from = BigInt(first.offset);
      this.owned.set(key, { topic: batch.topic, partition: batch.partition, received: from, lastRecord: from, committed: from });
    }
    const owned = this.owned.get(key);
    for (const m of batch.messages) {
      try {
        if (isInput && m.value && m.value.length > this.config.validation.maxRecordBytes) throw new DeadLetterError('RECORD_TOO_LARGE', 'too large');
        const record = (await this.serde.decode(role, m.value, bounds)) as unknown as Record<string, unknown>;
        t.rows.push(toRow(role, record, { topic: batch.topic, partition: batch.partition, offset: m.offset }));
      } catch (err) {
        if (!(err instanceof DeadLetterError)) throw err;
        this.counters.skipped++;
      }
      t.offsets.set(key, { topic: batch.topic, partition: batch.partition, offset: (BigInt(m.offset) + 1n).toString() });
      resolveOffset(m.offset);
      if (owned) owned.lastRecord = BigInt(m.offset) + 1n;
    }
    await heartbeat();
    if (t.rows.length >= this.config.sink.maxBufferedRows) this.setPaused(table, t, true);
    if (this.bufferedRows >= this.config.sink.flushRows) await this.flush();
  }

  /**
   * Inserts what is buffered, then commits its offsets. Serialised; safe to call any time.
   * Never rejects: a flush that fails other than by an insert to retry stops the sink (`die`).
   */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce()).catch((err: unknown) => this.die(err));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.failure) return;
    const committable: TopicPartitionOffset[] = [];
    for (const [table, t] of this.tables) {
      if ((t.rows.length === 0 && t.offsets.size === 0) || Date.now() < t.backoffUntil) continue;
      const rows = t.rows;
      const offsets = t.offsets;
      t.rows = [];
      t.offsets = new Map();
      const started = Date.now();
      try {
        // Encoded a slice at a time, so that a large batch does not hold the event loop.
        if (rows.length > 0) await this.client.insert({ table: qualified(this.config.clickhouse.database, table), values: rowStream(rows), format: 'JSONEachRow' });
      } catch (err) {
        // Not worth retrying: the engine was given up. Rows and offsets go back, uncommitted.
        if (err instanceof ArtenicError && !err.retriable && err.code === 'CLICKHOUSE_CRASHED') {
          t.rows = [...rows, ...t.rows];
          t.offsets = new Map([...offsets, ...t.offsets]);
          throw err;
        }
        // Put them back in front of what arrived meanwhile (whose offsets are later, so they
        // win), and back off this table only. A retry that repeats rows is deduplicated.
        t.rows = [...rows, ...t.rows];
        t.offsets = new Map([...offsets, ...t.offsets]);
        this.counters.insertFailures++;
        t.failures++;
        const delay = Math.min(100 * 2 ** t.failures, 10_000);
        t.backoffUntil = Date.now() + delay;
        this.logger.warn({ err: (err as Error).message, table, buffered: t.rows.length, retryInMs: delay }, 'ClickHouse insert failed; will retry');
        continue;
      }
      t.failures = 0;
      if (rows.length > 0) {
        this.counters.inserts++;
        this.counters.lastInsertMs = Date.now() - started;
        this.onInsert?.(rows.length, this.counters.lastInsertMs / 1000);
        this.counters.rowsInserted[table] = (this.counters.rowsInserted[table] ?? 0) + rows.length;
      }
      committable.push(...offsets.values());
      if (t.paused && t.rows.length < this.config.sink.maxBufferedRows) this.setPaused(table, t, false);
    }
    if (committable.length === 0) return;
    try {
      await this.consumer?.commitOffsets(committable);
      for (const c of committable) {
        const o = this.owned.get(`${c.topic}|${c.partition}`);
        if (o && BigInt(c.offset) > o.committed) o.committed = BigInt(c.offset);
      }
    } catch (err) {
      // A rebalance moved a partition: its new owner re-reads from the last commit, and
      // the table deduplicates the overlap.
      this.logger.warn({ err: (err as Error).message }, 'sink offset commit failed after insert; rows will be re-read and deduplicated');
    }
  }

  /** Per topic and owned partition: the fetch position and the records not yet committed (for consumer lag). */
  fetchPositions(): Map<string, Map<number, FetchPosition>> {
    const out = new Map<string, Map<number, FetchPosition>>();
    for (const o of this.owned.values()) {
      let byPartition = out.get(o.topic);
      if (!byPartition) out.set(o.topic, (byPartition = new Map()));
      byPartition.set(o.partition, { received: o.received > o.lastRecord ? o.received : o.lastRecord, pending: Math.max(0, Number(o.lastRecord - o.committed)) });
    }
    return out;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // Stop taking records, write what is buffered and commit it while still in the group.
    this.consumer?.pause([...this.roleByTopic.keys()].map((topic) => ({ topic })));
    for (const t of this.tables.values()) t.backoffUntil = 0;
    await this.flush().catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
