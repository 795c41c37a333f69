/**
 * The storage optimizer on the real broker, registry and embedded ClickHouse: 140 days of
 * dataset accesses, in two halves with a service restart between them. A dataset read daily
 * is HOT, WARM after its reads age out of the month, COLD after 90 days of silence: one
 * decision per change, the same decisions as a brute-force reference over the whole log,
 * the same answers on demand from ClickHouse, and the analyst views agree.
 */
import { describe, expect, it } from 'vitest';
import { analyze, analyzeAll } from '../../reporting/storage.ts';
import { queryRows } from '../../infra/clickhouse/client.ts';
import type { TieringDecision } from '../../schemas/generated/records.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService } from '../../app/service.ts';
import { referenceDecisions } from '../helpers/storageReference.ts';
import { storageLog } from '../helpers/storageTraffic.ts';
import { readTopic, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

const DAY = 86_400_000;

describe('storage tiers follow event time across a restart', () => {
  // One partition: every dataset shares one stream time, as the reference assumes.
  const config = testConfig({ kafka: { partitions: 1 } });
  const logger = createLogger('warn');
  const kafka = testKafka(config);
  const start = Date.UTC(2026, 0, 1);
  const log = storageLog(start, 140);
  const firstHalf = log.filter((a) => a.event_time < start + 71 * DAY);
  const secondHalf = log.filter((a) => a.event_time >= start + 71 * DAY);
  const expected = referenceDecisions(log, config.storage);
  const decodeDecision = (serde: Awaited<ReturnType<typeof startService>>['serde']) => async (v: Buffer | null) =>
    (await serde.decode('tiering-decisions', v, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as TieringDecision;

  it('moves HOT -> WARM -> COLD with one decision per change, matching the reference, and restores its state', async () => {
    const expectedFirst = expected.filter((d) => d.event_time < start + 71 * DAY);
    let service = await startService(config, logger);
    let publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
    for (const a of firstHalf) await publisher.add('dataset-access', a.dataset_id, a);
    await publisher.close();
    await readTopic(kafka, config.topics['tiering-decisions'], decodeDecision(service.serde), (items) => items.length >= expectedFirst.length, 60_000);
    await service.stop();

    // A new service instance: the per-dataset windows come back from the changelog.
    service = await startService(config, logger);
    publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
    for (const a of secondHalf) await publisher.add('dataset-access', a.dataset_id, a);
    await publisher.close();
    const decisions = await readTopic(kafka, config.topics['tiering-decisions'], decodeDecision(service.serde), (items) => items.length >= expected.length, 90_000);
    try {
      const a = decisions.filter((d) => d.dataset_id === 'A-daily-then-silent');
      expect(a.map((d) => [d.tier, (d.event_time - start) / DAY])).toEqual([
        ['HOT', 0.5],
        ['WARM', 67],
        ['COLD', 130],
      ]);
      expect(decisions.map((d) => [d.dataset_id, d.event_time, d.tier, d.previous_tier, d.accesses_30d])).toEqual(
        expected.map((d) => [d.dataset_id, d.event_time, d.tier, d.previous_tier, d.accesses_30d]),
      );

      // On demand, from ClickHouse, through the same model.
      const db = config.clickhouse.database;
      await waitUntil('accesses in ClickHouse', async () => {
        const [row] = await queryRows<{ n: string }>(service.clickhouse, `SELECT count() AS n FROM ${db}.dataset_access FINAL`);
        return Number(row?.n) === log.length;
      }, 120_000);
      const lastOf = (id: string) => decisions.filter((d) => d.dataset_id === id).at(-1) as TieringDecision;
      const one = await analyze(service.clickhouse, db, 'A-daily-then-silent', config.storage);
      expect(one).toMatchObject({ tier: 'COLD', format_advice: 'CONVERT_TO_PARQUET', monthly_saving_usd: lastOf('A-daily-then-silent').monthly_saving_usd });
      const all = await analyzeAll(service.clickhouse, db, config.storage);
      expect(all.decisions.map((d) => [d.dataset_id, d.tier, d.format_advice])).toEqual(
        [...new Set(decisions.map((d) => d.dataset_id))].sort().map((id) => [id, lastOf(id).tier, lastOf(id).format_advice]),
      );
      expect(all.monthlySavingUsd).toBeGreaterThan(0);

      // The analyst views.
      await waitUntil('decisions in ClickHouse', async () => {
        const [row] = await queryRows<{ n: string }>(service.clickhouse, `SELECT count() AS n FROM ${db}.tiering_decisions FINAL`);
        return Number(row?.n) === expected.length;
      }, 60_000);
      const recs = await queryRows<{ dataset_id: string; tier: string }>(service.clickhouse, `SELECT dataset_id, tier FROM ${db}.storage_recommendations ORDER BY dataset_id`);
      expect(recs.map((r) => [r.dataset_id, r.tier])).toEqual(all.decisions.map((d) => [d.dataset_id, lastOf(d.dataset_id).tier]));
      const growth = await queryRows<{ version: number; growth_bytes: string | null }>(
        service.clickhouse,
        `SELECT version, growth_bytes FROM ${db}.dataset_growth WHERE dataset_id = {id:String} ORDER BY version`,
        { id: 'F-random' },
      );
      expect(growth.length).toBeGreaterThan(1);
      expect(growth[0]?.growth_bytes).toBeNull();
      expect(growth.slice(1).every((g) => Number(g.growth_bytes) > 0)).toBe(true);
    } finally {
      await service.stop();
    }
  });
});
