/**
 * Consumer lag of an idle, caught-up service reads 0 for both of its groups (the stream
 * topology and the ClickHouse sink), although transactional topics end with commit markers
 * that a plain "end minus committed" counts as lag (26-28 on a fresh `make run`). The last
 * stable offsets are read with a read_committed ListOffsets, and equal the high watermarks
 * once every transaction is committed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { groupPositions, StableOffsetReader } from '../../topology/admin.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import type { StatusData } from '../../dashboard/statusData.ts';
import { expectedLabels, testConfig, waitUntil } from '../helpers/testConfig.ts';
import { queryRows } from '../../infra/clickhouse/client.ts';

describe('consumer lag', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  let service: RunningServiceHandle;

  beforeAll(async () => {
    service = await startService(config, logger);
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('of an idle, caught-up service is 0, where end minus committed counts the markers', async () => {
    const g = new EventGenerator({ seed: 5, runId: 'lag' });
    const start = Date.UTC(2026, 5, 1);
    const jobs = Array.from({ length: 120 }, (_, i) => g.job(start + i * 60_000));
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
    await publisher.addCatalog(start);
    await publisher.addJobs(jobs);
    await publisher.close();
    const labels = expectedLabels(jobs, config).size;
    await waitUntil('every label in ClickHouse', async () => {
      const [r] = await queryRows<{ n: string }>(service.clickhouse, `SELECT count() AS n FROM ${config.clickhouse.database}.relevance_labels FINAL`);
      return Number(r?.n) === labels;
    }, 120_000);

    // Idle from here on, once the last outputs (suggestions, spot and anomaly records after
    // the labels) are written and committed by the sink too: on a loaded box that can take a
    // few polls (every 10 s). Lag that counted the markers would never reach 0.
    await new Promise((r) => setTimeout(r, 2_000));
    const idleSince = Date.now();
    let status: StatusData | undefined;
    const zero = { [service.streams.groupId]: 0, [service.sink.groupId]: 0 };
    await waitUntil('a lag poll after the service went idle that reads 0 for both groups', async () => {
      status = (await (await fetch(`${service.httpUrl}/api/status`)).json()) as StatusData;
      const polledSinceIdle = status.streams.consumerLagAt !== null && Date.parse(status.streams.consumerLagAt) > idleSince;
      const lag = status.streams.consumerLag;
      return polledSinceIdle && Object.keys(zero).every((group) => lag[group] === 0);
    }, 90_000).catch((err: Error) => {
      throw new Error(`${err.message}; last poll: ${JSON.stringify(status?.streams.consumerLag)} at ${status?.streams.consumerLagAt}`);
    });
    expect(status!.streams.consumerLag).toEqual(zero);

    // The same moment read the plain way: the markers after each group's commit count.
    const kafka = createKafka(config, logger, '-lag-check');
    const admin = kafka.admin();
    await admin.connect();
    const reader = new StableOffsetReader(kafka);
    try {
      for (const [group, topics] of [
        [service.streams.groupId, service.streams.subscribedTopics],
        [service.sink.groupId, service.sink.subscribedTopics],
      ] as const) {
        const positions = await groupPositions(admin, group, topics);
        let naive = 0;
        for (const partitions of positions.values()) for (const { next, end } of partitions.values()) naive += Number(end - next);
        expect(naive, `${group}: end minus committed`).toBeGreaterThan(0);
        const stable = await reader.read(topics);
        expect(stable, 'read_committed ListOffsets').not.toBeNull();
        for (const [topic, partitions] of positions) for (const [p, { end }] of partitions) expect(stable!.get(topic)?.get(p), `${topic}/${p}`).toBe(end);
      }
    } finally {
      await reader.close();
      await admin.disconnect();
    }
  });
});
