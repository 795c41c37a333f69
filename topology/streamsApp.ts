/**
 * The Kafka runtime: a consumer group over the co-partitioned input topics feeds one RxJS
 * pipeline per partition (decode -> validate -> processors), and every batch commits
 * through one Kafka transaction holding its outputs, its dead letters, its store changes
 * and its input offsets. Downstream readers use read_committed, so each input affects
 * the outputs exactly once, however often the service crashes.
 *
 * A task takes its records in event-time order across its input topics (PartitionGroup):
 * each fetched batch is decoded into the task's buffer, and the task works through the
 * buffers, smallest event time first, one transaction per `maxBatchRecords`, committing
 * the offsets of every topic it took from.
 *
 * Lifecycle: `start()` once; `stop()` drains the batch in flight, commits it and leaves
 * the group. A failed transaction corrupts the tasks: they are dropped and restored from
 * their changelogs, and the batch is consumed again from the committed offsets.
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { Partitioners, type Consumer, type EachBatchPayload, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Config } from '../config/options.ts';
import { INPUT_TOPICS, type OutputTopic, type TopicRole } from '../schemas/catalog.ts';
import { inputPositions, type FetchPosition } from './admin.ts';
import { TaskCorruptedError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { decodeRecords, type SourceMessage } from './operators/decodeRecords.ts';
import { PartitionGroup, type BufferedRecord, type TakenRecord } from './partitionGroup.ts';
import { processRecords } from './operators/processRecords.ts';
import { repartitionTopic, type Emission, type Processor, type Repartition } from './processor.ts';
import { restoreTasks } from './restore.ts';
import type { TopicSerde } from './serde.ts';
import { changelogTopic } from './stores/index.ts';
import { StreamTask } from './task.ts';
import { GlobalTable } from './globalTable.ts';
import type { DeadLetter, TopicRecords } from '../schemas/generated/records.ts';

/** Brokers refuse record batches over message.max.bytes (1 MiB by default): stay well below. */
const MAX_REQUEST_BYTES = 512 * 1024;
const MAX_DEAD_LETTER_VALUE_BYTES = 512 * 1024;

function messageBytes(m: Message): number {
  const size = (v: Message['key'] | Message['value']) => (v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  return size(m.key) + size(m.value) + 64;
}

/** Splits what a transaction sends into requests of at most `maxBytes` each. */
export function chunkRequests(byTopic: Map<string, Message[]>, maxBytes: number): Array<Array<{ topic: string; messages: Message[] }>> {
  const requests: Array<Array<{ topic: string; messages: Message[] }>> = [];
  let current: Array<{ topic: string; messages: Message[] }> = [];
  let bytes = 0;
  for (const [topic, messages] of byTopic) {
    let slice: Message[] = [];
    for (const m of messages) {
      const size = messageBytes(m);
      if (bytes + size > maxBytes && (slice.length > 0 || current.length > 0)) {
        if (slice.length > 0) current.push({ topic, messages: slice });
        requests.push(current);
        current = [];
        slice = [];
        bytes = 0;
      }
      slice.push(m);
      bytes += size;
    }
    if (slice.length > 0) current.push({ topic, messages: slice });
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

export interface StreamsCounters {
  consumed: Record<string, number>;
  produced: Record<string, number>;
  deadLetters: Record<string, number>;
  events: Record<string, number>;
  transactions: number;
  restores: number;
}

export class StreamsApp {
  readonly counters: StreamsCounters = { consumed: {}, produced: {}, deadLetters: {}, events: {}, transactions: 0, restores: 0 };
  private readonly tasks = new Map<number, StreamTask>();
  /** Each task's fetched, decoded, not yet processed input. */
  private readonly groups = new Map<number, PartitionGroup>();
  /** Per `topic|partition` owned: the next offset to fetch after the latest fetch, commit markers included (for consumer lag). */
  private readonly fetched = new Map<string, bigint>();
  /** Input topic-partitions paused because their buffer is full, by partition. */
  private readonly pausedInputs = new Map<number, Set<string>>();
  /** Retries of a drain that waits for a lagging input with nothing fetched (the idle bound). */
  private readonly drainTimers = new Map<number, NodeJS.Timeout>();
  /** Batches and timer drains run one at a time: they share the tasks and the transactional producer. */
  private serial: Promise<void> = Promise.resolve();
  /** Moves on every rebalance: a drain that started in an older generation does not commit. */
  private generation = 0;
  /** Completed fetches per broker: a task waits at least two rounds for an input before it goes on without it. */
  private readonly fetchesByNode = new Map<number, number>();
  /** Partitions whose task waits for an input that is behind: each fetch lets them try again. */
  private readonly waiting = new Set<number>();
  private assigned = new Set<number>();
  private consumer?: Consumer;
  private producer?: Producer;
  private readonly sourceByTopic: Map<string, { role: TopicRole; source: string }>;
  private readonly repartitions: Repartition[];
  private readonly storeNames: string[];
  private running = false;
  private joined = false;
  /** The producer's transaction state is unknown (an abort failed): replace it before the next transaction. */
  private producerBroken = false;
  /** Input topic-partitions ("topic:partition") whose last transaction may or may not have committed. */
  private readonly uncertain = new Set<string>();
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
    ]);
    this.storeNames = StreamTask.storeNames(processors);
  }

  get groupId(): string {
    return this.config.kafka.applicationId;
  }

  get transactionalId(): string {
    return `${this.config.kafka.applicationId}-${this.config.kafka.instanceId}`;
  }

  /** Running and a member of its group: what /readyz reports. */
  get ready(): boolean {
    return this.running && this.joined;
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

  private readonly globals = new Map<string, GlobalTable<TopicRole>>();

  /** A global table's current rows (read-only), or undefined when no processor declares it. */
  globalRows<R extends TopicRole>(role: R): ReadonlyMap<string, TopicRecords[R]> | undefined {
    return this.globals.get(role)?.rows as ReadonlyMap<string, TopicRecords[R]> | undefined;
  }

  async start(): Promise<void> {
    const k = this.config.kafka;
    // The producer first: its initialisation fences this instance's predecessor and aborts the
    // transaction a crash left open, which would otherwise hold every read_committed reader
    // of the topics it wrote (global tables included) until the transaction timeout.
    this.producer = this.newProducer();
    await this.producer.connect();
    // kafkajs initialises the transactional id on the first transaction, not on connect.
    await (await this.producer.transaction()).abort();
    for (const role of new Set(this.processors.flatMap((p) => p.globalTables ?? []))) {
      const table = new GlobalTable(this.kafka, this.serde, role, this.config.topics[role], this.config.kafka.applicationId, this.logger);
      await table.start();
      this.globals.set(role, table);
    }
    this.consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      sessionTimeout: k.sessionTimeoutMs,
      heartbeatInterval: Math.floor(k.sessionTimeoutMs / 10),
      maxBytesPerPartition: this.config.streams.maxBytesPerPartition,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 200,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = new Set<number>();
      for (const parts of Object.values(payload.memberAssignment)) for (const p of parts as number[]) partitions.add(p);
      // Tasks of partitions that left this instance are dropped; if they come back, they are
      // restored from the changelog, which may have moved on meanwhile.
      for (const p of this.tasks.keys()) if (!partitions.has(p)) this.tasks.delete(p);
      for (const key of this.fetched.keys()) if (!partitions.has(Number(key.slice(key.lastIndexOf('|') + 1)))) this.fetched.delete(key);
      // After a rebalance the consumer fetches again from the committed offsets: what was
      // buffered and not committed comes again, so the buffers go.
      this.dropBuffers();
      this.generation++;
      this.assigned = partitions;
      this.joined = true;
      this.logger.info({ partitions: [...partitions].sort((a, b) => a - b) }, 'partitions assigned');
    });
    this.consumer.on(this.consumer.events.REBALANCING, () => {
      this.generation++;
    });
    // A fetch of only control records or aborted data does not reach eachBatch, yet moves
    // the position: an input that was behind by them is caught up.
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = `${payload.topic}|${payload.partition}`;
      const next = BigInt(payload.lastOffset) + 1n;
      if (next > (this.fetched.get(key) ?? -1n)) this.fetched.set(key, next);
      if (payload.batchSize > 0) return;
      const group = this.groups.get(payload.partition);
      if (!group || !this.sourceByTopic.has(payload.topic)) return;
      group.observePosition(payload.topic, BigInt(payload.lastOffset) + 1n, BigInt(payload.highWatermark));
      if (group.totalBuffered > 0) this.scheduleDrain(payload.partition, 0);
    });
    this.consumer.on(this.consumer.events.FETCH, ({ payload }) => {
      const node = (payload as { nodeId?: number }).nodeId ?? -1;
      this.fetchesByNode.set(node, (this.fetchesByNode.get(node) ?? 0) + 1);
      for (const p of this.waiting) this.scheduleDrain(p, 0);
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts the consumer after retriable failures only; otherwise nothing
      // consumes any more while the process lives on: say so, and stop being ready.
      if (payload.restart) return;
      this.joined = false;
      this.logger.error({ err: payload.error }, 'stream consumer crashed and will not restart: this instance no longer processes (not ready)');
      this.onFatal?.(payload.error);
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.sourceByTopic.keys()], fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
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

  /**
   * The transactional producer. After an abort that failed (the broker went away in the
   * middle of a transaction) kafkajs' producer is stuck in ABORTING and refuses every new
   * transaction, so it is replaced: a new producer with the same transactional id is
   * initialised once the broker answers, and the coordinator first completes or aborts the
   * transaction left open, whose outcome `uncertain` then reads from the committed offsets.
   */
  private async transactionalProducer(): Promise<Producer> {
    if (this.producer && !this.producerBroken) return this.producer;
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = this.newProducer();
    await this.producer.connect();
    this.producerBroken = false;
    this.counters.events.producer_resets = (this.counters.events.producer_resets ?? 0) + 1;
    this.logger.warn('transactional producer replaced after a transaction whose abort failed');
    return this.producer;
  }

  /** The committed offset of an input partition whose last transaction has an unknown outcome, once; null when none is. */
  private async resolveUncertain(topic: string, partition: number): Promise<bigint | null> {
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
   * The partition's input buffers. They are created for every assigned partition at once,
   * with each input's committed offset and end, so a backlog is known before its first fetch.
   */
  private async ensureGroup(partition: number): Promise<PartitionGroup> {
    const existing = this.groups.get(partition);
    if (existing) return existing;
    const aligned = INPUT_TOPICS.map((role) => this.config.topics[role]).filter((t) => this.sourceByTopic.has(t));
    const positions = await inputPositions(this.kafka, this.groupId, aligned);
    for (const p of new Set([...this.assigned, partition])) {
      if (this.groups.has(p)) continue;
      const group = new PartitionGroup({
        alignedTopics: new Set(aligned),
        maxTaskIdleMs: this.config.streams.maxTaskIdleMs,
        onIdleExpired: (topic) => {
          this.counters.events.task_idle_expired = (this.counters.events.task_idle_expired ?? 0) + 1;
          this.logger.debug({ topic, partition: p }, 'an input behind its end delivered nothing within streams.maxTaskIdleMs: the task goes on without it');
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

  private pauseInput(topic: string, partition: number): void {
    const paused = this.pausedInputs.get(partition) ?? new Set<string>();
    if (paused.has(topic)) return;
    paused.add(topic);
    this.pausedInputs.set(partition, paused);
    this.consumer?.pause([{ topic, partitions: [partition] }]);
  }

  private resumeDrainedInputs(partition: number, group: PartitionGroup): void {
    const paused = this.pausedInputs.get(partition);
    if (!paused) return;
    for (const topic of paused) {
      if (group.buffered(topic) > this.config.streams.maxBufferedRecords / 2) continue;
      paused.delete(topic);
      this.consumer?.resume([{ topic, partitions: [partition] }]);
    }
  }

  /** Forgets every buffered record and resumes what was paused for them: they are fetched again. */
  private dropBuffers(): void {
    this.groups.clear();
    this.waiting.clear();
    for (const t of this.drainTimers.values()) clearTimeout(t);
    this.drainTimers.clear();
    for (const [partition, topics] of this.pausedInputs) {
      for (const topic of topics) this.consumer?.resume([{ topic, partitions: [partition] }]);
    }
    this.pausedInputs.clear();
  }

  /**
   * State may hold changes that did not commit: tasks are restored from their changelogs,
   * and every buffered input is fetched again from its committed offset. The consumer has
   * moved its fetch position past what it buffered, and after a failed batch kafkajs retries
   * without rejoining the group, so it is sent back explicitly.
   */
  private dropAll(): void {
    const rewind = [...this.groups].flatMap(([partition, g]) => [...g.committedPositions()].map(([topic, next]) => ({ topic, partition, offset: next.toString() })));
    this.tasks.clear();
    this.dropBuffers();
    for (const seek of rewind) {
      try {
        this.consumer?.seek(seek);
      } catch (err) {
        // Not assigned any more: its next owner starts from the committed offset anyway.
        this.logger.debug({ err, ...seek }, 'no rewind for an input that is not assigned');
      }
    }
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
   * Drains a partition outside a fetch: when a lagging input's idle bound runs out, or it
   * turned out caught up. A failure here has no batch to fail: the tasks are restored and
   * the buffered input fetched again (dropAll).
   */
  private scheduleDrain(partition: number, delayMs: number): void {
    if (this.drainTimers.has(partition) || !this.running) return;
    const timer = setTimeout(() => {
      this.drainTimers.delete(partition);
      void this.exclusive(async () => {
        if (!this.running || !this.joined) return;
        try {
          await this.drain(partition);
        } catch (err) {
          this.logger.warn({ err, partition }, 'drain failed; tasks dropped and input fetched again from the committed offsets');
          this.dropAll();
        }
      });
    }, delayMs);
    timer.unref();
    this.drainTimers.set(partition, timer);
  }

  private async ensureTask(partition: number): Promise<StreamTask> {
    const existing = this.tasks.get(partition);
    if (existing) return existing;
    const wanted = new Set([...this.assigned, partition]);
    const fresh = [...wanted].filter((p) => !this.tasks.has(p)).map((p) => new StreamTask(p, this.processors, this.taskOptions()));
    await restoreTasks({
      kafka: this.kafka,
      producer: await this.transactionalProducer(),
      applicationId: this.config.kafka.applicationId,
      tasks: fresh,
      logger: this.logger,
    });
    this.counters.restores++;
    for (const t of fresh) {
      t.init();
      this.tasks.set(t.partition, t);
    }
    return this.tasks.get(partition) as StreamTask;
  }

  private taskOptions() {
    return {
      globalTables: new Map([...this.globals].map(([role, t]) => [role, t.rows])),
      graceMs: this.config.streams.graceMs,
      punctuateIntervalMs: this.config.streams.punctuateIntervalMs,
      onCount: (what: string, n: number) => {
        this.counters.events[what] = (this.counters.events[what] ?? 0) + n;
      },
    };
  }

  private onBatch(payload: EachBatchPayload): Promise<void> {
    return this.exclusive(() => this.bufferBatch(payload));
  }

  /** Decodes a fetched batch into its task's buffer, then lets the task work through what is ready. */
  private async bufferBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const origin = this.sourceByTopic.get(batch.topic);
    if (!origin) return;
    const { role, source } = origin;
    let messages = batch.messages;
    let group: PartitionGroup;
    try {
      const committed = await this.resolveUncertain(batch.topic, batch.partition);
      if (committed !== null) {
        // Records the uncertain transaction did commit are not processed twice.
        const done = messages.filter((m) => BigInt(m.offset) < committed);
        if (done.length > 0) resolveOffset((done[done.length - 1] as (typeof messages)[number]).offset);
        messages = messages.filter((m) => BigInt(m.offset) >= committed);
      }
      await this.ensureTask(batch.partition);
      group = await this.ensureGroup(batch.partition);
    } catch (err) {
      // A restore whose barrier transaction failed may leave the producer unusable too.
      this.producerBroken = true;
      this.dropAll();
      throw new TaskCorruptedError(`restoring the tasks for ${batch.topic}/${batch.partition} failed: ${(err as Error).message}`, { cause: err });
    }
    if (!isRunning() || isStale()) return;
    const last = messages[messages.length - 1];
    if (last) {
      const sources: SourceMessage[] = messages.map((message) => ({ role, source, topic: batch.topic, partition: batch.partition, message }));
      let decoded;
      try {
        decoded = await lastValueFrom(
          from(sources).pipe(decodeRecords({ serde: this.serde, bounds: this.bounds(), maxRecordBytes: this.config.validation.maxRecordBytes }), toArray()),
        );
      } catch (err) {
        // The registry is unreachable, say: nothing of this batch was buffered; fetch it again.
        this.dropAll();
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
      if (group.buffered(batch.topic) >= this.config.streams.maxBufferedRecords) this.pauseInput(batch.topic, batch.partition);
    }
    try {
      await this.drain(batch.partition, heartbeat, isStale);
    } catch (err) {
      this.dropAll();
      this.logger.warn({ err, topic: batch.topic, partition: batch.partition }, 'batch failed; tasks dropped and will be restored');
      throw new TaskCorruptedError(`batch of ${batch.topic}/${batch.partition} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Works through a task's buffered input in event-time order, one transaction per
   * `maxBatchRecords`, until the buffers are empty or an input that is behind has nothing
   * buffered (then a timer retries within the idle bound). Throws when a transaction fails.
   */
  private async drain(partition: number, heartbeat?: () => Promise<void>, isStale?: () => boolean): Promise<void> {
    const generation = this.generation;
    const max = this.config.streams.maxBatchRecords;
    for (;;) {
      const task = this.tasks.get(partition);
      const group = this.groups.get(partition);
      if (!task || !group || !this.running || generation !== this.generation || isStale?.()) return;
      const started = process.hrtime.bigint();
      const { records, waitMs } = group.take(max, Date.now(), this.fetchRound);
      if (waitMs !== undefined) this.waiting.add(partition);
      else this.waiting.delete(partition);
      if (records.length === 0) {
        if (waitMs !== undefined && waitMs > 0) this.scheduleDrain(partition, waitMs);
        return;
      }
      const emissions = await lastValueFrom(
        from(records.map((r) => r.decoded)).pipe(processRecords(task), toArray()),
      );
      emissions.push(...task.maybePunctuate());
      const committed = await this.commit(task, emissions, partition, nextOffsets(records), generation);
      if (!committed) {
        // A rebalance began: the partition may move. Nothing of this batch committed.
        this.dropAll();
        return;
      }
      group.markCommitted();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const [src, n] of this.countBySource(records)) {
        this.counters.consumed[src] = (this.counters.consumed[src] ?? 0) + n;
        this.onBatchCommitted?.(src, n, seconds);
      }
      this.resumeDrainedInputs(partition, group);
      await heartbeat?.();
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
      const src = this.sourceByTopic.get(r.topic)?.source ?? r.topic;
      counts.set(src, (counts.get(src) ?? 0) + 1);
    }
    return counts;
  }

  /** Records buffered and not yet processed, over all tasks of this instance. */
  get bufferedRecords(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.totalBuffered;
    return n;
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
    for (const [partition, g] of this.groups) {
      for (const [topic, position] of g.positions()) {
        const fetched = this.fetched.get(`${topic}|${partition}`) ?? position.received;
        set(topic, partition, { received: fetched > position.received ? fetched : position.received, pending: position.pending });
      }
    }
    return out;
  }

  private bounds() {
    return { minEventTimeMs: this.config.validation.minEventTimeMs, maxEventTimeMs: Date.now() + this.config.validation.maxFutureSkewMs };
  }

  private async encodeEmissions(emissions: Emission[]): Promise<Map<string, Message[]>> {
    const out = new Map<string, Message[]>();
    const push = (topic: string, m: Message) => {
      const list = out.get(topic);
      if (list) list.push(m);
      else out.set(topic, [m]);
    };
    for (const e of emissions) {
      if (e.kind === 'record') {
        const value = await this.serde.encode(e.role as OutputTopic, e.value);
        push(this.config.topics[e.role], { key: e.key, value });
        this.counters.produced[e.role] = (this.counters.produced[e.role] ?? 0) + 1;
        for (const r of this.repartitions) {
          if (r.from === e.role && (r.accepts?.(e.value as never) ?? true)) push(repartitionTopic(this.config.kafka.applicationId, r.name), { key: r.key(e.value as never), value });
        }
        continue;
      }
      let value = e.record ? await this.serde.encode(e.record.role, e.record.value) : (e.raw?.value ?? null);
      let reason = e.reason;
      if (value && value.length > MAX_DEAD_LETTER_VALUE_BYTES) {
        // The dead letter must itself fit in a broker request; the original stays readable at its offset.
        reason = `${reason} (value of ${value.length} bytes omitted; read it at its source offset)`;
        value = null;
      }
      const src = e.source;
      const letter: DeadLetter = {
        event_id: src ? `dlq:${src.topic}:${src.partition}:${src.offset}` : `dlq:${e.code}:${e.record?.role ?? 'unknown'}:${e.key ?? ''}`,
        event_time: e.record?.eventTime ?? e.raw?.timestamp ?? 0,
        source_topic: src?.topic ?? (e.record ? this.config.topics[e.record.role] : ''),
        source_partition: src?.partition ?? -1,
        source_offset: src ? Number(src.offset) : -1,
        error_code: e.code,
        reason,
        processor: e.processor,
        schema_id: e.raw ? e.raw.schemaId : e.record ? this.serde.schemaId(e.record.role) : null,
        key: e.raw ? e.raw.key : e.key !== null ? Buffer.from(e.key) : null,
        value,
      };
      push(this.config.topics.dlq, { key: e.key, value: await this.serde.encode('dlq', letter) });
      this.counters.deadLetters[e.code] = (this.counters.deadLetters[e.code] ?? 0) + 1;
    }
    return out;
  }

  /** Commits a task's batch: outputs, dead letters, store changes and input offsets in one transaction. False (aborted) when a rebalance began meanwhile. */
  private async commit(task: StreamTask, emissions: Emission[], partition: number, offsets: ReadonlyMap<string, bigint>, generation: number): Promise<boolean> {
    const byTopic = await this.encodeEmissions(emissions);
    for (const { store, entries } of task.drainChangelogs()) {
      byTopic.set(
        changelogTopic(this.config.kafka.applicationId, store),
        entries.map((c) => ({ key: c.key, value: c.value, partition: task.partition })),
      );
    }
    const requests = chunkRequests(byTopic, MAX_REQUEST_BYTES);
    // The coordinator may still be finishing the previous transaction
    // (CONCURRENT_TRANSACTIONS); the same content is sent again in a fresh transaction.
    // An aborted attempt is invisible to read_committed readers.
    for (let attempt = 0; ; attempt++) {
      const producer = await this.transactionalProducer();
      const txn = await producer.transaction();
      try {
        for (const topicMessages of requests) await txn.sendBatch({ topicMessages, acks: -1 });
        await txn.sendOffsets({
          consumerGroupId: this.groupId,
          topics: [...offsets].map(([topic, next]) => ({ topic, partitions: [{ partition, offset: next.toString() }] })),
        });
        if (generation !== this.generation) {
          await txn.abort();
          return false;
        }
        await txn.commit();
        this.counters.transactions++;
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
          this.producerBroken = true;
          for (const topic of offsets.keys()) this.uncertain.add(`${topic}:${partition}`);
          throw err;
        }
        if (!(err as { retriable?: boolean }).retriable || attempt >= 10) throw err;
        this.counters.events.transaction_retries = (this.counters.events.transaction_retries ?? 0) + 1;
        await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** attempt, 2_000)));
      }
    }
  }

  /** Drains: the batch in flight finishes and commits, then the group is left. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.joined = false;
    for (const t of this.drainTimers.values()) clearTimeout(t);
    this.drainTimers.clear();
    await this.serial;
    await this.consumer?.disconnect().catch((err) => this.logger.warn({ err }, 'consumer disconnect failed'));
    await this.producer?.disconnect().catch((err) => this.logger.warn({ err }, 'producer disconnect failed'));
    for (const t of this.globals.values()) await t.stop();
  }
}

/** Per topic, the offset after the last record taken: what the transaction commits. */
function nextOffsets(records: readonly TakenRecord[]): Map<string, bigint> {
  const next = new Map<string, bigint>();
  for (const r of records) if ((next.get(r.topic) ?? -1n) <= r.offset) next.set(r.topic, r.offset + 1n);
  return next;
}
