/**
 * The task manager: which partitions this instance owns, their tasks and their input
 * buffers (PartitionGroup), pausing an input whose buffer is full, and what happens to them
 * when a transaction fails: a corrupted task is dropped, made again and restored, its input
 * fetched again; a migrated one (fenced by a newer owner) is dropped until the group has
 * settled who owns it.
 *
 * A task is made, on first use, in this order (Kafka Streams' EOS-alpha):
 * 1. its transactional producer is initialised (`<applicationId>-<partition>`): the previous
 *    owner is fenced and the transaction it left open completed or aborted;
 * 2. its stores are restored from the changelogs, settled by step 1;
 * 3. the group's committed offsets of its inputs are read, settled by step 1 too: records
 *    below them were processed (by a previous owner, or by a commit whose outcome this
 *    instance did not learn) and are skipped.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../config/options.ts';
import { INPUT_TOPICS, type TopicRole } from '../schemas/catalog.ts';
import type { Logger } from '../common/logger.ts';
import { inputPositions } from './admin.ts';
import { PartitionGroup } from './partitionGroup.ts';
import type { Processor } from './processor.ts';
import { restoreTasks } from './restore.ts';
import { TaskSnapshots } from './state/index.ts';
import { changelogTopic } from './stores/index.ts';
import { StreamTask, type TaskOptions } from './task.ts';
import { bump, type StreamsCounters } from './streamsCounters.ts';
import { TransactionalSender } from './transactionalSender.ts';

/** What the task manager asks of the consumer: pausing, resuming and rewinding one input partition. */
export interface InputControl {
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  seek(topic: string, partition: number, offset: string): void;
}

export interface TaskManagerOptions {
  kafka: Kafka;
  config: Config;
  processors: readonly Processor[];
  /** Every topic the tasks read, with the input role it carries. */
  sourceByTopic: ReadonlyMap<string, { role: TopicRole; source: string }>;
  counters: StreamsCounters;
  logger: Logger;
  /** Options of each new task (global tables, grace, punctuation). */
  taskOptions: () => TaskOptions;
}

export class TaskManager {
  private readonly tasks = new Map<number, StreamTask>();
  /** Each task's fetched, decoded, not yet processed input. */
  private readonly groups = new Map<number, PartitionGroup>();
  /** Input topic-partitions paused because their buffer is full, by partition. */
  private readonly pausedInputs = new Map<number, Set<string>>();
  private assigned = new Set<number>();
  /** Each task's transactional sender: made and closed with the task. */
  private readonly senders = new Map<number, TransactionalSender>();
  /** Per `topic|partition` of a task: the group's committed offset read when the task was made, moved by its commits. */
  private readonly floors = new Map<string, bigint>();
  /** Partitions whose task was fenced, until this instance rejoins its group (or a session timeout passes). */
  private readonly migrated = new Map<number, NodeJS.Timeout>();
  /** Set by the stream thread once its consumer exists. */
  input?: InputControl;
  /** [restore] Snapshots of the tasks' committed state on local disk, so a restore reads only the changelog tail. */
  readonly snapshots: TaskSnapshots;

  constructor(private readonly o: TaskManagerOptions) {
    const s = o.config.streams;
    this.snapshots = new TaskSnapshots({
      enabled: s.snapshotsEnabled,
      dir: s.stateDir,
      applicationId: o.config.kafka.applicationId,
      intervalMs: s.snapshotIntervalMs,
      minRecords: s.snapshotMinRecords,
      logger: o.logger,
      onEvent: (what, n) => bump(o.counters.events, what, n),
    });
  }

  /**
   * A rebalance ended: tasks of partitions that left this instance go, and so does every
   * buffer. Returns the senders of the tasks that went, for the caller to close once no
   * commit of theirs is in flight.
   */
  assign(partitions: Set<number>): TransactionalSender[] {
    // Tasks of partitions that left this instance are dropped; if they come back, they are
    // made again: fenced, restored and their offsets read, all of which may have moved on.
    const revoked: TransactionalSender[] = [];
    for (const p of [...this.tasks.keys()]) if (!partitions.has(p)) {
      this.snapshots.forget(p); // [restore] the file stays for when the task comes back
      revoked.push(...this.forget(p));
    }
    for (const timer of this.migrated.values()) clearTimeout(timer);
    this.migrated.clear();
    // After a rebalance the consumer fetches again from the committed offsets: what was
    // buffered and not committed comes again, so the buffers go.
    this.dropBuffers();
    this.assigned = partitions;
    return revoked;
  }

  /** Forgets a task, its sender and its offsets; returns its sender. */
  private forget(partition: number): TransactionalSender[] {
    this.tasks.delete(partition);
    for (const key of [...this.floors.keys()]) if (key.endsWith(`|${partition}`)) this.floors.delete(key);
    const sender = this.senders.get(partition);
    this.senders.delete(partition);
    return sender ? [sender] : [];
  }

  /** The task's transactional sender (it exists with the task). */
  sender(partition: number): TransactionalSender | undefined {
    return this.senders.get(partition);
  }

  /** The group's committed offset of `topic` on `partition` when its task was made: what is below was processed. */
  committedOffset(topic: string, partition: number): bigint | undefined {
    return this.floors.get(`${topic}|${partition}`);
  }

  /** The task committed its input up to `offset` (exclusive): records below it are not taken again. */
  markCommitted(topic: string, partition: number, offset: bigint): void {
    const key = `${topic}|${partition}`;
    if ((this.floors.get(key) ?? -1n) < offset) this.floors.set(key, offset);
  }

  /** Whether the partition's task was fenced and the group has not said since whether it is still this instance's. */
  isMigrated(partition: number): boolean {
    return this.migrated.has(partition);
  }

  task(partition: number): StreamTask | undefined {
    return this.tasks.get(partition);
  }

  group(partition: number): PartitionGroup | undefined {
    return this.groups.get(partition);
  }

  /** The partition's task, made with those of every other assigned partition that has none (see the order above). */
  async ensureTask(partition: number, heartbeat?: () => Promise<void>): Promise<StreamTask> {
    const existing = this.tasks.get(partition);
    if (existing) return existing;
    const { kafka, config, processors, counters, logger } = this.o;
    const wanted = [...new Set([...this.assigned, partition])].filter((p) => !this.tasks.has(p) && !this.migrated.has(p));
    if (!wanted.includes(partition)) wanted.push(partition);
    const senders = new Map(wanted.map((p) => [p, new TransactionalSender(kafka, config, p, counters, logger)]));
    const fresh = wanted.map((p) => new StreamTask(p, processors, this.o.taskOptions()));
    let floors: Map<string, bigint>;
    try {
      await Promise.all([...senders.values()].map((s) => s.init()));
      const restored = await restoreTasks({
        kafka,
        producers: new Map([...senders].map(([p, s]) => [p, s.transactional])),
        applicationId: config.kafka.applicationId,
        tasks: fresh,
        logger,
        // [restore] snapshot first, then the changelog tail; the group keeps hearing from us meanwhile
        snapshots: this.snapshots,
        heartbeat,
        heartbeatIntervalMs: Math.floor(config.kafka.sessionTimeoutMs / 10),
      });
      counters.restoredRecords += restored.records;
      counters.restoredSnapshotEntries += restored.snapshotEntries;
      counters.restoreMs += restored.ms;
      floors = await this.readCommitted(wanted);
    } catch (err) {
      await Promise.all([...senders.values()].map((s) => s.close()));
      throw err;
    }
    counters.restores++;
    for (const t of fresh) {
      t.init();
      this.tasks.set(t.partition, t);
      const previous = this.senders.get(t.partition);
      if (previous) void previous.close();
      this.senders.set(t.partition, senders.get(t.partition) as TransactionalSender);
    }
    for (const [key, offset] of floors) this.floors.set(key, offset);
    return this.tasks.get(partition) as StreamTask;
  }

  /** The group's committed offsets of every input of `partitions`, by `topic|partition` (absent where it never committed). */
  private async readCommitted(partitions: readonly number[]): Promise<Map<string, bigint>> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      const wanted = new Set(partitions);
      const out = new Map<string, bigint>();
      const byTopic = await admin.fetchOffsets({ groupId: this.o.config.kafka.applicationId, topics: [...this.o.sourceByTopic.keys()] });
      for (const { topic, partitions: parts } of byTopic) {
        for (const { partition, offset } of parts) if (wanted.has(partition) && BigInt(offset) >= 0n) out.set(`${topic}|${partition}`, BigInt(offset));
      }
      return out;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * The partition's input buffers. They are created for every assigned partition at once,
   * with each input's committed offset and end, so a backlog is known before its first fetch.
   */
  async ensureGroup(partition: number): Promise<PartitionGroup> {
    const existing = this.groups.get(partition);
    if (existing) return existing;
    const { config, sourceByTopic, counters, logger } = this.o;
    const aligned = INPUT_TOPICS.map((role) => config.topics[role]).filter((t) => sourceByTopic.has(t));
    const positions = await inputPositions(this.o.kafka, config.kafka.applicationId, aligned);
    for (const p of new Set([...this.assigned, partition])) {
      if (this.groups.has(p)) continue;
      const group = new PartitionGroup({
        alignedTopics: new Set(aligned),
        maxTaskIdleMs: config.streams.maxTaskIdleMs,
        onIdleExpired: (topic) => {
          bump(counters.events, 'task_idle_expired');
          logger.debug({ topic, partition: p }, 'an input behind its end delivered nothing within streams.maxTaskIdleMs: the task goes on without it');
        },
      });
      for (const topic of aligned) {
        const at = positions.get(topic)?.get(p);
        if (at) group.observeStart(topic, at.next, at.end);
      }
      this.groups.set(p, group);
    }
    return this.groups.get(partition) as PartitionGroup;
  }

  /** Stops fetching an input whose buffer is full. */
  pauseInput(topic: string, partition: number): void {
    const paused = this.pausedInputs.get(partition) ?? new Set<string>();
    if (paused.has(topic)) return;
    paused.add(topic);
    this.pausedInputs.set(partition, paused);
    this.input?.pause(topic, partition);
  }

  /** Fetches again the paused inputs of a partition whose buffer went below half. */
  resumeProcessedInputs(partition: number): void {
    const paused = this.pausedInputs.get(partition);
    const group = this.groups.get(partition);
    if (!paused || !group) return;
    for (const topic of paused) {
      if (group.buffered(topic) > this.o.config.streams.maxBufferedRecords / 2) continue;
      paused.delete(topic);
      this.input?.resume(topic, partition);
    }
  }

  /** Forgets every buffered record and resumes what was paused for them: they are fetched again. */
  dropBuffers(): void {
    this.groups.clear();
    for (const [partition, topics] of this.pausedInputs) {
      // A migrated task's inputs stay paused until the group has spoken.
      if (this.migrated.has(partition)) continue;
      for (const topic of topics) this.input?.resume(topic, partition);
      this.pausedInputs.delete(partition);
    }
  }

  /**
   * The tasks are corrupted (state may hold changes that did not commit): they are dropped
   * with their producers, to be made again, and every buffered input is fetched again from
   * its committed offset. The consumer has moved its fetch position past what it buffered,
   * and after a failed batch kafkajs retries without rejoining the group, so it is sent back
   * explicitly.
   */
  dropAll(corrupted = true): void {
    // [restore] A corrupted task's snapshot goes too (Kafka Streams wipes its state directory); one dropped for a rebalance keeps it.
    for (const p of this.tasks.keys()) {
      if (corrupted) void this.snapshots.discard(p, 'task corrupted (a transaction or a restore failed)');
      else this.snapshots.forget(p);
    }
    for (const p of [...this.tasks.keys()]) for (const s of this.forget(p)) void s.close();
    for (const s of this.senders.values()) void s.close();
    this.senders.clear();
    this.rewindBuffers();
  }

  /**
   * Forgets every buffered record and sends the consumer back to the committed offsets, the
   * tasks staying as they are: for a failure after the tasks' last commit (a heartbeat that
   * says the group is rebalancing), when their state is exactly what committed.
   */
  rewindBuffers(): void {
    const rewind = [...this.groups].flatMap(([partition, g]) => [...g.committedPositions()].map(([topic, next]) => ({ topic, partition, offset: next.toString() })));
    this.dropBuffers();
    this.rewind(rewind);
  }

  /**
   * The task was fenced (TASK_MIGRATED): a newer owner took it, so this instance missed a
   * rebalance. The task, its producer and its buffers go, and its inputs are paused and sent
   * back to their committed offsets until the group says whether the partition is still this
   * instance's (`assign`), or a session timeout passes without a rebalance: then the task is
   * made again (fencing in turn) from what is committed.
   */
  dropMigrated(partition: number): void {
    const group = this.groups.get(partition);
    const rewind = group ? [...group.committedPositions()].map(([topic, next]) => ({ topic, partition, offset: next.toString() })) : [];
    this.snapshots.forget(partition); // [restore] its snapshot stays valid: it holds only committed state
    for (const s of this.forget(partition)) void s.close();
    this.groups.delete(partition);
    for (const topic of this.o.sourceByTopic.keys()) this.pauseInput(topic, partition);
    this.rewind(rewind);
    clearTimeout(this.migrated.get(partition));
    const timer = setTimeout(() => {
      this.migrated.delete(partition);
      const paused = this.pausedInputs.get(partition);
      this.pausedInputs.delete(partition);
      for (const topic of paused ?? []) this.input?.resume(topic, partition);
    }, this.o.config.kafka.sessionTimeoutMs);
    timer.unref();
    this.migrated.set(partition, timer);
  }

  private rewind(seeks: ReadonlyArray<{ topic: string; partition: number; offset: string }>): void {
    for (const seek of seeks) {
      try {
        this.input?.seek(seek.topic, seek.partition, seek.offset);
      } catch (err) {
        // Not assigned any more: its next owner starts from the committed offset anyway.
        this.o.logger.debug({ err, ...seek }, 'no rewind for an input that is not assigned');
      }
    }
  }

  /** [restore] A transaction of the partition's task committed: what it wrote to the changelogs may make a snapshot due. */
  async committed(partition: number, written: ReadonlyMap<string, { next: bigint; records: number }>): Promise<void> {
    const task = this.tasks.get(partition);
    if (!task) return;
    const positions = new Map<string, bigint>();
    let changes = 0;
    for (const store of task.stores.keys()) {
      const w = written.get(`${changelogTopic(this.o.config.kafka.applicationId, store)}|${partition}`);
      if (!w) continue;
      positions.set(store, w.next);
      changes += w.records;
    }
    await this.snapshots.committed(task, positions, changes);
  }

  /** [restore] Clean shutdown, after the last commit: a last snapshot of each task that changed, and every write finished. */
  async closeSnapshots(): Promise<void> {
    await this.snapshots.close(this.tasks.values());
  }

  /** Closes every task's producer (at shutdown). */
  async close(): Promise<void> {
    const senders = [...this.senders.values()];
    this.senders.clear();
    await Promise.all(senders.map((s) => s.close()));
  }

  /** Entries per store, over all tasks of this instance. */
  get storeSizes(): Record<string, number> {
    const sizes: Record<string, number> = {};
    for (const t of this.tasks.values()) for (const [name, s] of t.stores) sizes[name] = (sizes[name] ?? 0) + s.store.size;
    return sizes;
  }

  /** Entries held in all stores of all tasks: the size of the state. */
  get stateEntries(): number {
    let n = 0;
    for (const t of this.tasks.values()) n += t.totalEntries;
    return n;
  }

  /** Records buffered and not yet processed, over all tasks of this instance. */
  get bufferedRecords(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.totalBuffered;
    return n;
  }

  /** The input buffers, by partition. */
  get partitionGroups(): ReadonlyMap<number, PartitionGroup> {
    return this.groups;
  }
}
