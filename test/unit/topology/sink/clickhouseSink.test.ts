/**
 * The sink's flush chain: an insert refused for good (the engine given up) stops the sink and
 * reports it to the vital components, and later flushes still settle instead of inheriting a
 * rejected promise; a retriable failure is retried, as before.
 */
import { describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { loadConfig } from '../../../../config/options.ts';
import { createLogger } from '../../../../common/logger.ts';
import { EngineCrashedError } from '../../../../common/errors.ts';
import type { ClickHouseClient } from '../../../../infra/clickhouse/client.ts';
import type { TopicSerde } from '../../../../topology/serde.ts';
import { ClickHouseSink } from '../../../../topology/sink/clickhouseSink.ts';
import { Vitals } from '../../../../topology/vitals.ts';

function sinkWith(insert: () => Promise<unknown>) {
  const config = loadConfig({ env: {} });
  const client = { insert } as unknown as ClickHouseClient;
  const sink = new ClickHouseSink({} as Kafka, config, {} as TopicSerde, client, createLogger('silent'));
  const vital = new Vitals();
  const fatal: string[] = [];
  vital.onFailure((component, err) => fatal.push(`${component}: ${err.message}`));
  sink.onFatal = (err) => vital.fail('clickhouse-sink', err);
  const buffer = (sink as unknown as { tableBuffer(t: string): { rows: unknown[]; offsets: Map<string, unknown> } }).tableBuffer('relevance_labels');
  buffer.rows.push({ event_id: 'a' }, { event_id: 'b' });
  return { sink, vital, fatal, buffer };
}

describe('ClickHouse sink flushes', () => {
  it('an engine given up stops the sink once, keeps the rows uncommitted, and later flushes still settle', async () => {
    let calls = 0;
    const { sink, vital, fatal, buffer } = sinkWith(async () => {
      calls++;
      throw new EngineCrashedError('the ClickHouse engine process died 4 times within 60000 ms', { retriable: false });
    });
    await expect(sink.flush()).resolves.toBeUndefined();
    expect(sink.failed).toBeInstanceOf(EngineCrashedError);
    expect(vital.healthy).toBe(false);
    expect(fatal).toEqual(['clickhouse-sink: the ClickHouse engine process died 4 times within 60000 ms']);
    expect(buffer.rows).toHaveLength(2);
    await expect(sink.flush()).resolves.toBeUndefined();
    await expect(sink.flush()).resolves.toBeUndefined();
    expect(calls).toBe(1);
    expect(fatal).toHaveLength(1);
  });

  it('a retriable insert failure backs off and is retried, the sink still alive', async () => {
    let calls = 0;
    const { sink, vital, buffer } = sinkWith(async () => {
      if (++calls === 1) throw new EngineCrashedError('the ClickHouse engine process died; restarting it', { retriable: true });
      return {};
    });
    await sink.flush();
    expect(sink.failed).toBeNull();
    expect(buffer.rows).toHaveLength(2);
    expect(sink.counters.insertFailures).toBe(1);
    (buffer as unknown as { backoffUntil: number }).backoffUntil = 0;
    await sink.flush();
    expect(calls).toBe(2);
    expect(sink.counters.rowsInserted).toEqual({ relevance_labels: 2 });
    expect(vital.healthy).toBe(true);
  });
});
