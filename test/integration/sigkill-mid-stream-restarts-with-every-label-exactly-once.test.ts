/**
 * Kafka Streams' promise, kept: the service is killed with SIGKILL twice in the middle of
 * a stream and restarted; every expected label appears exactly once on the topic
 * (read_committed), including those whose dispatch was pending in a store at the kill.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createLogger } from '../../common/logger.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { ensureTopics } from '../../topology/admin.ts';
import { expectedLabels, randomName, readLabels, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';
import { endOffsets } from '../helpers/faults.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';

const JOBS = 4_000;
const PENDING = 300;

describe('SIGKILL mid-stream', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  const kafka = testKafka(config);
  const logFile = join(tmpdir(), `${randomName('sigkill-service')}.log`);
  let service: ServiceProcess | undefined;

  afterAll(async () => {
    if (service && service.child.exitCode === null) await service.kill('SIGKILL');
  });

  const labelOffsets = () => endOffsets(kafka, config.topics['relevance-labels']);

  it('restarts and finds every expected label exactly once', async () => {
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopics(createKafka(config, logger), config, []);
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    const generator = new EventGenerator({ seed: 11, runId: 'kill' });
    const start = Date.UTC(2026, 9, 1);
    const jobs = Array.from({ length: JOBS + PENDING }, (_, i) => generator.job(start + i * 10_000));
    const complete = jobs.slice(0, JOBS);
    const pending = jobs.slice(JOBS);

    // Dispatches whose outcomes will only come after the kills: they wait in the store.
    for (const j of pending) await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
    await publisher.addJobs(complete);
    await publisher.flush();

    service = await startServiceProcess(config, logFile);
    await waitUntil('first labels', async () => (await labelOffsets()) > 200, 90_000);
    expect(await service.kill('SIGKILL')).toBeNull();

    service = await startServiceProcess(config, logFile);
    await waitUntil('more labels', async () => (await labelOffsets()) > 2_000, 90_000);
    await service.kill('SIGKILL');

    for (const j of pending) await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
    await publisher.close();
    service = await startServiceProcess(config, logFile);

    const expected = expectedLabels(jobs, config);
    const labels = await readLabels(kafka, config, serde, expected.size, 150_000);
    const seen = new Map<string, number>();
    for (const l of labels) seen.set(l.job_id, (seen.get(l.job_id) ?? 0) + 1);
    const duplicates = [...seen].filter(([, n]) => n > 1);
    const missing = [...expected.keys()].filter((id) => !seen.has(id));
    expect(duplicates).toEqual([]);
    expect(missing).toEqual([]);
    expect(labels.length).toBe(expected.size);
    for (const l of labels) expect(l).toEqual(expected.get(l.job_id));

    // A graceful stop drains and exits cleanly.
    expect(await service.kill('SIGTERM')).toBe(0);
  });
});
