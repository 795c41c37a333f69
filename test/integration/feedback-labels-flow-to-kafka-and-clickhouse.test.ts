/**
 * The feedback slice on the real broker, registry and embedded ClickHouse: dispatches and
 * outcomes in (either order, with duplicates and bad records), one label per job out,
 * bad records in the DLQ with their reason and bytes, everything in ClickHouse, and a
 * full replay of the sink leaving the counts unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import type { DeadLetter } from '../../schemas/generated/records.ts';
import { queryRows } from '../../infra/clickhouse/client.ts';
import { createLogger } from '../../common/logger.ts';
import { createKafka } from '../../topology/kafka.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { expectedLabels, readLabels, readTopic, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

const JOBS = 300;

describe('feedback labels flow to Kafka and ClickHouse', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  const kafka = testKafka(config);
  let service: RunningServiceHandle;
  let publisher: Publisher;
  const generator = new EventGenerator({ seed: 7, runId: 'flow' });
  const start = Date.UTC(2026, 9, 1);
  const jobs = Array.from({ length: JOBS }, (_, i) => generator.job(start + i * 60_000));

  beforeAll(async () => {
    service = await startService(config, logger);
    publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
  });

  afterAll(async () => {
    await publisher?.close();
    await service?.stop();
  });

  it('emits exactly one correct label per finished job and dead-letters bad input', async () => {
    // Half the outcomes arrive before their dispatch; every 10th dispatch is sent twice.
    for (const [i, j] of jobs.entries()) {
      if (i % 2 === 0) {
        await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
        await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
      } else {
        await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
        await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
      }
      if (i % 10 === 0) await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
    }
    publisher.addRaw('job-dispatch', 'garbage', Buffer.from('definitely not avro'));
    publisher.addRaw('job-outcome', 'unknown-schema', Buffer.from([0, 0x7f, 0xff, 0xff, 0x00, 1, 2]));
    const nanOutcome = { ...jobs[0]!.outcome, event_id: 'nan', job_id: 'nan-job', cost_usd: Number.NaN };
    await publisher.add('job-outcome', 'nan-job', nanOutcome);
    const negative = { ...jobs[1]!.dispatch, event_id: 'neg', job_id: 'neg-job', estimated_cost_usd: -5 };
    await publisher.add('job-dispatch', 'neg-job', negative);
    const ancient = { ...jobs[2]!.dispatch, event_id: 'old', job_id: 'old-job', event_time: Date.UTC(1970, 0, 2) };
    await publisher.add('job-dispatch', 'old-job', ancient);
    const future = { ...jobs[3]!.outcome, event_id: 'future', job_id: 'future-job', event_time: Date.UTC(2100, 0, 1) };
    await publisher.add('job-outcome', 'future-job', future);
    await publisher.flush();
    // 10 MB in one record: dead-lettered without its value, and the stream goes on.
    publisher.addRaw('job-dispatch', 'huge', Buffer.alloc(10_000_000, 7));
    await publisher.flush();

    const expected = expectedLabels(jobs, config);
    const labels = await readLabels(kafka, config, service.serde, expected.size);
    const byJob = new Map<string, number>();
    for (const l of labels) byJob.set(l.job_id, (byJob.get(l.job_id) ?? 0) + 1);
    expect(labels.length).toBe(expected.size);
    expect([...byJob.values()].every((n) => n === 1)).toBe(true);
    for (const l of labels) expect(l).toEqual(expected.get(l.job_id));
    // Every label value occurs in generated traffic, so the scale is exercised end to end.
    expect(new Set(labels.map((l) => l.label)).size).toBeGreaterThanOrEqual(4);

    const letters = await readTopic<DeadLetter>(
      kafka,
      config.topics.dlq,
      async (v) => (await service.serde.decode('dlq', v, { minEventTimeMs: -Infinity, maxEventTimeMs: Infinity })) as DeadLetter,
      (items) => items.length >= 7,
    );
    const codes = letters.map((l) => l.error_code).sort();
    expect(codes).toEqual(['BAD_MAGIC_BYTE', 'EVENT_TIME_OUT_OF_RANGE', 'EVENT_TIME_OUT_OF_RANGE', 'INVALID_FIELD', 'INVALID_FIELD', 'RECORD_TOO_LARGE', 'UNKNOWN_SCHEMA']);
    const huge = letters.find((l) => l.error_code === 'RECORD_TOO_LARGE');
    expect(huge?.value).toBeNull();
    expect(huge?.reason).toMatch(/10000000 bytes.*omitted/);
    const garbage = letters.find((l) => l.error_code === 'BAD_MAGIC_BYTE');
    expect(garbage?.value?.toString()).toBe('definitely not avro');
    expect(garbage?.source_topic).toBe(config.topics['job-dispatch']);
    expect(garbage?.source_offset).toBeGreaterThanOrEqual(0);
    expect(letters.find((l) => l.reason.startsWith('cost_usd'))?.reason).toMatch(/finite/);
    expect(letters.find((l) => l.reason.startsWith('estimated_cost_usd'))?.reason).toMatch(/>= 0/);
    expect(service.streams.counters.events.feedback_duplicates).toBe(JOBS / 10);

    // Reconciliation: every input record is either processed or dead-lettered.
    const consumed = (service.streams.counters.consumed['job-dispatch'] ?? 0) + (service.streams.counters.consumed['job-outcome'] ?? 0);
    expect(consumed).toBe(2 * JOBS + JOBS / 10 + 7);
  });

  it('persists inputs, labels and dead letters to ClickHouse, and a replay changes no count', async () => {
    const db = config.clickhouse.database;
    const counts = async () =>
      (
        await queryRows<{ d: string; o: string; l: string; q: string }>(
          service.clickhouse,
          `SELECT (SELECT count() FROM ${db}.job_dispatch FINAL) AS d, (SELECT count() FROM ${db}.job_outcome FINAL) AS o,
                  (SELECT count() FROM ${db}.relevance_labels FINAL) AS l, (SELECT count() FROM ${db}.dead_letters FINAL) AS q`,
        )
      )[0]!;
    const labelled = jobs.filter((j) => j.outcome.status !== 'CANCELLED').length;
    await waitUntil('rows in ClickHouse', async () => {
      const c = await counts();
      return Number(c.d) === JOBS && Number(c.o) === JOBS && Number(c.l) === labelled && Number(c.q) === 7;
    }, 150_000);
    const before = await counts();
    const rawBefore = await queryRows<{ n: string }>(service.clickhouse, `SELECT count() AS n FROM ${db}.job_dispatch`);

    // Replay: the sink's group goes back to the beginning of every topic.
    await service.sink.stop();
    const admin = kafka.admin();
    await admin.connect();
    // Without its committed offsets the group starts again from the earliest records.
    await admin.deleteGroups([service.sink.groupId]);
    await admin.disconnect();
    const { ClickHouseSink } = await import('../../topology/sink/clickhouseSink.ts');
    const replay = new ClickHouseSink(createKafka(config, logger), config, service.serde, service.clickhouse, logger);
    await replay.start();
    await waitUntil('replayed rows', async () => {
      const [raw] = await queryRows<{ n: string }>(service.clickhouse, `SELECT count() AS n FROM ${db}.job_dispatch`);
      return Number(raw?.n) > Number(rawBefore[0]?.n);
    }, 150_000);
    await replay.stop();
    expect(await counts()).toEqual(before);

    // The analyst views read the same figures.
    const [runs] = await queryRows<{ n: string }>(service.clickhouse, `SELECT count() AS n FROM ${db}.job_runs`);
    expect(Number(runs?.n)).toBe(JOBS);
    const daily = await queryRows<{ samples: string }>(service.clickhouse, `SELECT sum(samples) AS samples FROM ${db}.label_daily`);
    expect(Number(daily[0]?.samples)).toBe(labelled);
  });
});
