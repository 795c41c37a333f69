/**
 * The stream thread: the loop. A consumer group over the co-partitioned input topics hands
 * every fetched batch to `ingest`, which decodes it into its task's buffer; the task then
 * works through the buffers, smallest event time first (PartitionGroup), one transaction per
 * `maxBatchRecords` (`processAndCommit`), committing the offsets of every topic it took from.
 * Batches and timer-driven rounds run one at a time: they share the tasks and the producer.
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
      // Closed once no commit of theirs is in flight (the new owners fence them anyway).
      if (revoked.length > 0) void this.exclusive(async () => void (await Promise.all(revoked.map((s) => s.close()))));
      for (const key of this.fetched.keys()) if (!partitions.has(Number(key.slice(key.lastIndexOf('|') + 1)))) this.fetched.delete(key);
      this.generation++;
      this.joined = true;
      logger.info({ partitions: [...partitions].sort((a, b) => a - b) }, 'partitions assigned');
      this.o.onJoined?.(payload.memberId);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.generation++;
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
      await this.processAndCommit(batch.partition, heartbeat, isStale);
    } catch (err) {
      if (err instanceof TaskMigratedError) return this.dropMigrated(batch.partition, err);
      if (err instanceof HeartbeatFailed) {
        // Everything taken so far committed: the tasks stay; the buffers go, and kafkajs
        // rejoins the group or hands the batch again.
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
   * Works through a task's buffered input in event-time order, one transaction per
   * `maxBatchRecords`, until the buffers are empty or an input that is behind has nothing
   * buffered (then a timer retries within the idle bound). Throws when a transaction fails.
   */
  private async processAndCommit(partition: number, heartbeat?: () => Promise<void>, isStale?: () => boolean): Promise<void> {
    const { tasks, collector, counters } = this.o;
    const generation = this.generation;
    const max = this.o.config.streams.maxBatchRecords;
    for (;;) {
      const task = tasks.task(partition);
      const group = tasks.group(partition);
      const sender = tasks.sender(partition);
      if (!task || !group || !sender || !this.running || generation !== this.generation || isStale?.()) return;
      const started = process.hrtime.bigint();
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
      const committed = await sender.commit(requests, offsets, () => generation === this.generation);
      if (!committed) {
        // A rebalance began: the partition may move. Nothing of this batch committed.
        this.dropAll(false);
        return;
      }
      group.markCommitted();
      for (const [topic, next] of offsets) tasks.markCommitted(topic, partition, next);
      await tasks.committed(partition, sender.lastWritten); // [restore] committed state only: a snapshot may be taken now
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const [src, n] of this.countBySource(records)) {
        bump(counters.consumed, src, n);
        this.o.onBatchCommitted(src, n, seconds);
      }
      tasks.resumeProcessedInputs(partition);
      try {
        await heartbeat?.();
      } catch (err) {
        throw new HeartbeatFailed(err);
      }
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

  /** The tasks are dropped and restored on next use, their input fetched again from the committed offsets; `corrupted` (the default) also discards their snapshots. */
  private dropAll(corrupted = true): void {
    this.o.tasks.dropAll(corrupted);
    this.clearScheduled();
  }

  /** The partition's task was fenced: it goes (not the instance) until the group says whose it is. */
  private dropMigrated(partition: number, err: TaskMigratedError): void {
    bump(this.o.counters.events, 'task_migrated');
    this.o.logger.warn({ partition, err: err.message }, 'task migrated: a newer owner fenced its producer; the task is dropped and nothing of its transaction committed');
    this.o.tasks.dropMigrated(partition);
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
          await this.processAndCommit(partition);
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

  /** Shuts down: the batch in flight finishes and commits, then the group is left. */
  async shutdown(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.joined = false;
    this.clearScheduled();
    await this.serial;
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
