/**
 * Configuration for one integration test: the shared broker and registry, random topic
 * names and application id (so tests never see each other's records), a fresh embedded
 * ClickHouse directory. Each helper registers its own clean-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, inject } from 'vitest';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { loadConfig, type Config } from '../../config/options.ts';
import { TOPIC_ROLES } from '../../schemas/catalog.ts';
import { buildLabel } from '../../processors/feedback/join.ts';
import type { RelevanceLabel } from '../../schemas/generated/records.ts';
import type { GeneratedJob } from '../../simulate/generator.ts';
import type { TopicSerde } from '../../topology/serde.ts';
import { stopIdleRequestQueueTimers } from '../../topology/kafkajsIdleTimer.ts';

export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  const suffix = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'artenic-ch-'));
  // Task snapshots go to a directory of this test's own, not to <tmpdir>/artenic-streams.
  const stateDir = mkdtempSync(join(tmpdir(), 'artenic-state-'));
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });
  return loadConfig({
    env: {},
    overrides: {
      ...overrides,
      kafka: { brokers: inject('brokers'), applicationId: `test-${suffix}`, sessionTimeoutMs: 10_000, ...(overrides.kafka as object | undefined) },
      registry: { url: inject('registryUrl'), ...(overrides.registry as object | undefined) },
      clickhouse: { dataDir, database: `test_${suffix}` },
      streams: { stateDir, ...(overrides.streams as object | undefined) },
      topics: Object.fromEntries(TOPIC_ROLES.map((r) => [r, `${r}-${suffix}`])),
      sink: { flushIntervalMs: 200 },
      // An ephemeral port: several services may run at once.
      http: { host: '127.0.0.1', port: 0 },
      sql: { port: 0, ...(overrides.sql as object | undefined) },
      log: { level: 'warn' },
    },
  });
}

/** The environment that makes a child service process use this configuration. */
export function envOf(config: Config): Record<string, string> {
  const env: Record<string, string> = {
    ARTENIC_KAFKA_BROKERS: config.kafka.brokers.join(','),
    ARTENIC_KAFKA_APPLICATION_ID: config.kafka.applicationId,
    ARTENIC_KAFKA_SESSION_TIMEOUT_MS: String(config.kafka.sessionTimeoutMs),
    ARTENIC_REGISTRY_URL: config.registry.url ?? '',
    ARTENIC_CLICKHOUSE_DATA_DIR: config.clickhouse.dataDir,
    ARTENIC_CLICKHOUSE_DATABASE: config.clickhouse.database,
    ARTENIC_SINK_FLUSH_INTERVAL_MS: String(config.sink.flushIntervalMs),
    ARTENIC_LOG_LEVEL: 'info',
    ARTENIC_HTTP_PORT: String(config.http.port),
    ARTENIC_SQL_PORT: String(config.sql.port),
    ARTENIC_STREAMS_STATE_DIR: config.streams.stateDir ?? '',
    ARTENIC_STREAMS_SNAPSHOTS_ENABLED: String(config.streams.snapshotsEnabled),
    ARTENIC_STREAMS_SNAPSHOT_INTERVAL_MS: String(config.streams.snapshotIntervalMs),
    ARTENIC_STREAMS_SNAPSHOT_MIN_RECORDS: String(config.streams.snapshotMinRecords),
  };
  for (const role of TOPIC_ROLES) env[`ARTENIC_TOPICS_${role.replace(/-/g, '_').toUpperCase()}`] = config.topics[role];
  if (config.kafka.ssl) env.ARTENIC_KAFKA_SSL = 'true';
  if (config.kafka.sslCaFile) env.ARTENIC_KAFKA_SSL_CA_FILE = config.kafka.sslCaFile;
  if (config.kafka.saslMechanism !== 'none') {
    env.ARTENIC_KAFKA_SASL_MECHANISM = config.kafka.saslMechanism;
    env.ARTENIC_KAFKA_SASL_USERNAME = config.kafka.saslUsername ?? '';
    env.ARTENIC_KAFKA_SASL_PASSWORD = config.kafka.saslPassword ?? '';
  }
  return env;
}

export function testKafka(config: Config): Kafka {
  stopIdleRequestQueueTimers(); // as createKafka: no 1 ms timer per idle connection
  return new Kafka({ clientId: 'test', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
}

/**
 * Reads a topic from the beginning with read_committed until `until` says it has enough,
 * or the timeout passes. Returns what it read.
 */
export async function readTopic<T>(
  kafka: Kafka,
  topic: string,
  decode: (value: Buffer | null, key: string | null) => Promise<T>,
  until: (items: T[]) => boolean,
  timeoutMs = 60_000,
): Promise<T[]> {
  const consumer: Consumer = kafka.consumer({ groupId: randomName('reader'), readUncommitted: false, maxWaitTimeInMs: 100 });
  const items: T[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, timeoutMs);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            items.push(await decode(message.value, message.key?.toString() ?? null));
            if (until(items)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    // A little longer, to catch duplicates that would arrive right after.
    await new Promise((r) => setTimeout(r, 1_000));
  } finally {
    await consumer.disconnect();
  }
  return items;
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The label each job must get, by job id, computed by the pure function. */
export function expectedLabels(jobs: GeneratedJob[], config: Config): Map<string, RelevanceLabel> {
  const expected = new Map<string, RelevanceLabel>();
  for (const j of jobs) {
    const label = buildLabel(j.dispatch, j.outcome, config.feedback);
    if (label) expected.set(j.dispatch.job_id, label);
  }
  return expected;
}

/** Reads the labels topic (read_committed) until `count` labels arrived or the timeout passed. */
export function readLabels(kafka: Kafka, config: Config, serde: TopicSerde, count: number, timeoutMs = 60_000): Promise<RelevanceLabel[]> {
  return readTopic<RelevanceLabel>(
    kafka,
    config.topics['relevance-labels'],
    async (v) => (await serde.decode('relevance-labels', v, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as RelevanceLabel,
    (items) => items.length >= count,
    timeoutMs,
  );
}
