/**
 * The transactional sender (Kafka Streams' StreamsProducer): the transactional producer's
 * lifecycle, one transaction per commit holding a task's requests and its input offsets,
 * the retries of a transaction the coordinator was not ready for, and what happens when an
 * outcome is unknown.
 *
 * Lifecycle: `start()` once (initialises the transactional id: fences a predecessor with the
 * same id and aborts the transaction it left open), then `commit()` any number of times,
 * one at a time; `close()` last.
 */
import { Partitioners, type Kafka, type Message, type Producer, type RecordMetadata } from 'kafkajs';
import type { Config } from '../config/options.ts';
import type { Logger } from '../common/logger.ts';
import { bump, type StreamsCounters } from './streamsCounters.ts';

/** One request of a transaction: records per topic, at most one broker request's worth. */
export type TopicMessages = Array<{ topic: string; messages: Message[] }>;

export class TransactionalSender {
  private producer?: Producer;
  /** The producer's transaction state is unknown (an abort failed): replace it before the next transaction. */
  private broken = false;
  /** Input topic-partitions ("topic:partition") whose last transaction may or may not have committed. */
  private readonly uncertain = new Set<string>();
  /** [restore] What the last committed transaction wrote, per `topic|partition`: the offset after its last record, and how many records. */
  lastWritten: ReadonlyMap<string, { next: bigint; records: number }> = new Map();

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    private readonly counters: StreamsCounters,
    private readonly logger: Logger,
  ) {}

  get groupId(): string {
    return this.config.kafka.applicationId;
  }

  get transactionalId(): string {
    return `${this.config.kafka.applicationId}-${this.config.kafka.instanceId}`;
  }

  /**
   * Connects and initialises the transactional id. This comes first: it fences this
   * instance's predecessor and aborts the transaction a crash left open, which would
   * otherwise hold every read_committed reader of the topics it wrote (global tables
   * included) until the transaction timeout.
   */
  async start(): Promise<void> {
    this.producer = this.newProducer();
    await this.producer.connect();
    // kafkajs initialises the transactional id on the first transaction, not on connect.
    await (await this.producer.transaction()).abort();
  }

  /** One transactional id per instance: a restarted instance fences its predecessor and aborts whatever transaction the predecessor left open. */
  private newProducer(): Producer {
    return this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.config.kafka.transactionTimeoutMs,
      allowAutoTopicCreation: false,
      // The coordinator answers CONCURRENT_TRANSACTIONS while it still writes the previous
      // transaction's markers (milliseconds); retry soon, as the Java client does.
      retry: { retries: 10, initialRetryTime: 20, maxRetryTime: 1_000 },
    });
  }

  /** The state of the transaction in flight is unknown (a restore's barrier failed, say): replace the producer before the next one. */
  markBroken(): void {
    this.broken = true;
  }

  /**
   * The transactional producer. After an abort that failed (the broker went away in the
   * middle of a transaction) kafkajs' producer is stuck in ABORTING and refuses every new
   * transaction, so it is replaced: a new producer with the same transactional id is
   * initialised once the broker answers, and the coordinator first completes or aborts the
   * transaction left open, whose outcome `resolveUncertain` then reads from the committed offsets.
   */
  async transactionalProducer(): Promise<Producer> {
    if (this.producer && !this.broken) return this.producer;
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = this.newProducer();
    await this.producer.connect();
    this.broken = false;
    bump(this.counters.events, 'producer_resets');
    this.logger.warn('transactional producer replaced after a transaction whose abort failed');
    return this.producer;
  }

  /** The committed offset of an input partition whose last transaction has an unknown outcome, once; null when none is. */
  async resolveUncertain(topic: string, partition: number): Promise<bigint | null> {
    const key = `${topic}:${partition}`;
    if (!this.uncertain.has(key)) return null;
    await this.transactionalProducer();
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId: this.groupId, topics: [topic] });
      const committed = offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
      this.uncertain.delete(key);
      this.logger.warn({ topic, partition, committed }, 'a transaction with an unknown outcome: records below the committed offset are skipped, the rest processed again');
      return BigInt(committed);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * Sends `requests` and commits the input `offsets` of `partition` in one transaction.
   * False (aborted) when `stillCurrent()` says a rebalance began meanwhile. Throws when the
   * transaction fails for good; when even its abort failed, the outcome is unknown and the
   * partition's offsets are read again before it is processed (`resolveUncertain`).
   */
  async commit(requests: readonly TopicMessages[], partition: number, offsets: ReadonlyMap<string, bigint>, stillCurrent: () => boolean): Promise<boolean> {
    // The coordinator may still be finishing the previous transaction
    // (CONCURRENT_TRANSACTIONS); the same content is sent again in a fresh transaction.
    // An aborted attempt is invisible to read_committed readers.
    for (let attempt = 0; ; attempt++) {
      const producer = await this.transactionalProducer();
      const txn = await producer.transaction();
      const written = new Map<string, { next: bigint; records: number }>();
      try {
        for (const topicMessages of requests) noteWritten(written, topicMessages, await txn.sendBatch({ topicMessages, acks: -1 }));
        await txn.sendOffsets({
          consumerGroupId: this.groupId,
          topics: [...offsets].map(([topic, next]) => ({ topic, partitions: [{ partition, offset: next.toString() }] })),
        });
        if (!stillCurrent()) {
          await txn.abort();
          return false;
        }
        await txn.commit();
        this.counters.transactions++;
        this.lastWritten = written;
        return true;
      } catch (err) {
        let aborted = true;
        await txn.abort().catch(() => {
          aborted = false;
        });
        if (!aborted) {
          // The commit may or may not have happened: never send the same content again
          // blindly. The batch fails; before the partition is processed again, the committed
          // offset tells which (resolveUncertain).
          this.broken = true;
          for (const topic of offsets.keys()) this.uncertain.add(`${topic}:${partition}`);
          throw err;
        }
        if (!(err as { retriable?: boolean }).retriable || attempt >= 10) throw err;
        bump(this.counters.events, 'transaction_retries');
        await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** attempt, 2_000)));
      }
    }
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch((err) => this.logger.warn({ err }, 'producer disconnect failed'));
  }
}

/**
 * [restore] Where one request's records landed: per topic-partition, the broker's base offset
 * of the batch plus the records sent there (kafkajs sends one batch per partition per request).
 */
export function noteWritten(written: Map<string, { next: bigint; records: number }>, request: TopicMessages, metadata: RecordMetadata[]): void {
  const counts = new Map<string, number>();
  for (const { topic, messages } of request) {
    for (const m of messages) {
      if (m.partition === undefined) continue; // only records with an explicit partition (changelogs) are tracked
      const key = `${topic}|${m.partition}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  for (const md of metadata) {
    const key = `${md.topicName}|${md.partition}`;
    const n = counts.get(key);
    if (n === undefined || md.baseOffset === undefined) continue;
    const next = BigInt(md.baseOffset) + BigInt(n);
    const prev = written.get(key);
    written.set(key, { next: prev && prev.next > next ? prev.next : next, records: (prev?.records ?? 0) + n });
  }
}
