/**
 * The commit cadence at low load: transactions commit on an interval (streams.commitIntervalMs)
 * so that a busy service batches many records per transaction, but a service whose input has
 * run dry commits at once instead of waiting for the interval. With an interval of 30 s, every
 * label of a small batch of jobs is visible (read_committed) well within it, exactly once,
 * and committed in a handful of transactions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { expectExactlyOnce } from '../helpers/faults.ts';
import { expectedLabels, readLabels, testConfig, testKafka } from '../helpers/testConfig.ts';

const INTERVAL_MS = 30_000;

describe('commit cadence', () => {
  const config = testConfig({ kafka: { transactionTimeoutMs: 2 * INTERVAL_MS }, streams: { commitIntervalMs: INTERVAL_MS } });
  const logger = createLogger('warn');
  let service: RunningServiceHandle;

  beforeAll(async () => {
    service = await startService(config, logger);
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('commits at once when the input runs dry, long before the interval', async () => {
    const g = new EventGenerator({ seed: 23, runId: 'dry' });
    const start = Date.UTC(2026, 6, 1);
    const jobs = Array.from({ length: 60 }, (_, i) => g.job(start + i * 60_000));
    const expected = expectedLabels(jobs, config);
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
    await publisher.addCatalog(start);
    await publisher.addJobs(jobs);
    await publisher.close();
    const published = Date.now();
    // Within two thirds of the interval: only commits made when the input ran dry get them out in time.
    const labels = await readLabels(testKafka(config), config, service.serde, expected.size, (2 * INTERVAL_MS) / 3);
    const waitedMs = Date.now() - published;
    expectExactlyOnce(labels, expected);
    expect(waitedMs).toBeLessThan((2 * INTERVAL_MS) / 3);
    // 120 input records in a few transactions, not one per record or per batch of one.
    expect(service.streams.counters.transactions).toBeGreaterThan(0);
    expect(service.streams.counters.transactions).toBeLessThan(60);
  });
});
