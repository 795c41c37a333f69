/**
 * An HPO study on the real broker: the study is published to hpo-studies, a platform runs
 * every suggestion and publishes it as a dispatch and outcome carrying the study and trial,
 * the feedback processor's label tells the result through the study repartition, and the
 * study runs to its budget and ends with its best configuration; suggestions reach ClickHouse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../infra/clickhouse/client.ts';
import type { HpoStudy } from '../../schemas/generated/records.ts';
import { demoAccuracy, demoStudy, runTrials } from '../../simulate/hpoTrials.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { testConfig, waitUntil } from '../helpers/testConfig.ts';

describe('HPO study on the broker', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  let service: RunningServiceHandle;
  beforeAll(async () => {
    service = await startService(config, logger);
  });
  afterAll(() => service?.stop());

  it('runs to its budget with two parallel trials and ends with the best configuration', async () => {
    const study: HpoStudy = { ...demoStudy('lr-search', Date.UTC(2026, 9, 1)), budget: 24, parallelism: 2, seed: 11 };
    const accuracy = demoAccuracy;
    const result = await runTrials(createKafka(config, logger, '-trials'), service.serde, config, { study, objective: accuracy, startAt: study.event_time + 60_000, trialMs: 60_000, timeoutMs: 120_000 }, logger);

    const trials = result.suggestions.filter((s) => !s.done);
    expect(trials).toHaveLength(study.budget);
    expect(new Set(trials.map((s) => s.trial_number))).toEqual(new Set(Array.from({ length: study.budget }, (_, i) => i)));
    for (const s of trials) {
      const p = Object.fromEntries(s.params.map((x) => [x.name, x.number ?? x.category ?? x.flag]));
      expect(p.learning_rate as number).toBeGreaterThanOrEqual(1e-5);
      expect(p.learning_rate as number).toBeLessThanOrEqual(1e-1);
      expect([16, 32, 64, 128, 256, 512]).toContain(p.batch_size); // numeric choices come back as numbers
      expect(['sgd', 'adam', 'adamw']).toContain(p.optimizer);
      expect(typeof p.mixed_precision).toBe('boolean'); // boolean choices as booleans
    }
    const best = Math.max(...trials.map((s) => accuracy(Object.fromEntries(s.params.map((x) => [x.name, (x.number ?? x.category ?? x.flag) as number | string | boolean])))));
    expect(result.done?.best_value).toBeCloseTo(best, 9);
    expect(result.done?.best_value).toBeGreaterThan(0.9);

    const db = config.clickhouse.database;
    await waitUntil('suggestions in ClickHouse', async () => {
      const [r] = await queryRows<{ n: string; done: string }>(service.clickhouse, `SELECT count() AS n, countIf(done) AS done FROM ${db}.hpo_suggestions FINAL WHERE study_id = {s:String}`, { s: study.study_id });
      return Number(r?.n) === study.budget + 1 && Number(r?.done) === 1;
    });
    // Labels and suggestions reach ClickHouse through separate sink flushes, so the labels are
    // waited for too; what is asserted is that every trial's label arrives, once.
    const labelCount = async (): Promise<number> => {
      const [r] = await queryRows<{ n: string }>(service.clickhouse, `SELECT count() AS n FROM ${db}.relevance_labels FINAL WHERE hpo_study_id = {s:String} AND metric IS NOT NULL`, { s: study.study_id });
      return Number(r?.n);
    };
    await waitUntil('trial labels in ClickHouse', async () => (await labelCount()) >= study.budget);
    expect(await labelCount()).toBe(study.budget);
  });
});
