/**
 * Scale-out is Kafka's: two instances share one group; one is killed with SIGKILL mid-
 * stream; the other takes its partitions over with their state restored from the
 * changelogs, and the labels are exactly those one instance alone would have produced.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { ensureTopologyTopics } from '../../topology/admin.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { buildProcessors } from '../../app/topology.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { expectedLabels, randomName, readLabels, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

describe('two instances, one killed', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  const services: ServiceProcess[] = [];
  afterAll(async () => {
    for (const s of services) if (s.child.exitCode === null) await s.kill('SIGKILL');
  });

  it('the survivor restores the state and the labels equal a single instance\'s', async () => {
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopologyTopics(createKafka(config, logger), config, buildProcessors(config));
    const g = new EventGenerator({ seed: 61, runId: 'two' });
    const start = Date.UTC(2026, 9, 1);
    const jobs = Array.from({ length: 2_300 }, (_, i) => g.job(start + i * 10_000));
    const pending = jobs.slice(2_000);
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    for (const j of pending) await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
    await publisher.addJobs(jobs.slice(0, 2_000));
    await publisher.flush();

    // Each instance its own embedded ClickHouse directory and transactional id.
    const a = await startServiceProcess(config, join(tmpdir(), `${randomName('instance-a')}.log`), {
      ARTENIC_KAFKA_INSTANCE_ID: 'a',
      ARTENIC_CLICKHOUSE_DATA_DIR: join(config.clickhouse.dataDir, 'a'),
    });
    services.push(a);
    const b = await startServiceProcess(config, join(tmpdir(), `${randomName('instance-b')}.log`), {
      ARTENIC_KAFKA_INSTANCE_ID: 'b',
      ARTENIC_CLICKHOUSE_DATA_DIR: join(config.clickhouse.dataDir, 'b'),
    });
    services.push(b);
    const kafka = testKafka(config);
    const admin = kafka.admin();
    await admin.connect();
    await waitUntil('both instances working', async () => {
      const group = await admin.describeGroups([config.kafka.applicationId]);
      return group.groups[0]?.members.length === 2;
    }, 60_000);
    await waitUntil('labels flowing', async () => (await admin.fetchTopicOffsets(config.topics['relevance-labels'])).reduce((n, o) => n + Number(o.high), 0) > 300, 60_000);
    await admin.disconnect();
    await a.kill('SIGKILL');

    for (const j of pending) await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
    await publisher.close();
    const expected = expectedLabels(jobs, config);
    const labels = await readLabels(kafka, config, serde, expected.size, 120_000);
    const seen = new Map<string, number>();
    for (const l of labels) seen.set(l.job_id, (seen.get(l.job_id) ?? 0) + 1);
    expect([...seen].filter(([, n]) => n > 1)).toEqual([]);
    expect([...expected.keys()].filter((id) => !seen.has(id))).toEqual([]);
    for (const l of labels) expect(l).toEqual(expected.get(l.job_id));
    expect(await b.kill('SIGTERM')).toBe(0);
  });
});
