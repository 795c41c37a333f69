/**
 * The stream thread: the loop. A consumer group over the co-partitioned input topics hands
 * every fetched batch to `ingest`, which decodes it into its task's buffer; the task then
 * works through the buffers, smallest event time first (PartitionGroup), `maxBatchRecords` at
 * a time (`process`), and sends what it produced at once inside its open transaction.
 *
 * Commit cadence (Kafka Streams' commit.interval.ms under EOS): every task with an open
 * transaction commits it, with the offsets of every topic it took from, side by side with the
 * other tasks (each has its own producer), once `streams.commitIntervalMs` has passed since
 * the oldest was opened, or as soon as a fetch round has reached the end of its input (input
 * ran dry: low latency at low load), before a rebalance, and at shutdown (`commitPending`).
 * Batches, commits and timer-driven rounds run one at a time: they share the tasks.
 *
 * Lifecycle: `start()` once; `shutdown()` lets the batch in flight finish and commit, then
 * leaves the group. A failed transaction corrupts the tasks: they are dropped and restored
 * from their changelogs, and the batch is consumed again from the committed offsets.
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../config/options.ts';
import type { TopicRole } from '../schemas/catalog.ts';
import type { FetchPosition } from './admin.ts';
import { TaskCorruptedError, TaskMigratedError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { decodeRecords, type SourceMessage } from './operators/decodeRecords.ts';
import type { BufferedRecord, TakenRecord } from './partitionGroup.ts';
import { processRecords } from './operators/processRecords.ts';
import type { TopicSerde } from './serde.ts';
import type { RecordCollector } from './recordCollector.ts';
import type { TaskManager } from './taskManager.ts';
import type { TransactionalSender } from './transactionalSender.ts';
import { bump, type StreamsCounters } from './streamsCounters.ts';
import type { MispartitionGuard } from './mispartitioned.ts';
import type { InternalRecord } from '../schemas/catalog.ts';

export interface StreamThreadOptions {
  kafka: Kafka;
  config: Config;
  serde: TopicSerde;
  /** Every topic the topology consumes, with the input role it carries and its source (the role, or a repartition's name). */
  sourceByTopic: ReadonlyMap<string, { role: TopicRole; source: string }>;
  tasks: TaskManager;
  collector: RecordCollector;
  counters: StreamsCounters;
  logger: Logger;
  /** The consumer stopped for good (kafkajs will not restart it). */
  onFatal: (err: Error) => void;
  /** Each committed transaction, per source: records, seconds from taking them out of the buffers to the commit. */
  onBatchCommitted: (source: string, records: number, seconds: number) => void;
  /** Each time the consumer joined its group, with its member id. */
  onJoined?: (memberId: string) => void;
  /** Topics that carry an internal record (projected repartitions), and which. */
  internalByTopic?: ReadonlyMap<string, InternalRecord>;
}

export class StreamThread {
  /** Per `topic|partition` owned: the next offset to fetch after the latest fetch, commit markers included (for consumer lag). */
  private readonly fetched = new Map<string, bigint>();
  /** Retries of a round that waits for a lagging input with nothing fetched (the idle bound). */
  private readonly processTimers = new Map<number, NodeJS.Timeout>();
  /** Batches and timer rounds run one at a time: they share the tasks and the transactional producer. */
  private serial: Promise<void> = Promise.resolve();
  /** Moves on every rebalance: a round that started in an older generation does not commit. */
  private generation = 0;
  /** Completed fetches per broker: a task waits at least two rounds for an input before it goes on without it. */
  private readonly fetchesByNode = new Map<number, number>();
  /** Partitions whose task waits for an input that is behind: each fetch lets them try again. */
  private readonly waiting = new Set<number>();
  /** Per partition whose task has an open transaction: the records it took, by source, and when the first was taken. */
  private readonly pending = new Map<number, { bySource: Map<string, number>; startedNs: bigint; offsets: Map<string, bigint> }>();
  /** Commits the open transactions once the commit interval has passed. */
  private commitTimer?: NodeJS.Timeout;
  /** Whether a batch of the current fetch round ended short of its partition's end (more is there to fetch at once). */
  private roundBehind = false;
  private consumer?: Consumer;
  private running = false;
  private joined = false;
  /** [partitioner] Checks the keys of key-joined inputs against their partition; set before start. */
  guard?: MispartitionGuard;

  constructor(private readonly o: StreamThreadOptions) {}

  /** Started and not shut down. */
  get isRunning(): boolean {
    return this.running;
  }

  /** Running and a member of its group. */
  get ready(): boolean {
    return this.running && this.joined;
  }

  async start(): Promise<void> {
    const { config, tasks, logger } = this.o;
    const k = config.kafka;
    const consumer = this.o.kafka.consumer({
      groupId: k.applicationId,
      readUncommitted: false,
      sessionTimeout: k.sessionTimeoutMs,
      heartbeatInterval: Math.floor(k.sessionTimeoutMs / 10),
      maxBytesPerPartition: config.streams.maxBytesPerPartition,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 200,
    });
    this.consumer = consumer;
    tasks.input = {
      pause: (topic, partition) => consumer.pause([{ topic, partitions: [partition] }]),
      resume: (topic, partition) => consumer.resume([{ topic, partitions: [partition] }]),
      seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset }),
    };
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = new Set<number>();
      for (const parts of Object.values(payload.memberAssignment)) for (const p of parts as number[]) partitions.add(p);
      const revoked = tasks.assign(partitions);
      this.clearScheduled();
      // Open transactions commit before anything of the new generation is processed: the
      // consumer fetches again from the committed offsets, and what a commit covers is skipped
      // by the tasks' floors. Revoked tasks commit too, then close; if their new owner fenced
      // them first, nothing of theirs commits (TASK_MIGRATED).
      void this.exclusive(async () => {
        await this.commitInBackground(revoked);
        await Promise.all(revoked.map((s) => s.close()));
      });
      for (const key of this.fetched.keys()) if (!partitions.has(Number(key.slice(key.lastIndexOf('|') + 1)))) this.fetched.delete(key);
      this.generation++;
      this.joined = true;
      logger.info({ partitions: [...partitions].sort((a, b) => a - b) }, 'partitions assigned');
      this.o.onJoined?.(payload.memberId);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.generation++;
      // Kafka Streams commits its tasks when a rebalance takes them: the work done is kept.
      if (this.pending.size > 0) void this.exclusive(() => this.commitInBackground());
    });
    // The previous fetch round's batches are all handled: commit now if it reached the end of
    // its input (nothing more to batch with), else at the interval.
    consumer.on(consumer.events.FETCH_START, () => {
      if (this.pending.size === 0) return;
      if (!this.roundBehind || this.commitDue()) void this.exclusive(() => this.commitInBackground());
      else this.armCommitTimer();
    });
    // A fetch of only control records or aborted data does not reach eachBatch, yet moves
    // the position: an input that was behind by them is caught up.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = `${payload.topic}|${payload.partition}`;
      const next = BigInt(payload.lastOffset) + 1n;
      if (next > (this.fetched.get(key) ?? -1n)) this.fetched.set(key, next);
      if (payload.batchSize > 0) return;
      const group = tasks.group(payload.partition);
      if (!group || !this.o.sourceByTopic.has(payload.topic)) return;
      group.observePosition(payload.topic, BigInt(payload.lastOffset) + 1n, BigInt(payload.highWatermark));
      if (group.totalBuffered > 0) this.scheduleProcess(payload.partition, 0);
    });
    consumer.on(consumer.events.FETCH, ({ payload }) => {
      this.roundBehind = false;
      const node = (payload as { nodeId?: number }).nodeId ?? -1;
      this.fetchesByNode.set(node, (this.fetchesByNode.get(node) ?? 0) + 1);
      for (const p of this.waiting) this.scheduleProcess(p, 0);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts the consumer after retriable failures only; otherwise nothing
      // consumes any more while the process lives on: say so, and stop being ready.
      if (payload.restart) return;
      this.joined = false;
      logger.error({ err: payload.error }, 'stream consumer crashed and will not restart: this instance no longer processes (not ready)');
      this.o.onFatal(payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.o.sourceByTopic.keys()], fromBeginning: true });
    this.running = true;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.exclusive(() => this.ingest(payload)),
    });
  }

  /** The one entry point of fetched input: decodes a batch into its task's buffer, then lets the task work through what is ready. */
  private async ingest({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { tasks, config } = this.o;
    const origin = this.o.sourceByTopic.get(batch.topic);
    if (!origin || tasks.isMigrated(batch.partition)) return;
    const { role, source } = origin;
    let group;
    try {
      await tasks.ensureTask(batch.partition, heartbeat); // [restore] heartbeats while restoring
      group = await tasks.ensureGroup(batch.partition);
    } catch (err) {
      this.dropAll(false); // [restore] a failed restore (a timeout, say) leaves the snapshots as they are: they hold committed state
      throw new TaskCorruptedError(`restoring the tasks for ${batch.topic}/${batch.partition} failed: ${(err as Error).message}`, { cause: err });
    }
    // More than a commit marker after the batch: the next fetch has records at once.
    if (Number(batch.offsetLag()) > 1) this.roundBehind = true;
    let messages = batch.messages;
    const committed = tasks.committedOffset(batch.topic, batch.partition);
    if (committed !== undefined && messages.length > 0 && BigInt((messages[0] as (typeof messages)[number]).offset) < committed) {
      // Records below the committed offset were processed (by a previous owner, a commit whose
      // outcome was unknown when the task was made, or this task): not twice.
      const done = messages.filter((m) => BigInt(m.offset) < committed);
      if (done.length > 0) resolveOffset((done[done.length - 1] as (typeof messages)[number]).offset);
      messages = messages.filter((m) => BigInt(m.offset) >= committed);
    }
    if (!isRunning() || isStale()) return;
    const last = messages[messages.length - 1];
    if (last) {
      const internal = this.o.internalByTopic?.get(batch.topic);
      const sources: SourceMessage[] = messages.map((message) => ({ role, source, topic: batch.topic, partition: batch.partition, message, ...(internal ? { internal } : {}) }));
      const guard = this.guard; // [partitioner]
      const mispartitioned = guard ? (m: KafkaMessage, topic: string, partition: number) => guard.check(m, topic, partition) : undefined;
      let decoded;
      try {
        decoded = await lastValueFrom(from(sources).pipe(decodeRecords({ serde: this.o.serde, bounds: this.bounds(), maxRecordBytes: config.validation.maxRecordBytes, mispartitioned }), toArray()));
      } catch (err) {
        // The registry is unreachable, say: nothing of this batch was buffered; fetch it again.
        this.dropAll(false);
        throw new TaskCorruptedError(`decoding a batch of ${batch.topic}/${batch.partition} failed: ${(err as Error).message}`, { cause: err });
      }
      const records: BufferedRecord[] = decoded.map((d, i) => ({
        decoded: d,
        eventTime: d.ok ? d.record.eventTime : Number.NEGATIVE_INFINITY,
        offset: BigInt((messages[i] as (typeof messages)[number]).offset),
      }));
      group.add(batch.topic, records, BigInt(last.offset) + 1n, BigInt(batch.highWatermark));
      // The fetch position moves on; what commits is decided by the transactions below.
      resolveOffset(last.offset);
      if (group.buffered(batch.topic) >= config.streams.maxBufferedRecords) tasks.pauseInput(batch.topic, batch.partition);
    }
    try {
      await this.process(batch.partition, heartbeat, isStale);
    } catch (err) {
      if (err instanceof TaskMigratedError) return this.dropMigrated(batch.partition, err);
      if (err instanceof HeartbeatFailed) {
        // The group is rebalancing: what was taken commits (the tasks' own producers fence
        // it if they moved), the tasks stay, the buffers go, and kafkajs rejoins the group or
        // hands the batch again.
        try {
          await this.commitPending();
        } catch (commitErr) {
          this.dropAll();
          throw new TaskCorruptedError(`committing before a rebalance failed: ${(commitErr as Error).message}`, { cause: commitErr });
        }
        this.o.tasks.rewindBuffers();
        this.clearScheduled();
        throw err.cause;
      }
      this.dropAll();
      this.o.logger.warn({ err, topic: batch.topic, partition: batch.partition }, 'batch failed; tasks dropped and will be restored');
      throw new TaskCorruptedError(`batch of ${batch.topic}/${batch.partition} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Works through a task's buffered input in event-time order, `maxBatchRecords` at a time,
   * until the buffers are empty or an input that is behind has nothing buffered (then a timer
   * retries within the idle bound); what each round produces is sent at once in the task's
   * open transaction. Commits when the commit interval has passed meanwhile. Throws when a
   * commit fails.
   */
  private async process(partition: number, heartbeat?: () => Promise<void>, isStale?: () => boolean): Promise<void> {
    const { tasks, collector } = this.o;
    const generation = this.generation;
    const max = this.o.config.streams.maxBatchRecords;
    for (;;) {
      const task = tasks.task(partition);
      const group = tasks.group(partition);
      const sender = tasks.sender(partition);
      if (!task || !group || !sender || !this.running || generation !== this.generation || isStale?.()) return;
      const { records, waitMs } = group.take(max, Date.now(), this.fetchRound);
      if (waitMs !== undefined) this.waiting.add(partition);
      else this.waiting.delete(partition);
      if (records.length === 0) {
        if (waitMs !== undefined && waitMs > 0) this.scheduleProcess(partition, waitMs);
        return;
      }
      const emissions = await lastValueFrom(from(records.map((r) => r.decoded)).pipe(processRecords(task), toArray()));
      emissions.push(...task.maybePunctuate());
      const requests = await collector.collect(task, emissions);
      const offsets = nextOffsets(records);
      sender.send(requests, offsets);
      this.notePending(partition, records, offsets);
      if (this.commitDue()) await this.commitPending();
      else this.armCommitTimer();
      tasks.resumeProcessedInputs(partition);
      try {
        await heartbeat?.();
      } catch (err) {
        throw new HeartbeatFailed(err);
      }
    }
  }

  /** What a task took into its open transaction, for the commit to account for. */
  private notePending(partition: number, records: readonly TakenRecord[], offsets: ReadonlyMap<string, bigint>): void {
    let p = this.pending.get(partition);
    if (!p) this.pending.set(partition, (p = { bySource: new Map(), startedNs: process.hrtime.bigint(), offsets: new Map() }));
    for (const [src, n] of this.countBySource(records)) p.bySource.set(src, (p.bySource.get(src) ?? 0) + n);
    for (const [topic, next] of offsets) if ((p.offsets.get(topic) ?? -1n) < next) p.offsets.set(topic, next);
  }

  /** Whether the oldest open transaction has been open for the commit interval. */
  private commitDue(): boolean {
    let oldest = Number.POSITIVE_INFINITY;
    for (const p of this.pending.keys()) oldest = Math.min(oldest, this.o.tasks.sender(p)?.openSince ?? Number.POSITIVE_INFINITY);
    return Date.now() - oldest >= this.o.config.streams.commitIntervalMs;
  }

  private armCommitTimer(): void {
    if (this.commitTimer || this.pending.size === 0 || !this.running) return;
    const timer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.exclusive(() => this.commitInBackground());
    }, this.o.config.streams.commitIntervalMs);
    timer.unref();
    this.commitTimer = timer;
  }

  /**
   * Commits every open transaction, the tasks side by side (each has its own producer), then
   * marks what they took as committed. `revoked`: senders of tasks a rebalance just took from
   * this instance, which commit too. A fenced task is dropped as migrated (a revoked one is
   * gone already: its new owner was first); any other failure is thrown, once every commit has
   * settled.
   */
  private async commitPending(revoked: readonly TransactionalSender[] = []): Promise<void> {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    if (this.pending.size === 0) return;
    const { tasks, counters } = this.o;
    const taken = [...this.pending];
    this.pending.clear();
    const senders = new Map(revoked.map((s) => [s.partition, s]));
    const results = await Promise.allSettled(
      taken.map(async ([partition, p]) => {
        const sender = tasks.sender(partition) ?? senders.get(partition);
        if (!sender) return; // its task was dropped: its producer closed, nothing of its transaction commits
        await sender.commitOpen();
        if (tasks.task(partition)) {
          tasks.group(partition)?.markCommitted();
          for (const [topic, next] of p.offsets) tasks.markCommitted(topic, partition, next);
          await tasks.committed(partition, sender.lastWritten); // [restore] committed state only: a snapshot may be taken now
        }
        const seconds = Number(process.hrtime.bigint() - p.startedNs) / 1e9;
        for (const [src, n] of p.bySource) {
          bump(counters.consumed, src, n);
          this.o.onBatchCommitted(src, n, seconds);
        }
      }),
    );
    let failure: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      const partition = (taken[i] as (typeof taken)[number])[0];
      if (!(r.reason instanceof TaskMigratedError)) failure ??= r.reason;
      else if (senders.has(partition) && !tasks.task(partition)) bump(counters.events, 'task_migrated');
      else this.dropMigrated(partition, r.reason);
    });
    if (failure !== undefined) throw failure;
  }

  /** `commitPending` outside a batch (a timer, a fetch start, a rebalance): a failure restores the tasks and fetches their input again. */
  private async commitInBackground(revoked: readonly TransactionalSender[] = []): Promise<void> {
    try {
      await this.commitPending(revoked);
    } catch (err) {
      this.o.logger.warn({ err }, 'commit failed; tasks dropped and input fetched again from the committed offsets');
      this.dropAll();
    }
  }

  /** Fetch rounds completed by every broker this consumer fetches from. */
  private get fetchRound(): number {
    let round = Number.POSITIVE_INFINITY;
    for (const n of this.fetchesByNode.values()) round = Math.min(round, n);
    return Number.isFinite(round) ? round : 0;
  }

  private countBySource(records: readonly TakenRecord[]): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of records) {
      const src = this.o.sourceByTopic.get(r.topic)?.source ?? r.topic;
      counts.set(src, (counts.get(src) ?? 0) + 1);
    }
    return counts;
  }

  /** Per input topic and owned partition: the fetch position and the records not yet committed (for consumer lag). */
  fetchPositions(): Map<string, Map<number, FetchPosition>> {
    const out = new Map<string, Map<number, FetchPosition>>();
    const set = (topic: string, partition: number, position: FetchPosition) => {
      let byPartition = out.get(topic);
      if (!byPartition) out.set(topic, (byPartition = new Map()));
      byPartition.set(partition, position);
    };
    // A partition whose fetches held only markers since the start has no task buffer yet.
    for (const [key, received] of this.fetched) {
      const cut = key.lastIndexOf('|');
      set(key.slice(0, cut), Number(key.slice(cut + 1)), { received, pending: 0 });
    }
    for (const [partition, g] of this.o.tasks.partitionGroups) {
      for (const [topic, position] of g.positions()) {
        const fetched = this.fetched.get(`${topic}|${partition}`) ?? position.received;
        set(topic, partition, { received: fetched > position.received ? fetched : position.received, pending: position.pending });
      }
    }
    return out;
  }

  private bounds() {
    const v = this.o.config.validation;
    return { minEventTimeMs: v.minEventTimeMs, maxEventTimeMs: Date.now() + v.maxFutureSkewMs };
  }

  /** Forgets the scheduled rounds and the partitions waiting for a lagging input. */
  private clearScheduled(): void {
    this.waiting.clear();
    for (const t of this.processTimers.values()) clearTimeout(t);
    this.processTimers.clear();
  }

  /** The tasks are dropped and restored on next use, their input fetched again from the committed offsets; `corrupted` (the default) also discards their snapshots. Open transactions are abandoned (the producers' next owners abort them). */
  private dropAll(corrupted = true): void {
    this.o.tasks.dropAll(corrupted);
    this.pending.clear();
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.clearScheduled();
  }

  /** The partition's task was fenced: it goes (not the instance) until the group says whose it is. */
  private dropMigrated(partition: number, err: TaskMigratedError): void {
    bump(this.o.counters.events, 'task_migrated');
    this.o.logger.warn({ partition, err: err.message }, 'task migrated: a newer owner fenced its producer; the task is dropped and nothing of its transaction committed');
    this.o.tasks.dropMigrated(partition);
    this.pending.delete(partition);
    this.waiting.delete(partition);
    clearTimeout(this.processTimers.get(partition));
    this.processTimers.delete(partition);
  }

  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.serial.then(fn, fn);
    this.serial = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Processes a partition outside a fetch: when a lagging input's idle bound runs out, or it
   * turned out caught up. A failure here has no batch to fail: the tasks are restored and
   * the buffered input fetched again (dropAll).
   */
  private scheduleProcess(partition: number, delayMs: number): void {
    if (this.processTimers.has(partition) || !this.running) return;
    const timer = setTimeout(() => {
      this.processTimers.delete(partition);
      void this.exclusive(async () => {
        if (!this.running || !this.joined) return;
        try {
          await this.process(partition);
          await this.commitPending(); // a round outside a fetch: its input is what there is
        } catch (err) {
          if (err instanceof TaskMigratedError) return this.dropMigrated(partition, err);
          this.o.logger.warn({ err, partition }, 'processing failed; tasks dropped and input fetched again from the committed offsets');
          this.dropAll();
        }
      });
    }, delayMs);
    timer.unref();
    this.processTimers.set(partition, timer);
  }

  /** Shuts down: the batch in flight finishes, every open transaction commits, then the group is left. */
  async shutdown(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.joined = false;
    this.clearScheduled();
    await this.serial;
    await this.exclusive(() => this.commitInBackground());
    await this.consumer?.disconnect().catch((err) => this.o.logger.warn({ err }, 'consumer disconnect failed'));
  }
}

/** A heartbeat after a commit failed (the group is rebalancing, say): what was taken had committed. */
class HeartbeatFailed extends Error {
  constructor(cause: unknown) {
    super(`heartbeat failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** Per topic, the offset after the last record taken: what the transaction commits. */
function nextOffsets(records: readonly TakenRecord[]): Map<string, bigint> {
  const next = new Map<string, bigint>();
  for (const r of records) if ((next.get(r.topic) ?? -1n) <= r.offset) next.set(r.topic, r.offset + 1n);
  return next;
}
