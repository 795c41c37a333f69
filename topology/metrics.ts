/**
 * Prometheus metrics of the service: records consumed, produced and dead-lettered per
 * topic, batch processing latency, consumer lag per topic, state store sizes, ClickHouse
 * insert latency and rows. Counters are read from the components when scraped.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Kafka } from 'kafkajs';
import type { ClickHouseSink } from './sink/clickhouseSink.ts';
import type { StreamsApp } from './streamsApp.ts';
import { groupPositions, partitionLag, StableOffsetReader } from './admin.ts';
import { TOPIC_ROLES } from '../schemas/catalog.ts';

export interface ServiceMetrics {
  registry: Registry;
  /** The latest consumer lag poll: records not yet consumed and committed, per consumer group (against the last stable offset, commit markers not counted). */
  lagByGroup(): Record<string, number>;
  /** When the latest complete lag poll started (epoch ms); null before the first. */
  lagPolledAt(): number | null;
  /** Polls consumer lag until stopped. */
  stop(): void;
}

function mirror(counter: Counter<string>, label: string, values: Record<string, number>): void {
  counter.reset();
  for (const [k, v] of Object.entries(values)) counter.inc({ [label]: k }, v);
}

export function createMetrics(args: { streams: StreamsApp; sink: ClickHouseSink; kafka: Kafka; ready: () => boolean; lagIntervalMs?: number }): ServiceMetrics {
  const { streams, sink, kafka, ready } = args;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'artenic_' });
  const consumed = new Counter({
    name: 'artenic_records_consumed_total',
    help: 'Records consumed and committed by the stream topology, per input (topic role or repartition).',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      mirror(this, 'source', streams.counters.consumed);
    },
  });
  const produced = new Counter({
    name: 'artenic_records_produced_total',
    help: 'Records produced by the stream topology, per output topic role.',
    labelNames: ['topic'],
    registers: [registry],
    collect() {
      mirror(this, 'topic', streams.counters.produced);
    },
  });
  const dlq = new Counter({
    name: 'artenic_dead_letters_total',
    help: 'Records sent to the DLQ, per error code.',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      mirror(this, 'code', streams.counters.deadLetters);
    },
  });
  // [partitioner]
  new Counter({
    name: 'artenic_mispartitioned_records_total',
    help: 'Records of key-joined inputs that arrived on another partition than their key\'s (murmur2), per input topic and action (reroute: sent through <applicationId>-<topic>-rerouted; dlq: dead-lettered as MISPARTITIONED).',
    labelNames: ['topic', 'action'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [topic, byAction] of Object.entries(streams.counters.mispartitioned)) for (const [action, n] of Object.entries(byAction)) this.inc({ topic, action }, n);
    },
  });
  new Counter({
    name: 'artenic_transactions_total',
    help: 'Kafka transactions committed.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(streams.counters.transactions);
    },
  });
  new Counter({
    name: 'artenic_store_restore_records_total',
    help: 'Changelog records read and applied while restoring tasks: the tail after each task snapshot, or whole changelogs where there was none.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(streams.counters.restoredRecords);
    },
  });
  new Counter({
    name: 'artenic_store_restore_snapshot_entries_total',
    help: 'Store entries loaded from task snapshots on local disk while restoring tasks.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(streams.counters.restoredSnapshotEntries);
    },
  });
  new Gauge({
    name: 'artenic_state_store_entries',
    help: 'Entries per state store on this instance, over its tasks; global tables as store="global-<topic role>".',
    labelNames: ['store'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [store, n] of Object.entries(streams.storeSizes)) this.set({ store }, n);
      for (const role of TOPIC_ROLES) {
        const rows = streams.globalRows(role);
        if (rows) this.set({ store: `global-${role}` }, rows.size);
      }
    },
  });
  new Gauge({
    name: 'artenic_task_buffered_records',
    help: 'Input records fetched and decoded, waiting in the tasks\' buffers for their turn in event time.',
    registers: [registry],
    collect() {
      this.set(streams.bufferedRecords);
    },
  });
  new Counter({
    name: 'artenic_stream_events_total',
    help: 'Runtime events: task_idle_expired (a task went on without an input that had a backlog), transaction_retries, producer_resets, and the processors\' own counts.',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      mirror(this, 'event', streams.counters.events);
    },
  });
  new Gauge({
    name: 'artenic_sink_buffered_rows',
    help: 'Rows waiting for the next ClickHouse insert.',
    registers: [registry],
    collect() {
      this.set(sink.bufferedRows);
    },
  });
  const sinkRows = new Counter({
    name: 'artenic_clickhouse_rows_inserted_total',
    help: 'Rows inserted into ClickHouse, per table.',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      mirror(this, 'table', sink.counters.rowsInserted);
    },
  });
  const batchLatency = new Histogram({
    name: 'artenic_batch_processing_seconds',
    help: 'From taking records out of a task\'s buffers to their transaction commit, per input.',
    labelNames: ['source'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const insertLatency = new Histogram({
    name: 'artenic_clickhouse_insert_seconds',
    help: 'Duration of a ClickHouse batch insert (all tables of one flush).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'artenic_consumer_lag',
    help: 'Records a consumer group has yet to consume and commit, per topic: against the last stable offset, commit markers not counted.',
    labelNames: ['group', 'topic'],
    registers: [registry],
  });
  new Gauge({
    name: 'artenic_ready',
    help: '1 when the instance is ready (what /readyz answers 200 for): the stream topology and the sink run, and no vital component stopped for good.',
    registers: [registry],
    collect() {
      this.set(ready() ? 1 : 0);
    },
  });
  new Counter({
    name: 'artenic_sink_insert_failures_total',
    help: 'ClickHouse inserts that failed and will be retried.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sink.counters.insertFailures);
    },
  });
  new Gauge({
    name: 'artenic_sink_paused',
    help: '1 while the sink has paused consumption (its buffer is full until ClickHouse accepts an insert).',
    registers: [registry],
    collect() {
      this.set(sink.counters.paused ? 1 : 0);
    },
  });
  void consumed;
  void produced;
  void dlq;
  void sinkRows;
  streams.onBatchCommitted = (source, _records, seconds) => batchLatency.observe({ source }, seconds);
  sink.onInsert = (_rows, seconds) => insertLatency.observe(seconds);

  const admin = kafka.admin();
  const stable = new StableOffsetReader(kafka);
  let connected = false;
  const lagTotals: Record<string, Record<string, number>> = {};
  let polledAt: number | null = null;
  const pollLag = async () => {
    const started = Date.now();
    if (!connected) {
      await admin.connect();
      connected = true;
    }
    for (const [group, topics, owned] of [
      [streams.groupId, streams.subscribedTopics, streams.fetchPositions()],
      [sink.groupId, sink.subscribedTopics, sink.fetchPositions()],
    ] as const) {
      const [positions, stableEnds] = await Promise.all([groupPositions(admin, group, topics), stable.read(topics)]);
      for (const [topic, partitions] of positions) {
        let total = 0;
        for (const [partition, { next, end }] of partitions) total += partitionLag(next, stableEnds?.get(topic)?.get(partition) ?? end, owned.get(topic)?.get(partition));
        lag.set({ group, topic }, total);
        (lagTotals[group] ??= {})[topic] = total;
      }
    }
    polledAt = started;
  };
  const timer = setInterval(() => void pollLag().catch(() => undefined), args.lagIntervalMs ?? 10_000);
  timer.unref();
  void pollLag().catch(() => undefined);
  return {
    registry,
    lagPolledAt: () => polledAt,
    lagByGroup: () => Object.fromEntries(Object.entries(lagTotals).map(([g, topics]) => [g, Object.values(topics).reduce((a, b) => a + b, 0)])),
    stop: () => {
      clearInterval(timer);
      if (connected) void admin.disconnect().catch(() => undefined);
      void stable.close();
    },
  };
}
