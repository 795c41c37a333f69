/**
 * The task manager: which partitions this instance owns, their tasks (created and restored
 * from the changelogs on first use) and their input buffers (PartitionGroup), pausing an
 * input whose buffer is full, and what happens to all of them when a transaction fails
 * (the tasks are corrupted: dropped, restored again, their input fetched again).
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
import type { TransactionalSender } from './transactionalSender.ts';

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
  sender: TransactionalSender;
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

  /** A rebalance ended: tasks of partitions that left this instance go, and so does every buffer. */
  assign(partitions: Set<number>): void {
    // Tasks of partitions that left this instance are dropped; if they come back, they are
    // restored from the changelog, which may have moved on meanwhile.
    for (const p of this.tasks.keys()) {
      if (partitions.has(p)) continue;
      this.tasks.delete(p);
      this.snapshots.forget(p); // [restore] the file stays for when the task comes back
    }
    // After a rebalance the consumer fetches again from the committed offsets: what was
    // buffered and not committed comes again, so the buffers go.
    this.dropBuffers();
    this.assigned = partitions;
  }

  task(partition: number): StreamTask | undefined {
    return this.tasks.get(partition);
  }

  group(partition: number): PartitionGroup | undefined {
    return this.groups.get(partition);
  }

  /** The partition's task, created with those of every other assigned partition that has none and restored from the changelogs. */
  async ensureTask(partition: number, heartbeat?: () => Promise<void>): Promise<StreamTask> {
    const existing = this.tasks.get(partition);
    if (existing) return existing;
    const wanted = new Set([...this.assigned, partition]);
    const fresh = [...wanted].filter((p) => !this.tasks.has(p)).map((p) => new StreamTask(p, this.o.processors, this.o.taskOptions()));
    const restored = await restoreTasks({
      kafka: this.o.kafka,
      producer: await this.o.sender.transactionalProducer(),
      applicationId: this.o.config.kafka.applicationId,
      tasks: fresh,
      logger: this.o.logger,
      // [restore] snapshot first, then the changelog tail; the group keeps hearing from us meanwhile
      snapshots: this.snapshots,
      heartbeat,
      heartbeatIntervalMs: Math.floor(this.o.config.kafka.sessionTimeoutMs / 10),
    });
    this.o.counters.restores++;
    this.o.counters.restoredRecords += restored.records;
    this.o.counters.restoredSnapshotEntries += restored.snapshotEntries;
    this.o.counters.restoreMs += restored.ms;
    for (const t of fresh) {
      t.init();
      this.tasks.set(t.partition, t);
    }
    return this.tasks.get(partition) as StreamTask;
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
      for (const topic of topics) this.input?.resume(topic, partition);
    }
    this.pausedInputs.clear();
  }

  /**
   * The tasks are corrupted (state may hold changes that did not commit): they are dropped,
   * to be restored from their changelogs, and every buffered input is fetched again from its
   * committed offset. The consumer has moved its fetch position past what it buffered, and
   * after a failed batch kafkajs retries without rejoining the group, so it is sent back
   * explicitly.
   */
  dropAll(corrupted = true): void {
    // [restore] A corrupted task's snapshot goes too (Kafka Streams wipes its state directory); one dropped for a rebalance keeps it.
    for (const p of this.tasks.keys()) {
      if (corrupted) void this.snapshots.discard(p, 'task corrupted (a transaction or a restore failed)');
      else this.snapshots.forget(p);
    }
    const rewind = [...this.groups].flatMap(([partition, g]) => [...g.committedPositions()].map(([topic, next]) => ({ topic, partition, offset: next.toString() })));
    this.tasks.clear();
    this.dropBuffers();
    for (const seek of rewind) {
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
