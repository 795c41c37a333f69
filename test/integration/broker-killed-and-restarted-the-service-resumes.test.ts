/**
 * The broker is not forever: a broker of this test's own is killed with SIGKILL while the
 * service is in the middle of a stream, stays down for a while, and comes back on the same
 * address with its data. The service (a child process) must ride it out without exiting,
 * resume, and leave every expected label exactly once on the topic (read_committed) and in
 * ClickHouse (FINAL), including labels of dispatches that were pending across the outage.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { ensureTopologyTopics } from '../../topology/admin.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { buildProcessors } from '../../app/topology.ts';
import { endOffsets, expectClickHouseExactlyOnce, expectExactlyOnce, restartableKafka, waitForLabelsInClickHouse } from '../helpers/faults.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { expectedLabels, randomName, readLabels, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

const BEFORE = 2_000;
const PENDING = 200;
const AFTER = 1_000;
const DOWN_MS = 8_000;

describe('broker killed and restarted', () => {
  const broker = restartableKafka();
  let service: ServiceProcess | undefined;
  const logFile = join(tmpdir(), `${randomName('broker-restart-service')}.log`);

  beforeAll(() => broker.start());
  afterAll(async () => {
    if (service && service.child.exitCode === null) await service.kill('SIGKILL');
  });

  it('the service resumes and every label is there exactly once', async () => {
    const config = testConfig({ kafka: { brokers: [broker.address] } });
    const logger = createLogger('warn');
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopologyTopics(createKafka(config, logger), config, buildProcessors(config));
    const g = new EventGenerator({ seed: 81, runId: 'broker' });
    const start = Date.UTC(2026, 9, 1);
    const jobs = Array.from({ length: BEFORE + PENDING + AFTER }, (_, i) => g.job(start + i * 10_000));
    const pending = jobs.slice(BEFORE, BEFORE + PENDING);
    const after = jobs.slice(BEFORE + PENDING);

    let publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    for (const j of pending) await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
    await publisher.addJobs(jobs.slice(0, BEFORE));
    await publisher.close();

    service = await startServiceProcess(config, logFile);
    const kafka = testKafka(config);
    await waitUntil('labels flowing', async () => (await endOffsets(kafka, config.topics['relevance-labels'])) > 300, 60_000);

    // Mid-stream: the broker dies, stays away, and comes back with its log directory.
    const labelsAtKill = await endOffsets(kafka, config.topics['relevance-labels']);
    await broker.stop('SIGKILL');
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, DOWN_MS));
    expect(service.child.exitCode).toBeNull();
    await broker.start();
    console.log(`broker down ${Date.now() - downAt} ms (killed at ${labelsAtKill} label offsets)`);

    publisher = await Publisher.connect(createKafka(config, logger, '-publisher-2'), serde, config.topics);
    for (const j of pending) await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
    await publisher.addJobs(after);
    await publisher.close();

    const expected = expectedLabels(jobs, config);
    const labels = await readLabels(kafka, config, serde, expected.size, 120_000);
    expectExactlyOnce(labels, expected);

    // The sink rode it out as well: ClickHouse catches up, then the service stops cleanly.
    expect(await waitForLabelsInClickHouse(service.httpUrl, expected.size, 60_000)).toBe(expected.size);
    expect(service.child.exitCode).toBeNull();
    expect(await service.kill('SIGTERM')).toBe(0);
    await expectClickHouseExactlyOnce(config, expected, { job_dispatch: jobs.length, job_outcome: jobs.length });
  });
});
