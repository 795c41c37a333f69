/**
 * State hygiene of advisor-models on the real broker: with advisor.keepModels 2 and a
 * retrain every 60 labels, the trainer publishes several runs and tombstones (null values,
 * written by the record collector in its transaction) every run but the two newest and the
 * serving one; the compacted topic carries the tombstones under read_committed, and the
 * advisor's global table drops those keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestPromoted } from '../../processors/advisor/servingModel.ts';
import type { AdvisorModel } from '../../schemas/generated/records.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { ltrJobs, ltrQueries } from '../../simulate/rankingData.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { readTopic, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

describe('advisor-models keeps the newest runs and tombstones the rest', () => {
  const config = testConfig({ advisor: { keepModels: 2, minTrainingLabels: 50, retrainEveryLabels: 60, retrainMinIntervalMs: 0, maxCostRegretGap: 10, trees: 20 } });
  const logger = createLogger('warn');
  const t0 = Date.UTC(2026, 9, 1);
  let service: RunningServiceHandle;

  beforeAll(async () => {
    service = await startService(config, logger);
  });
  afterAll(() => service?.stop());

  it('writes tombstones for runs beyond advisor.keepModels, never the serving one, and the global table drops them', async () => {
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
    await publisher.addCatalog(t0);
    const jobs = ltrJobs(ltrQueries(20, 16, 0), t0 + 60_000, 'keep');
    // In two halves: the trainer prunes the runs the global table holds, so the later runs come
    // once the first ones are there (as runs minutes apart would be on a live platform).
    const half = Math.floor(jobs.length / 2);
    await publisher.addJobs(jobs.slice(0, half));
    await publisher.flush();
    await waitUntil('the first runs in the global table', async () => (service.streams.globalRows('advisor-models')?.size ?? 0) >= 2, 180_000);
    await publisher.addJobs(jobs.slice(half));
    await publisher.flush();
    await publisher.close();

    // Every label reaches the trainer, then every run it made and every tombstone it wrote is read back.
    const c = service.streams.counters;
    await waitUntil('inputs consumed', async () => (c.consumed['job-dispatch'] ?? 0) + (c.consumed['job-outcome'] ?? 0) >= 2 * jobs.length, 180_000);
    await waitUntil('labels trained on', async () => (c.produced['relevance-labels'] ?? 0) > 0 && (c.consumed['labels-for-training'] ?? 0) >= (c.produced['relevance-labels'] ?? 0), 180_000);
    // Training runs off the event loop (a worker): the last run may still be in flight once its
    // label is consumed, so the counts are read once they have held for 3 s.
    let last = '';
    let since = Date.now();
    await waitUntil('training settled', async () => {
      const now = `${c.produced['advisor-models'] ?? 0}/${c.events.tombstones_emitted ?? 0}`;
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= 3_000;
    }, 120_000);
    const published = c.produced['advisor-models'] ?? 0;
    const tombstonesWritten = c.events.tombstones_emitted ?? 0;
    // Runs at 50, 110, 170, ... labels.
    expect(published).toBeGreaterThanOrEqual(4);
    expect(tombstonesWritten).toBeGreaterThan(0);
    expect(c.events['models-tombstoned']).toBe(tombstonesWritten);
    const events = await readTopic<{ key: string | null; model: AdvisorModel | null }>(
      testKafka(config),
      config.topics['advisor-models'],
      async (v, key) => ({ key, model: v === null ? null : ((await service.serde.decode('advisor-models', v, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as AdvisorModel) }),
      (items) => items.filter((i) => i.model !== null).length >= published && items.filter((i) => i.model === null).length >= tombstonesWritten,
      120_000,
    );
    const runs = events.filter((e) => e.model !== null).map((e) => e.model as AdvisorModel);
    const tombstoned = new Set(events.filter((e) => e.model === null).map((e) => e.key as string));
    expect(runs).toHaveLength(published);
    expect(events.filter((e) => e.model === null)).toHaveLength(tombstonesWritten);
    // Only keys of runs that were published, and never the two newest.
    const bySequence = [...runs].sort((a, b) => b.sequence - a.sequence);
    for (const key of tombstoned) expect(runs.some((r) => r.model_version === key)).toBe(true);
    for (const newest of bySequence.slice(0, 2)) expect(tombstoned.has(newest.model_version)).toBe(false);

    // The global table catches up: it holds the runs published and not tombstoned, no more.
    const live = runs.map((r) => r.model_version).filter((k) => !tombstoned.has(k)).sort();
    await waitUntil('the global table drops the tombstoned runs', async () => JSON.stringify([...(service.streams.globalRows('advisor-models') ?? new Map()).keys()].sort()) === JSON.stringify(live), 60_000);
    expect(live.length).toBeLessThan(runs.length);
    const serving = latestPromoted(service.streams.globalRows('advisor-models') ?? new Map());
    if (serving) expect(tombstoned.has(serving.model_version)).toBe(false);
  });
});
