/**
 * The transactional sender of one task (Kafka Streams' StreamsProducer under EOS-alpha): the
 * task's own transactional producer, with the id `<applicationId>-<partition>`, one
 * transaction per commit holding the task's requests and its input offsets, the retries of a
 * transaction the coordinator was not ready for, and what an unknown outcome or a fence means.
 *
 * Why one producer per task: kafkajs sends TxnOffsetCommit without the group's generation and
 * member id (no KIP-447), so a consumer that missed a rebalance could still commit. With the
 * task's id, the new owner of a task initialises the same transactional id: the broker bumps
 * the epoch, aborts whatever the old owner left open, and refuses the old owner's next send
 * or commit (INVALID_PRODUCER_EPOCH / PRODUCER_FENCED), which `commit` turns into a
 * TaskMigratedError.
 *
 * Lifecycle: `init()` once, before the task's stores are restored and its committed offsets
 * read; then any number of transactions, one at a time: `send()` as often as the task
 * produces (the first opens the transaction), `commitOpen()` to commit it (the stream thread's
 * commit cadence); `close()` when the task goes.
 * After a commit whose abort failed (`broken`), the outcome is unknown: the task is dropped
 * and made again, and a new sender's `init()` makes the coordinator settle it first.
 */
import './kafkajsHotPath.ts'; // [hotpath] before kafkajs: see kafkajsHotPath.ts
import { Partitioners, type Kafka, type Message, type Producer, type RecordMetadata, type Transaction } from 'kafkajs';
import type { Config } from '../config/options.ts';
import { TaskMigratedError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { bump, type StreamsCounters } from './streamsCounters.ts';

/** One request of a transaction: records per topic, at most one broker request's worth. */
export type TopicMessages = Array<{ topic: string; messages: Message[] }>;

/** The task's transaction open since its last commit: its sends, chained, and what it holds for a retry. */
interface OpenTransaction {
  readonly openedAt: number;
  /** Everything sent in it, kept to send again in a fresh transaction when the commit is retried. */
  readonly requests: TopicMessages[];
  /** Per input topic, the offset after the last record taken: what the commit commits. */
  readonly offsets: Map<string, bigint>;
  readonly written: Map<string, { next: bigint; records: number }>;
  /** The sends, one after another (an idempotent producer keeps one request in flight); never rejects. */
  chain: Promise<void>;
  txn?: Transaction;
  /** The first failure of a send: the transaction cannot commit. */
  error?: unknown;
}

/** `<applicationId>-<partition>`: the task's transactional id, the same on whichever instance owns it. */
export function taskTransactionalId(applicationId: string, partition: number): string {
  return `${applicationId}-${partition}`;
}

const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

/** True when `err` (or one of its causes) says a newer producer with the same transactional id exists. */
export function isFenced(err: unknown, depth = 0): boolean {
  const e = err as { type?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown } | null | undefined;
  if (!e || typeof e !== 'object' || depth > 8) return false;
  if (typeof e.type === 'string' && FENCED_TYPES.has(e.type)) return true;
  // kafkajs 2.2 does not know PRODUCER_FENCED (90) and calls it an unknown error code.
  if (typeof e.message === 'string' && /\bUnknown error code 90\b|\bfenced\b/i.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isFenced(inner, depth + 1))) return true;
  return isFenced(e.cause ?? e.originalError, depth + 1);
}

export class TransactionalSender {
  private producer?: Producer;
  /** The transaction state is unknown (an abort failed) or fenced: the task must go. */
  private brokenBy: 'uncertain' | 'fenced' | null = null;
  /** [restore] What the last committed transaction wrote, per `topic|partition`: the offset after its last record, and how many records. */
  lastWritten: ReadonlyMap<string, { next: bigint; records: number }> = new Map();
  private open?: OpenTransaction;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    readonly partition: number,
    private readonly counters: StreamsCounters,
    private readonly logger: Logger,
  ) {}

  get transactionalId(): string {
    return taskTransactionalId(this.config.kafka.applicationId, this.partition);
  }

  get groupId(): string {
    return this.config.kafka.applicationId;
  }

  /** Whether this sender can commit no more (see the lifecycle above). */
  get broken(): boolean {
    return this.brokenBy !== null;
  }

  /**
   * Connects and initialises the transactional id: fences the task's previous owner (a
   * paused or crashed instance, or this one before a failure) and makes the coordinator
   * complete or abort the transaction it left open, before anything of the task is read.
   */
  async init(): Promise<void> {
    this.producer = this.kafka.producer({
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
    await this.producer.connect();
    // kafkajs initialises the transactional id on the first transaction, not on connect.
    await (await this.producer.transaction()).abort();
  }

  /** The initialised producer (the restorer commits its barrier through it). */
  get transactional(): Producer {
    if (!this.producer) throw new Error(`the producer of task ${this.partition} is used before init()`);
    return this.producer;
  }

  /** When the open transaction began (the first send since the last commit); undefined when none is open. */
  get openSince(): number | undefined {
    return this.open?.openedAt;
  }

  /**
   * Sends `requests` in the task's open transaction (begun by the first send after a commit)
   * without waiting for them: processing goes on while they travel. `offsets` (per input
   * topic, the offset after the last record taken) are committed with the transaction by
   * `commitOpen`. A failed send surfaces there.
   */
  send(requests: readonly TopicMessages[], offsets: ReadonlyMap<string, bigint>): void {
    if (this.brokenBy) throw new Error(`the producer of task ${this.partition} is ${this.brokenBy}; the task must be made again`);
    const producer = this.transactional;
    const open: OpenTransaction = (this.open ??= { openedAt: Date.now(), requests: [], offsets: new Map(), written: new Map(), chain: Promise.resolve() });
    open.requests.push(...requests);
    for (const [topic, next] of offsets) if ((open.offsets.get(topic) ?? -1n) < next) open.offsets.set(topic, next);
    open.chain = open.chain
      .then(async () => {
        if (open.error !== undefined) return;
        open.txn ??= await producer.transaction();
        for (const topicMessages of requests) noteWritten(open.written, topicMessages, await open.txn.sendBatch({ topicMessages, acks: -1 }));
      })
      .catch((err: unknown) => {
        open.error ??= err ?? new Error('send failed');
      });
  }

  /**
   * Commits the open transaction: waits for its sends, adds the input offsets and commits.
   * True when there was nothing open. A transaction the coordinator was not ready for is sent
   * again whole in a fresh one (`commit`). Throws a TaskMigratedError when fenced, and the
   * failure when the transaction failed for good (`broken` when its outcome is unknown).
   */
  async commitOpen(): Promise<boolean> {
    const open = this.open;
    if (!open) return true;
    this.open = undefined;
    await open.chain;
    const txn = open.txn;
    try {
      if (open.error !== undefined) throw open.error;
      if (!txn) throw new Error(`task ${this.partition}: an open transaction without a transaction`);
      await txn.sendOffsets({ consumerGroupId: this.groupId, topics: this.offsetTopics(open.offsets) });
      await txn.commit();
      this.counters.transactions++;
      this.lastWritten = open.written;
      return true;
    } catch (err) {
      await this.abortFailed(err, txn, true);
      await new Promise((r) => setTimeout(r, 20));
      return this.commit(open.requests, open.offsets, () => true);
    }
  }

  /**
   * After a failed transaction: a fence is a TaskMigratedError; otherwise the transaction is
   * aborted, and the failure thrown unless it may be tried again (`mayRetry`, and retriable).
   * An abort that fails leaves the outcome unknown: never send the same content again blindly.
   * The task is made again; its new producer's init settles the outcome and the committed
   * offsets it then reads say which (`broken`).
   */
  private async abortFailed(err: unknown, txn: Transaction | undefined, mayRetry: boolean): Promise<void> {
    if (isFenced(err)) {
      // The new owner's initialisation aborted this transaction: nothing of it commits.
      this.brokenBy = 'fenced';
      throw new TaskMigratedError(`task ${this.partition} was fenced by a newer owner of ${this.transactionalId}: ${(err as Error).message}`, { cause: err });
    }
    let aborted = true;
    await txn?.abort().catch(() => {
      aborted = false;
    });
    if (!aborted) {
      this.brokenBy = 'uncertain';
      throw err;
    }
    if (!mayRetry || !(err as { retriable?: boolean }).retriable) throw err;
    bump(this.counters.events, 'transaction_retries');
  }

  private offsetTopics(offsets: ReadonlyMap<string, bigint>) {
    return [...offsets].map(([topic, next]) => ({ topic, partitions: [{ partition: this.partition, offset: next.toString() }] }));
  }

  /**
   * Sends `requests` and commits the task's input `offsets` in one transaction. False
   * (aborted) when `stillCurrent()` says a rebalance began meanwhile. Throws a
   * TaskMigratedError when fenced; throws the failure when the transaction failed for good
   * (after `broken` is set when even its abort failed: the outcome is unknown).
   */
  async commit(requests: readonly TopicMessages[], offsets: ReadonlyMap<string, bigint>, stillCurrent: () => boolean): Promise<boolean> {
    const producer = this.transactional;
    if (this.brokenBy) throw new Error(`the producer of task ${this.partition} is ${this.brokenBy}; the task must be made again`);
    // The coordinator may still be finishing the previous transaction
    // (CONCURRENT_TRANSACTIONS); the same content is sent again in a fresh transaction.
    // An aborted attempt is invisible to read_committed readers.
    for (let attempt = 0; ; attempt++) {
      const txn = await producer.transaction();
      const written = new Map<string, { next: bigint; records: number }>();
      try {
        for (const topicMessages of requests) noteWritten(written, topicMessages, await txn.sendBatch({ topicMessages, acks: -1 }));
        await txn.sendOffsets({ consumerGroupId: this.groupId, topics: this.offsetTopics(offsets) });
        if (!stillCurrent()) {
          await txn.abort();
          return false;
        }
        await txn.commit();
        this.counters.transactions++;
        this.lastWritten = written;
        return true;
      } catch (err) {
        await this.abortFailed(err, txn, attempt < 10);
        await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** attempt, 2_000)));
      }
    }
  }

  /** Disconnects; a transaction still open is left to the next owner of the id, whose init aborts it. */
  async close(): Promise<void> {
    this.open = undefined;
    await this.producer?.disconnect().catch((err) => this.logger.warn({ err, partition: this.partition }, 'producer disconnect failed'));
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
