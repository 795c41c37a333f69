/**
 * Persists every input and output topic to ClickHouse: its own consumer group, reading
 * committed records only, batch inserts, offsets committed after the insert succeeds.
 * At-least-once into ReplacingMergeTree tables keyed by event_id: effectively once.
 *
 * Backpressure: rows wait in a bounded buffer; past `sink.maxBufferedRows` consumption
 * pauses until an insert succeeds. While ClickHouse is down, inserts are retried with
 * backoff and nothing is committed, so a crash meanwhile loses nothing either.
 * Input records that do not decode are skipped here: the stream topology dead-letters them.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Config } from '../../config/options.ts';
import type { ClickHouseClient } from '../../infra/clickhouse/client.ts';
import { qualified } from '../../infra/clickhouse/client.ts';
import { TABLE_OF_ROLE, toRow } from '../../infra/clickhouse/flatten.ts';
import { INPUT_TOPICS, TOPIC_ROLES, type TopicRole } from '../../schemas/catalog.ts';
import { DeadLetterError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { TopicSerde } from '../serde.ts';

export interface SinkCounters {
  rowsInserted: Record<string, number>;
  inserts: number;
  insertFailures: number;
  skipped: number;
  lastInsertMs: number;
  paused: boolean;
}

export class ClickHouseSink {
  readonly counters: SinkCounters = { rowsInserted: {}, inserts: 0, insertFailures: 0, skipped: 0, lastInsertMs: 0, paused: false };
  private consumer?: Consumer;
  private buffer = new Map<string, Record<string, unknown>[]>();
  private offsets = new Map<string, { topic: string; partition: number; offset: string }>();
  private buffered = 0;
  private flushing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private readonly roleByTopic: Map<string, TopicRole>;
  private stopped = false;
  private started = false;
  /** Observer of each successful insert: rows and seconds. */
  onInsert?: (rows: number, seconds: number) => void;
  private backoffUntil = 0;
  private failures = 0;

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
    return this.started && !this.stopped;
  }

  get bufferedRows(): number {
    return this.buffered;
  }

  async start(): Promise<void> {
    this.consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      sessionTimeout: this.config.kafka.sessionTimeoutMs,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 200,
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
    for (const m of batch.messages) {
      try {
        if (isInput && m.value && m.value.length > this.config.validation.maxRecordBytes) throw new DeadLetterError('RECORD_TOO_LARGE', 'too large');
        const record = (await this.serde.decode(role, m.value, bounds)) as unknown as Record<string, unknown>;
        const rows = this.buffer.get(table) ?? [];
        rows.push(toRow(role, record, { topic: batch.topic, partition: batch.partition, offset: m.offset }));
        this.buffer.set(table, rows);
        this.buffered++;
      } catch (err) {
        if (!(err instanceof DeadLetterError)) throw err;
        this.counters.skipped++;
      }
      this.offsets.set(`${batch.topic}|${batch.partition}`, { topic: batch.topic, partition: batch.partition, offset: (BigInt(m.offset) + 1n).toString() });
      resolveOffset(m.offset);
    }
    await heartbeat();
    if (this.buffered >= this.config.sink.maxBufferedRows && !this.counters.paused) {
      this.consumer?.pause([...this.roleByTopic.keys()].map((topic) => ({ topic })));
      this.counters.paused = true;
      this.logger.warn({ buffered: this.buffered }, 'sink buffer full: consumption paused until ClickHouse accepts an insert');
    }
    if (this.buffered >= this.config.sink.flushRows) await this.flush();
  }

  /** Inserts what is buffered, then commits its offsets. Serialised; safe to call any time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce());
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.buffered === 0 || Date.now() < this.backoffUntil) return;
    const buffer = this.buffer;
    const offsets = this.offsets;
    const count = this.buffered;
    this.buffer = new Map();
    this.offsets = new Map();
    this.buffered = 0;
    const started = Date.now();
    try {
      for (const [table, rows] of buffer) {
        await this.client.insert({ table: qualified(this.config.clickhouse.database, table), values: rows, format: 'JSONEachRow' });
      }
    } catch (err) {
      // Put everything back in front of what arrived meanwhile (whose offsets are later, so
      // they win), and back off. Tables already written are deduplicated on the retry.
      for (const [table, rows] of this.buffer) buffer.set(table, [...(buffer.get(table) ?? []), ...rows]);
      this.buffer = buffer;
      this.offsets = new Map([...offsets, ...this.offsets]);
      this.buffered += count;
      this.counters.insertFailures++;
      this.failures++;
      const delay = Math.min(100 * 2 ** this.failures, 10_000);
      this.backoffUntil = Date.now() + delay;
      this.logger.warn({ err: (err as Error).message, buffered: this.buffered, retryInMs: delay }, 'ClickHouse insert failed; will retry');
      return;
    }
    this.failures = 0;
    this.counters.inserts++;
    this.counters.lastInsertMs = Date.now() - started;
    this.onInsert?.(count, this.counters.lastInsertMs / 1000);
    for (const [table, rows] of buffer) this.counters.rowsInserted[table] = (this.counters.rowsInserted[table] ?? 0) + rows.length;
    try {
      await this.consumer?.commitOffsets([...offsets.values()]);
    } catch (err) {
      // A rebalance moved a partition: its new owner re-reads from the last commit, and
      // the table deduplicates the overlap.
      this.logger.warn({ err: (err as Error).message }, 'sink offset commit failed after insert; rows will be re-read and deduplicated');
    }
    if (this.counters.paused && this.buffered < this.config.sink.maxBufferedRows) {
      this.consumer?.resume([...this.roleByTopic.keys()].map((topic) => ({ topic })));
      this.counters.paused = false;
      this.logger.info('sink caught up: consumption resumed');
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // Stop taking records, write what is buffered and commit it while still in the group.
    this.consumer?.pause([...this.roleByTopic.keys()].map((topic) => ({ topic })));
    this.backoffUntil = 0;
    await this.flush().catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
