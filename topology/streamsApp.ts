/**
 * The Kafka runtime (Kafka Streams' KafkaStreams): a consumer group over the co-partitioned
 * input topics feeds each partition's task, and every batch commits through one Kafka
 * transaction holding its outputs, its dead letters, its store changes and its input
 * offsets. Downstream readers use read_committed, so each input affects the outputs exactly
 * once, however often the service crashes.
 *
 * This class assembles the parts and is what the application holds:
 * - `StreamThread` (streamThread.ts): the loop: consumer, fetched batches, process and commit;
 * - `TaskManager` (taskManager.ts): assignment, tasks, their restore and their input buffers,
 *   and what a corrupted task needs;
 * - `RecordCollector` (recordCollector.ts): emissions encoded, repartition copies, dead-letter
 *   envelopes, changelog records, cut into requests;
 * - `TransactionalSender` (transactionalSender.ts): the transactional producer, send and
 *   commit, retries, uncertain outcomes;
 * - the global tables (globalTable.ts), read whole on every instance.
 *
 * Lifecycle: `start()` once; `stop()` lets the batch in flight finish and commit, then leaves
 * the group. A failed transaction corrupts the tasks: they are dropped and restored from
 * their changelogs, and the batch is consumed again from the committed offsets.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../config/options.ts';
import { INPUT_TOPICS, type TopicRole } from '../schemas/catalog.ts';
import type { FetchPosition } from './admin.ts';
import type { Logger } from '../common/logger.ts';
import { repartitionTopic, type Processor, type Repartition } from './processor.ts';
import type { TopicSerde } from './serde.ts';
import { changelogTopic } from './stores/index.ts';
import { StreamTask, type TaskOptions } from './task.ts';
import { GlobalTable } from './globalTable.ts';
import type { TopicRecords } from '../schemas/generated/records.ts';
import { bump, newStreamsCounters, type StreamsCounters } from './streamsCounters.ts';
import { TransactionalSender } from './transactionalSender.ts';
import { RecordCollector } from './recordCollector.ts';
import { TaskManager } from './taskManager.ts';
import { StreamThread } from './streamThread.ts';
import { keyJoinedInputs, MispartitionGuard, reroutedTopic } from './mispartitioned.ts';
import { partitionCounts } from './admin.ts';

export type { StreamsCounters } from './streamsCounters.ts';

export class StreamsApp {
  readonly counters: StreamsCounters = newStreamsCounters();
  private readonly sourceByTopic: Map<string, { role: TopicRole; source: string }>;
  private readonly repartitions: Repartition[];
  private readonly storeNames: string[];
  private readonly globals = new Map<string, GlobalTable<TopicRole>>();
  private readonly sender: TransactionalSender;
  private readonly tasks: TaskManager;
  private readonly thread: StreamThread;
  /** Called when the consumer stopped for good (kafkajs will not restart it): the process should exit so a supervisor restarts it. */
  onFatal?: (err: Error) => void;
  /** Observer of each committed transaction, per source: records, seconds from taking them out of the buffers to the commit. */
  onBatchCommitted?: (source: string, records: number, seconds: number) => void;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    private readonly serde: TopicSerde,
    private readonly processors: readonly Processor[],
    private readonly logger: Logger,
  ) {
    const byName = new Map(processors.flatMap((p) => p.repartitions ?? []).map((r) => [r.name, r]));
    this.repartitions = [...byName.values()];
    this.sourceByTopic = new Map<string, { role: TopicRole; source: string }>([
      ...INPUT_TOPICS.map((role) => [config.topics[role], { role, source: role }] as const),
      ...this.repartitions.map((r) => [repartitionTopic(config.kafka.applicationId, r.name), { role: r.from, source: r.name }] as const),
      // [partitioner] a key-joined input's rerouted records are more of the same input.
      ...[...keyJoinedInputs(processors)].map((role) => [reroutedTopic(config.kafka.applicationId, config.topics[role]), { role, source: role }] as const),
    ]);
    this.storeNames = StreamTask.storeNames(processors);
    const counters = this.counters;
    this.sender = new TransactionalSender(kafka, config, counters, logger);
    this.tasks = new TaskManager({ kafka, config, processors, sourceByTopic: this.sourceByTopic, sender: this.sender, counters, logger, taskOptions: () => this.taskOptions() });
    this.thread = new StreamThread({
      kafka,
      config,
      serde,
      sourceByTopic: this.sourceByTopic,
      tasks: this.tasks,
      collector: new RecordCollector(config, serde, this.repartitions, counters),
      sender: this.sender,
      counters,
      logger,
      onFatal: (err) => this.onFatal?.(err),
      onBatchCommitted: (source, records, seconds) => this.onBatchCommitted?.(source, records, seconds),
      internalByTopic: new Map(this.repartitions.flatMap((r) => (r.projection ? [[repartitionTopic(config.kafka.applicationId, r.name), r.projection.record] as const] : []))),
    });
  }

  get groupId(): string {
    return this.config.kafka.applicationId;
  }

  get transactionalId(): string {
    return this.sender.transactionalId;
  }

  /** Running and a member of its group: what /readyz reports. */
  get ready(): boolean {
    return this.thread.ready;
  }

  /** Entries per store, over all tasks of this instance. */
  get storeSizes(): Record<string, number> {
    return this.tasks.storeSizes;
  }

  /** Entries held in all stores of all tasks: the size of the state. */
  get stateEntries(): number {
    return this.tasks.stateEntries;
  }

  /** Records buffered and not yet processed, over all tasks of this instance. */
  get bufferedRecords(): number {
    return this.tasks.bufferedRecords;
  }

  /** Every topic the topology consumes. */
  get subscribedTopics(): string[] {
    return [...this.sourceByTopic.keys()];
  }

  /** Repartition topics the processors read. */
  get repartitionTopics(): string[] {
    return this.repartitions.map((r) => repartitionTopic(this.config.kafka.applicationId, r.name));
  }

  /** Topic names the stores log to. */
  get changelogTopics(): string[] {
    return this.storeNames.map((s) => changelogTopic(this.config.kafka.applicationId, s));
  }

  /** A global table's current rows (read-only), or undefined when no processor declares it. */
  globalRows<R extends TopicRole>(role: R): ReadonlyMap<string, TopicRecords[R]> | undefined {
    return this.globals.get(role)?.rows as ReadonlyMap<string, TopicRecords[R]> | undefined;
  }

  /** Per input topic and owned partition: the fetch position and the records not yet committed (for consumer lag). */
  fetchPositions(): Map<string, Map<number, FetchPosition>> {
    return this.thread.fetchPositions();
  }

  async start(): Promise<void> {
    // The producer first: its initialisation fences this instance's predecessor and aborts the
    // transaction a crash left open, which would otherwise hold every read_committed reader
    // of the topics it wrote (global tables included) until the transaction timeout.
    await this.sender.start();
    for (const role of new Set(this.processors.flatMap((p) => p.globalTables ?? []))) {
      const table = new GlobalTable(this.kafka, this.serde, role, this.config.topics[role], this.config.kafka.applicationId, this.logger);
      await table.start();
      this.globals.set(role, table);
    }
    for (const r of this.repartitions) if (r.projection) await this.serde.registerInternal(r.projection.record, repartitionTopic(this.config.kafka.applicationId, r.name));
    this.thread.guard = await this.mispartitionGuard(); // [partitioner]
    await this.thread.start();
  }

  /** [partitioner] The key check of the key-joined inputs, with their partition counts as they are now. */
  private async mispartitionGuard(): Promise<MispartitionGuard> {
    const topics = [...keyJoinedInputs(this.processors)].map((role) => this.config.topics[role]);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return new MispartitionGuard({ action: this.config.streams.mispartitioned, applicationId: this.config.kafka.applicationId }, await partitionCounts(admin, topics));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private taskOptions(): TaskOptions {
    return {
      globalTables: new Map([...this.globals].map(([role, t]) => [role, t.rows])),
      graceMs: this.config.streams.graceMs,
      punctuateIntervalMs: this.config.streams.punctuateIntervalMs,
      onCount: (what: string, n: number) => bump(this.counters.events, what, n),
    };
  }

  /** Shuts down: the batch in flight finishes and commits, then the group is left, the producer closed and the global tables stopped. */
  async stop(): Promise<void> {
    if (!this.thread.isRunning) return;
    await this.thread.shutdown();
    await this.sender.close();
    for (const t of this.globals.values()) await t.stop();
  }
}
