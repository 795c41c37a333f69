/**
 * ClickHouse goes away: the real sink, reading real topics into the real embedded
 * ClickHouse, through a client whose inserts throw while "ClickHouse is down". The sink must
 * retry with backoff, pause consumption once its buffer is full (bounded memory), commit no
 * offset past rows that are not in ClickHouse (so a stop while it is down loses nothing),
 * and after recovery hold every row exactly once (FINAL).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../config/options.ts';
import { createClickHouse, queryRows, type ClickHouseClient } from '../../infra/clickhouse/client.ts';
import { migrate } from '../../infra/clickhouse/migrate.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { ensureTopologyTopics } from '../../topology/admin.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { ClickHouseSink } from '../../topology/sink/clickhouseSink.ts';
import { buildProcessors } from '../../app/topology.ts';
import { testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

/** A real client whose inserts fail while `down` is set (into `downTable` only, when set); everything else passes through. */
function flakyClient(client: ClickHouseClient): { client: ClickHouseClient; down: boolean; downTable?: string; refused: number } {
  const state = { down: false, downTable: undefined as string | undefined, refused: 0, client: undefined as unknown as ClickHouseClient };
  state.client = new Proxy(client, {
    get(target, prop) {
      if (prop === 'insert') {
        return async (...args: Parameters<ClickHouseClient['insert']>) => {
          if (state.down && (state.downTable === undefined || args[0].table.endsWith(`.${state.downTable}`))) {
            state.refused++;
            throw new Error('injected: connect ECONNREFUSED (ClickHouse is down)');
          }
          return target.insert(...args);
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return state;
}

const DOWN_ROWS = 20_000;

describe('ClickHouse inserts failing', () => {
  const base = testConfig();
  // Small buffers, so that backpressure shows with a few thousand records.
  const config: Config = { ...base, sink: { ...base.sink, flushRows: 200, flushIntervalMs: 100, maxBufferedRows: 500 } };
  const logger = createLogger('warn');
  const kafka = testKafka(config);
  const real = createClickHouse(config.clickhouse);
  const db = config.clickhouse.database;
  const sinks: ClickHouseSink[] = [];
  afterAll(async () => {
    for (const s of sinks) await s.stop();
    await real.close();
  });

  const dispatches = async (final: boolean) =>
    Number((await queryRows<{ n: string }>(real, `SELECT count() AS n FROM ${db}.job_dispatch ${final ? 'FINAL' : ''}`))[0]?.n);
  const committed = async (sink: ClickHouseSink) => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: sink.groupId, topics: [config.topics['job-dispatch']] });
      return (topic?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    } finally {
      await admin.disconnect();
    }
  };

  it('retries, pauses, commits nothing it has not written, and ends with every row once', async () => {
    await migrate(real, db);
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopologyTopics(createKafka(config, logger), config, buildProcessors(config));
    const g = new EventGenerator({ seed: 91, runId: 'sink' });
    const start = Date.UTC(2026, 9, 1);
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const j = g.job(start + i * 1_000);
        await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
      }
      await publisher.flush();
    };

    // Healthy: 1,000 rows in, their offsets committed.
    const flaky = flakyClient(real);
    const sink = new ClickHouseSink(createKafka(config, logger, '-sink'), config, serde, flaky.client, logger);
    sinks.push(sink);
    await publish(1_000);
    await sink.start();
    await waitUntil('first rows in ClickHouse', async () => (await dispatches(true)) === 1_000, 60_000);
    await waitUntil('their offsets committed', async () => (await committed(sink)) === 1_000, 30_000);

    // Down: 20,000 more arrive. Inserts fail and are retried; the buffer fills and
    // consumption pauses. Pausing acts between fetches, so the buffer may pass
    // maxBufferedRows by what one fetch brought (up to 1 MiB per partition), but it stops
    // well short of the backlog. No offset moves.
    flaky.down = true;
    await publish(DOWN_ROWS);
    await waitUntil('sink paused on a full buffer', async () => sink.counters.paused && flaky.refused >= 3, 30_000);
    const buffered = sink.bufferedRows;
    await new Promise((r) => setTimeout(r, 2_000));
    expect(sink.counters.paused).toBe(true);
    expect(sink.bufferedRows).toBe(buffered);
    expect(buffered).toBeGreaterThanOrEqual(config.sink.maxBufferedRows);
    expect(buffered).toBeLessThan(DOWN_ROWS / 2);
    expect(sink.counters.insertFailures).toBeGreaterThanOrEqual(3);
    expect(await committed(sink)).toBe(1_000);
    expect(await dispatches(true)).toBe(1_000);
    console.log(`while down: ${flaky.refused} inserts refused, ${buffered} rows buffered, consumption paused`);

    // Back: the retry goes through, consumption resumes, everything arrives.
    flaky.down = false;
    await waitUntil('all rows in ClickHouse', async () => (await dispatches(true)) === 1_000 + DOWN_ROWS, 60_000);
    await waitUntil('offsets committed to the end', async () => (await committed(sink)) === 1_000 + DOWN_ROWS, 30_000);
    expect(sink.counters.paused).toBe(false);

    // Down again, and the sink stops meanwhile: what it could not write is not committed,
    // so the next sink of the group reads it again.
    flaky.down = true;
    const refusedBefore = flaky.refused;
    await publish(1_000);
    await waitUntil('a refused insert of the new rows', async () => flaky.refused > refusedBefore, 30_000);
    await sink.stop();
    expect(await committed(sink)).toBe(1_000 + DOWN_ROWS);
    expect(await dispatches(true)).toBe(1_000 + DOWN_ROWS);

    const next = new ClickHouseSink(createKafka(config, logger, '-sink-2'), config, serde, real, logger);
    sinks.push(next);
    await next.start();
    await waitUntil('the rows the stopped sink could not write', async () => (await dispatches(true)) === 2_000 + DOWN_ROWS, 60_000);
    await publisher.close();
    const [row] = await queryRows<{ n: string; ids: string }>(real, `SELECT count() AS n, uniqExact(event_id) AS ids FROM ${db}.job_dispatch FINAL`);
    expect({ n: Number(row?.n), ids: Number(row?.ids) }).toEqual({ n: 2_000 + DOWN_ROWS, ids: 2_000 + DOWN_ROWS });
    console.log(`raw rows before FINAL: ${await dispatches(false)} (replays are deduplicated by event_id)`);
  });

  it('one table refusing inserts holds back only its own topics; the other tables go on being written and committed', async () => {
    // Topics and group of their own, in the same database.
    const own: Config = {
      ...config,
      kafka: { ...config.kafka, applicationId: `${config.kafka.applicationId}-one-table` },
      topics: Object.fromEntries(Object.entries(config.topics).map(([role, topic]) => [role, `${topic}-one-table`])) as Config['topics'],
    };
    const serde = new TopicSerde(createRegistry({ url: own.registry.url as string, username: null, password: null }), own.topics);
    await serde.registerAll();
    await ensureTopologyTopics(createKafka(own, logger), own, buildProcessors(own));
    const rowsOf = async (table: string) =>
      Number((await queryRows<{ n: string }>(real, `SELECT count() AS n FROM ${db}.${table} FINAL WHERE _topic = {topic:String}`, { topic: `${table === 'job_dispatch' ? own.topics['job-dispatch'] : own.topics['job-outcome']}` }))[0]?.n);
    const committedOn = async (groupId: string, topic: string) => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      } finally {
        await admin.disconnect();
      }
    };

    const flaky = flakyClient(real);
    flaky.down = true;
    flaky.downTable = 'job_outcome';
    const sink = new ClickHouseSink(createKafka(own, logger, '-sink-one-table'), own, serde, flaky.client, logger);
    sinks.push(sink);
    const g = new EventGenerator({ seed: 92, runId: 'one-table' });
    const publisher = await Publisher.connect(createKafka(own, logger, '-publisher-one-table'), serde, own.topics);
    const jobs = 3_000;
    for (let i = 0; i < jobs; i++) {
      const j = g.job(Date.UTC(2026, 9, 2) + i * 1_000);
      await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
      await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
    }
    await publisher.close();
    await sink.start();

    // Dispatches are all written and committed while every outcome insert is refused.
    await waitUntil('every dispatch in ClickHouse', async () => (await rowsOf('job_dispatch')) === jobs, 60_000);
    await waitUntil('their offsets committed', async () => (await committedOn(sink.groupId, own.topics['job-dispatch'])) === jobs, 30_000);
    await waitUntil('the outcome table paused on a full buffer', async () => sink.counters.paused && flaky.refused >= 2, 30_000);
    expect(await rowsOf('job_outcome')).toBe(0);
    expect(await committedOn(sink.groupId, own.topics['job-outcome'])).toBe(0);
    // Only outcomes wait, each once however often its insert was retried (one fetch may bring them all).
    expect(sink.bufferedRows).toBeGreaterThanOrEqual(own.sink.maxBufferedRows);
    expect(sink.bufferedRows).toBeLessThanOrEqual(jobs);

    // The table comes back: every outcome once, committed to the end.
    flaky.down = false;
    await waitUntil('every outcome in ClickHouse', async () => (await rowsOf('job_outcome')) === jobs, 60_000);
    await waitUntil('outcome offsets committed to the end', async () => (await committedOn(sink.groupId, own.topics['job-outcome'])) === jobs, 30_000);
    expect(sink.counters.paused).toBe(false);
  });
});
