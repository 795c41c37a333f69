/**
 * The application: which processors run (`topology.ts`) on the runtime (`topology/`), and the
 * whole service around them: registry, topics, migrations, the stream topology and the ClickHouse
 * sink, started in that order and stopped in reverse. `startService` is what `run` calls
 * and what the integration tests start in a child process.
 */
import type { Config } from '../config/options.ts';
import { redactConfig } from '../config/options.ts';
import { createClickHouse, isEmbedded, type ClickHouseClient } from '../infra/clickhouse/client.ts';
import { startSqlEndpoint, type SqlEndpoint } from '../infra/clickhouse/httpInterface.ts';
import { migrate } from '../infra/clickhouse/migrate.ts';
import { ensureTopologyTopics } from '../topology/admin.ts';
import { withRetries } from '../common/errors.ts';
import { createKafka } from '../topology/kafka.ts';
import type { Logger } from '../common/logger.ts';
import { createRegistry, TopicSerde } from '../topology/serde.ts';
import { ClickHouseSink } from '../topology/sink/clickhouseSink.ts';
import { StreamsApp } from '../topology/streamsApp.ts';
import { Vitals } from '../topology/vitals.ts';
import { buildProcessors } from './topology.ts';
import { TrainingWorker } from '../processors/advisor/ltr/trainingWorker.ts';
import { createMetrics } from '../topology/metrics.ts';
import { registerAdvisorMetrics } from './advisorMetrics.ts';
import { startTracing } from '../topology/tracing.ts';
import { startHttpServer } from '../topology/http.ts';
import { selectionOf, statusData } from '../dashboard/statusData.ts';
import { renderBody, renderPage, renderUnavailable } from '../dashboard/render.ts';

export interface RunningServiceHandle {
  /** Where the status page, /metrics, /healthz and /readyz answer. */
  httpUrl: string;
  /** The read-only ClickHouse HTTP interface over the embedded engine; null with a ClickHouse server or `sql.enabled` off. */
  sqlUrl: string | null;
  streams: StreamsApp;
  sink: ClickHouseSink;
  clickhouse: ClickHouseClient;
  serde: TopicSerde;
  stop(): Promise<void>;
}

export interface ServiceHooks {
  /** A vital component (stream consumer, global table, sink) stopped for good; by default only logged (the instance reports not ready). */
  onFatal?: (err: Error) => void;
}

export async function startService(config: Config, logger: Logger, hooks: ServiceHooks = {}): Promise<RunningServiceHandle> {
  logger.info({ config: redactConfig(config) }, 'starting');
  if (!config.registry.url) throw new Error('registry.url is not set: configure ARTENIC_REGISTRY_URL or use `make run`');
  // The instance id in the clients' id: group listings tell instances apart, and a second
  // member with the same id is noticed (StreamsApp.checkInstanceId).
  const kafka = createKafka(config, logger, `-${config.kafka.instanceId}`);
  const serde = new TopicSerde(createRegistry({ url: config.registry.url, username: config.registry.username, password: config.registry.password }), config.topics, { maxStringLength: config.validation.maxStringLength });
  await withRetries('register schemas', () => serde.registerAll(), {
    retries: 10,
    retryAll: true,
    onRetry: (err, n) => logger.warn({ err: (err as Error).message, attempt: n }, 'schema registration failed; retrying'),
  });
  // [loop] Training runs in a worker thread here; a replay trains in the thread.
  const trainingWorker = new TrainingWorker();
  const processors = buildProcessors(config, { trainer: trainingWorker.train });
  await ensureTopologyTopics(kafka, config, processors);
  const clickhouse = createClickHouse(config.clickhouse);
  const applied = await migrate(clickhouse, config.clickhouse.database);
  if (applied.length > 0) logger.info({ applied }, 'ClickHouse migrations applied');

  // A vital component (the stream consumer, a global table's consumer, the sink's consumer)
  // that stops for good makes /readyz fail and, through hooks.onFatal, `run` exit 1.
  const vitals = new Vitals();
  vitals.onFailure((component, err) => {
    logger.error({ component, err: err.message }, 'a vital component stopped for good: this instance is not ready');
    hooks.onFatal?.(err);
  });
  const streams = new StreamsApp(kafka, config, serde, processors, logger.child({ component: 'streams' }), vitals);
  const sink = new ClickHouseSink(kafka, config, serde, clickhouse, logger.child({ component: 'clickhouse-sink' }));
  sink.onFatal = (err) => vitals.fail('clickhouse sink', err);
  await streams.start();
  await sink.start();
  // One readiness check for /readyz and artenic_ready.
  const notReady = () =>
    vitals.notReady([
      { name: 'stream topology', ready: streams.ready },
      { name: 'clickhouse sink', ready: sink.ready },
    ]);
  const metrics = createMetrics({ streams, sink, kafka, ready: () => notReady().length === 0 });
  registerAdvisorMetrics(metrics.registry, () => streams.globalRows('advisor-models'));
  const tracing = startTracing(config, { streams, sink }, logger);
  const pageData = (params: URLSearchParams) =>
    statusData(clickhouse, config.clickhouse.database, { streams, sink, consumerLag: metrics.lagByGroup(), consumerLagAt: metrics.lagPolledAt(), advisorMode: config.advisor.mode, scaling: config.advisor.scaling }, selectionOf(params));
  const http = await startHttpServer(
    config.http.host,
    config.http.port,
    {
      registry: metrics.registry,
      notReady,
      status: (params) => pageData(params),
      page: async (params, fragment) => (fragment ? renderBody : renderPage)(await pageData(params)),
      unavailable: renderUnavailable,
    },
    logger,
  );
  logger.info({ url: http.url }, 'status page, /metrics, /healthz, /readyz');
  const sql = await startSql(config, logger);
  logger.info({ instanceId: config.kafka.instanceId, transactionalIds: streams.transactionalIdPattern, group: streams.groupId }, 'running');
  let stopped = false;
  return {
    httpUrl: http.url,
    sqlUrl: sql?.url ?? null,
    streams,
    sink,
    clickhouse,
    serde,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      metrics.stop();
      // Each step says so when it is slow: a stop that hangs names where.
      const step = async (name: string, fn: () => Promise<unknown> | undefined): Promise<void> => {
        const slow = setTimeout(() => logger.warn({ step: name }, `stopping: ${name} has taken over 10 s`), 10_000);
        try {
          await fn();
        } finally {
          clearTimeout(slow);
        }
      };
      await step('the SQL endpoint', () => sql?.close());
      await step('the HTTP server', () => http.close());
      await step('the stream runtime', () => streams.stop());
      await step('the ClickHouse sink', () => sink.stop());
      await step('the training worker', () => trainingWorker.close());
      await step('tracing', () => tracing.shutdown());
      await step('the ClickHouse engine', () => clickhouse.close());
      logger.info('stopped');
    },
  };
}

/** The SQL endpoint, when the engine is embedded (a server is queried directly) and it is enabled. */
async function startSql(config: Config, logger: Logger): Promise<SqlEndpoint | null> {
  if (!config.sql.enabled || !isEmbedded(config.clickhouse)) return null;
  const { sql } = config;
  const endpoint = await startSqlEndpoint({
    host: sql.host,
    port: sql.port,
    username: sql.username,
    password: sql.password,
    maxConcurrentQueries: sql.maxConcurrentQueries,
    defaultDatabase: config.clickhouse.database,
    openSession: () =>
      createClickHouse(config.clickhouse, {
        readOnly: true,
        sessionSettings: { max_execution_time: sql.maxExecutionTimeS, max_result_bytes: sql.maxResultBytes, result_overflow_mode: 'throw' },
      }),
    logger: logger.child({ component: 'sql-endpoint' }),
  });
  logger.info({ url: endpoint.url, auth: sql.username !== null }, 'SQL endpoint (ClickHouse HTTP interface, read-only)');
  return endpoint;
}
