/**
 * The Kafka runtime (Kafka Streams' KafkaStreams): a consumer group over the co-partitioned
 * input topics feeds each partition's task, whose work commits through Kafka transactions
 * (one open per task, committed on a cadence) holding its outputs, its dead letters, its store
 * changes and its input offsets. Downstream readers use read_committed, so each input affects the outputs exactly
 * once, however often the service crashes.
 *
 * This class assembles the parts and is what the application holds:
 * - `StreamThread` (streamThread.ts): the loop: consumer, fetched batches, process and commit;
 * - `TaskManager` (taskManager.ts): assignment, tasks, their restore and their input buffers,
 *   and what a corrupted task needs;
 * - `RecordCollector` (recordCollector.ts): emissions encoded, repartition copies, dead-letter
 *   envelopes, changelog records, cut into requests;
 * - `TransactionalSender` (transactionalSender.ts): one per task, its transactional producer
 *   (`<applicationId>-<partition>`, which fences the task's previous owner), send and commit,
 *   retries, uncertain outcomes;
 * - the global tables (globalTable.ts), read whole on every instance.
 *
 * Lifecycle: `start()` once; `stop()` lets the batch in flight finish, commits every open
 * transaction, then leaves the group. A failed transaction corrupts the tasks: they are dropped and restored from
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
import { RecordCollector } from './recordCollector.ts';
import { TaskManager } from './taskManager.ts';
import { StreamThread } from './streamThread.ts';
import { membersWithSameClientId, Vitals } from './vitals.ts';
import { keyJoinedInputs, MispartitionGuard, reroutedTopic } from './mispartitioned.ts';
import { partitionCounts } from './admin.ts';

export type { StreamsCounters } from './streamsCounters.ts';

export class StreamsApp {
  readonly counters: StreamsCounters = newStreamsCounters();
  private readonly sourceByTopic: Map<string, { role: TopicRole; source: string }>;
  private readonly repartitions: Repartition[];
  private readonly storeNames: string[];
  private readonly globals = new Map<string, GlobalTable<TopicRole>>();
  private readonly tasks: TaskManager;
  private readonly thread: StreamThread;
  /**
   * Called when a consumer of the runtime (the stream consumer, a global table's) stopped for
   * good (kafkajs will not restart it): the process should exit so a supervisor restarts it.
   * The failure is also reported to `vitals`.
   */
  onFatal?: (err: Error) => void;
  /** The runtime's components that failed for good (a subset of what `vitals` holds). */
  private readonly failed = new Set<string>();
  private instanceIdChecked = false;
  /** Observer of each committed transaction, per source: records, seconds from taking them out of the buffers to the commit. */
  onBatchCommitted?: (source: string, records: number, seconds: number) => void;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    private readonly serde: TopicSerde,
    private readonly processors: readonly Processor[],
    private readonly logger: Logger,
    /** Where the runtime's vital components report a failure for good (the service shares it with the sink). */
    readonly vitals: Vitals = new Vitals(),
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
    this.tasks = new TaskManager({ kafka, config, processors, sourceByTopic: this.sourceByTopic, counters, logger, taskOptions: () => this.taskOptions() });
    this.thread = new StreamThread({
      kafka,
      config,
      serde,
      sourceByTopic: this.sourceByTopic,
      tasks: this.tasks,
      collector: new RecordCollector(config, serde, this.repartitions, counters),
      counters,
      logger,
      onFatal: (err) => this.fatal('stream consumer', err),
      onBatchCommitted: (source, records, seconds) => this.onBatchCommitted?.(source, records, seconds),
      onJoined: (memberId) => void this.checkInstanceId(memberId),
      internalByTopic: new Map(this.repartitions.flatMap((r) => (r.projection ? [[repartitionTopic(config.kafka.applicationId, r.name), r.projection.record] as const] : []))),
    });
  }

  private fatal(component: string, err: Error): void {
    this.failed.add(component);
    this.vitals.fail(component, err);
    this.onFatal?.(err);
  }

  /** The client id of this instance's consumers when the Kafka client was made for it (`createKafka(config, logger, '-' + instanceId)`). */
  get instanceClientId(): string {
    return `${this.config.kafka.clientId}-${this.config.kafka.instanceId}`;
  }

  /**
   * At the first join: warns when another live member of the group carries this instance's
   * client id, i.e. the same `kafka.instanceId` (two deployments given the same id). Nothing
   * breaks (transactional ids are per task), but logs and group listings no longer tell them apart.
   */
  private async checkInstanceId(memberId: string): Promise<void> {
    if (this.instanceIdChecked) return;
    this.instanceIdChecked = true;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const { groups } = await admin.describeGroups([this.groupId]);
      const same = membersWithSameClientId(groups[0]?.members ?? [], { memberId, clientId: this.instanceClientId });
      if (same.length > 0) {
        this.logger.warn(
          { instanceId: this.config.kafka.instanceId, group: this.groupId, others: same },
          'another live member of the group uses the same kafka.instanceId: give each instance its own (the default, <hostname>-<pid>, differs per process)',
        );
      }
    } catch (err) {
      this.logger.debug({ err }, 'could not check whether another member uses the same instance id');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  get groupId(): string {
    return this.config.kafka.applicationId;
  }

  /** The tasks' transactional ids, `<applicationId>-<partition>`: whichever instance owns a task uses its id, and fences the previous owner. */
  get transactionalIdPattern(): string {
    return `${this.config.kafka.applicationId}-<partition>`;
  }

  /** Running, a member of its group, and no consumer of the runtime (the stream's, a global table's) stopped for good: what /readyz reports. */
  get ready(): boolean {
    return this.thread.ready && this.failed.size === 0;
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
    // Each task's producer is initialised when the task is made (taskManager.ts). A transaction
    // a crash left open on a topic a global table reads holds the table's read_committed
    // consumer until the new owner of that task aborts it, or until the transaction timeout
    // (kafka.transactionTimeoutMs, 10 s by default).
    for (const role of new Set(this.processors.flatMap((p) => p.globalTables ?? []))) {
      const table = new GlobalTable(this.kafka, this.serde, role, this.config.topics[role], this.config.kafka.applicationId, this.logger);
      table.onFatal = (err) => this.fatal(`global table ${role}`, err);
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
      processingErrors: this.config.streams.processingErrors,
      onProcessingError: (processor, record, err) =>
        this.logger.warn({ processor, topic: record.topic, partition: record.partition, offset: record.offset, err }, 'a processor threw on a record: sent to the DLQ as PROCESSING_ERROR (streams.processingErrors=dlq)'),
    };
  }

  /** Shuts down: the batch in flight finishes and commits, then the group is left, the producer closed and the global tables stopped. */
  async stop(): Promise<void> {
    if (!this.thread.isRunning) return;
    await this.thread.shutdown();
    await this.tasks.closeSnapshots(); // [restore] after the last commit
    await this.tasks.close();
    for (const t of this.globals.values()) await t.stop();
  }
}
