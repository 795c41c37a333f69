/**
 * Fencing: two instances share the group; one is frozen with SIGSTOP past its session timeout
 * while jobs flow, the other takes its partitions over, and the frozen one is woken with
 * SIGCONT, in the middle of whatever it was doing. Several such cycles. A woken instance must
 * commit nothing of what it held (each task's transactional id `<applicationId>-<partition>`
 * moved with the task, and the new owner's producer fenced the old one): every label appears
 * exactly once in Kafka (read_committed) and in ClickHouse (FINAL), none missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { ensureTopologyTopics } from '../../topology/admin.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { ClickHouseSink } from '../../topology/sink/clickhouseSink.ts';
import { createClickHouse, queryRows } from '../../infra/clickhouse/client.ts';
import { migrate } from '../../infra/clickhouse/migrate.ts';
import { buildProcessors } from '../../app/topology.ts';
import type { RelevanceLabel } from '../../schemas/generated/records.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { expectedLabels, randomName, readTopic, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

const JOBS = Number(process.env.PAUSED_TEST_JOBS ?? 12_000);
const CYCLES = Number(process.env.PAUSED_TEST_CYCLES ?? 4);
const SESSION_TIMEOUT_MS = 6_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an instance paused past its session timeout', () => {
  const config = testConfig({ kafka: { sessionTimeoutMs: SESSION_TIMEOUT_MS } });
  const logger = createLogger('warn');
  const services: ServiceProcess[] = [];
  afterAll(async () => {
    for (const s of services) {
      if (s.child.exitCode !== null) continue;
      s.child.kill('SIGCONT');
      await s.kill('SIGKILL');
    }
  });

  it('commits nothing once woken: every label exactly once in Kafka and in ClickHouse', async () => {
    const kafka = testKafka(config);
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopologyTopics(createKafka(config, logger), config, buildProcessors(config));
    const g = new EventGenerator({ seed: 77, runId: 'paused' });
    const start = Date.UTC(2026, 9, 1);
    const jobs = Array.from({ length: JOBS }, (_, i) => g.job(start + i * 10_000));
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    const first = Math.floor(JOBS / (CYCLES + 1));
    await publisher.addJobs(jobs.slice(0, first));
    await publisher.flush();

    const logs = [join(tmpdir(), `${randomName('paused-a')}.log`), join(tmpdir(), `${randomName('paused-b')}.log`)];
    const a = await startServiceProcess(config, logs[0] as string, { ARTENIC_KAFKA_INSTANCE_ID: 'a', ARTENIC_CLICKHOUSE_DATA_DIR: join(config.clickhouse.dataDir, 'a') });
    services.push(a);
    const b = await startServiceProcess(config, logs[1] as string, { ARTENIC_KAFKA_INSTANCE_ID: 'b', ARTENIC_CLICKHOUSE_DATA_DIR: join(config.clickhouse.dataDir, 'b') });
    services.push(b);
    const admin = kafka.admin();
    await admin.connect();
    const members = async () => (await admin.describeGroups([config.kafka.applicationId])).groups[0]?.members.length ?? 0;
    await waitUntil('both instances in the group', async () => (await members()) === 2, 90_000);

    // Each cycle: jobs flow while `a` is frozen past its session; `b` takes everything over;
    // `a` wakes in the middle of its batch and must be fenced.
    const rest = jobs.slice(first);
    const perCycle = Math.ceil(rest.length / CYCLES);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const slice = rest.slice(cycle * perCycle, (cycle + 1) * perCycle);
      const publishing = (async () => {
        for (let i = 0; i < slice.length; i += 200) {
          await publisher.addJobs(slice.slice(i, i + 200));
          await publisher.flush();
          await sleep(50);
        }
      })();
      await sleep(300);
      a.child.kill('SIGSTOP');
      await waitUntil(`cycle ${cycle}: the frozen instance leaves the group`, async () => (await members()) === 1, 60_000);
      await sleep(1_500);
      a.child.kill('SIGCONT');
      await publishing;
      await waitUntil(`cycle ${cycle}: the woken instance rejoins`, async () => (await members()) === 2, 60_000);
      await sleep(1_000);
    }
    await publisher.close();
    await admin.disconnect();

    const expected = expectedLabels(jobs, config);
    const decode = async (v: Buffer | null) => (await serde.decode('relevance-labels', v, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as RelevanceLabel;
    await readTopic(kafka, config.topics['relevance-labels'], decode, (items) => items.length >= expected.size, 240_000);
    // Both stop gracefully (what is in flight commits); then the whole topic is read.
    expect(await b.kill('SIGTERM')).toBe(0);
    expect(await a.kill('SIGTERM')).toBe(0);
    const labels = await readTopic(kafka, config.topics['relevance-labels'], decode, () => false, 20_000);
    const seen = new Map<string, number>();
    for (const l of labels) seen.set(l.job_id, (seen.get(l.job_id) ?? 0) + 1);
    const duplicates = [...seen].filter(([, n]) => n > 1);
    expect(duplicates.length, `labels published more than once: ${duplicates.length}`).toBe(0);
    expect([...expected.keys()].filter((id) => !seen.has(id))).toEqual([]);
    expect(labels.length).toBe(expected.size);
    for (const l of labels) expect(l).toEqual(expected.get(l.job_id));

    // ClickHouse: one sink over the whole of the topics, into an engine of its own.
    const dataDir = mkdtempSync(join(tmpdir(), 'artenic-ch-verify-'));
    const clickhouse = createClickHouse({ ...config.clickhouse, dataDir });
    const sinkConfig = { ...config, kafka: { ...config.kafka, applicationId: `${config.kafka.applicationId}-verify` } };
    const sink = new ClickHouseSink(createKafka(config, logger), sinkConfig, serde, clickhouse, logger);
    try {
      await migrate(clickhouse, config.clickhouse.database);
      await sink.start();
      const db = config.clickhouse.database;
      const count = async () => Number((await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${db}.relevance_labels FINAL`))[0]?.n);
      await waitUntil('labels in ClickHouse', async () => (await count()) >= expected.size, 120_000);
      await sleep(1_000);
      const rows = await queryRows<{ job_id: string; n: string }>(clickhouse, `SELECT job_id, count() AS n FROM ${db}.relevance_labels FINAL GROUP BY job_id`);
      expect(rows.filter((r) => Number(r.n) > 1)).toEqual([]);
      expect(rows.length).toBe(expected.size);
      const inClickHouse = new Set(rows.map((r) => r.job_id));
      expect([...expected.keys()].filter((id) => !inClickHouse.has(id))).toEqual([]);
    } finally {
      await sink.stop();
      await clickhouse.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 900_000);
});
