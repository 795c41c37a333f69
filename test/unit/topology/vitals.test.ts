/**
 * Readiness follows the vital components: a global table's consumer or the stream consumer
 * that kafkajs will not restart makes the runtime not ready and reports the failure (what
 * makes `/readyz` answer 503 and `run` exit 1). The consumers here are stand-ins that only
 * emit kafkajs' events; the broker-level behaviour is kafkajs'.
 */
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/options.ts';
import { createLogger } from '../../../common/logger.ts';
import type { Processor } from '../../../topology/processor.ts';
import type { TopicSerde } from '../../../topology/serde.ts';
import { StreamsApp } from '../../../topology/streamsApp.ts';
import { membersWithSameClientId, Vitals } from '../../../topology/vitals.ts';

type Handler = (event: { payload: Record<string, unknown> }) => void;

function fakeKafka() {
  const consumers = new Map<string, Map<string, Handler>>();
  const events = { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', END_BATCH_PROCESS: 'end', FETCH: 'fetch', CRASH: 'crash' };
  const kafka = {
    consumer: ({ groupId }: { groupId: string }) => {
      const handlers = new Map<string, Handler>();
      consumers.set(groupId, handlers);
      const noop = async () => undefined;
      return { events, on: (e: string, h: Handler) => handlers.set(e, h), connect: noop, subscribe: noop, run: noop, disconnect: noop, pause: () => undefined, resume: () => undefined, seek: () => undefined };
    },
    admin: () => ({ connect: async () => undefined, disconnect: async () => undefined, fetchTopicOffsets: async () => [], describeGroups: async () => ({ groups: [] }), deleteGroups: async () => undefined }),
  } as unknown as Kafka;
  /** Emits to the stream consumer (`stream`) or to the global tables' consumers (`global`). */
  const emit = (which: 'stream' | 'global', event: string, payload: Record<string, unknown>) => {
    for (const [groupId, handlers] of consumers) if (groupId.includes('-global-') === (which === 'global')) handlers.get(event)?.({ payload });
  };
  return { kafka, emit };
}

const withGlobalTable: Processor = { name: 'reads-catalog', inputs: ['job-dispatch'], globalTables: ['instance-catalog'], stores: [], process: () => undefined };

async function startedApp() {
  const config = loadConfig({ env: {}, overrides: { kafka: { brokers: ['127.0.0.1:1'], applicationId: 'vitals-test' } } });
  const { kafka, emit } = fakeKafka();
  const vitals = new Vitals();
  const streams = new StreamsApp(kafka, config, {} as TopicSerde, [withGlobalTable], createLogger('silent'), vitals);
  const fatal: Error[] = [];
  streams.onFatal = (err) => fatal.push(err);
  await streams.start();
  emit('stream', 'join', { memberId: 'm-1', memberAssignment: { 'job-dispatch': [0, 1] } });
  return { streams, vitals, fatal, emit };
}

describe('vital components', () => {
  it('a global table whose consumer dies makes the runtime not ready and is reported', async () => {
    const { streams, vitals, fatal, emit } = await startedApp();
    expect(streams.ready).toBe(true);
    emit('global', 'crash', { restart: true, error: new Error('retriable') });
    expect(streams.ready).toBe(true);
    emit('global', 'crash', { restart: false, error: new Error('gone') });
    expect(streams.ready).toBe(false);
    expect([...vitals.failures.keys()]).toEqual(['global table instance-catalog']);
    expect(fatal.map((e) => e.message)).toEqual(['gone']);
    expect(vitals.healthy).toBe(false);
  });

  it('the stream consumer that dies does the same', async () => {
    const { streams, vitals, fatal, emit } = await startedApp();
    emit('stream', 'crash', { restart: false, error: new Error('stream gone') });
    expect(streams.ready).toBe(false);
    expect([...vitals.failures.keys()]).toEqual(['stream consumer']);
    expect(fatal.map((e) => e.message)).toEqual(['stream gone']);
  });

  it('Vitals tells each component\'s first failure once', () => {
    const vitals = new Vitals();
    const told: string[] = [];
    vitals.onFailure((c, e) => told.push(`${c}: ${e.message}`));
    expect(vitals.healthy).toBe(true);
    vitals.fail('clickhouse sink', new Error('a'));
    vitals.fail('clickhouse sink', new Error('b'));
    vitals.fail('stream consumer', new Error('c'));
    expect(told).toEqual(['clickhouse sink: a', 'stream consumer: c']);
    expect(vitals.healthy).toBe(false);
  });

  it('finds the other live members with this instance\'s client id', () => {
    const members = [
      { memberId: 'me', clientId: 'app-host-1', clientHost: '/10.0.0.1' },
      { memberId: 'twin', clientId: 'app-host-1', clientHost: '/10.0.0.2' },
      { memberId: 'other', clientId: 'app-host-2', clientHost: '/10.0.0.3' },
    ];
    expect(membersWithSameClientId(members, { memberId: 'me', clientId: 'app-host-1' })).toEqual([{ memberId: 'twin', clientHost: '/10.0.0.2' }]);
    expect(membersWithSameClientId(members, { memberId: 'other', clientId: 'app-host-2' })).toEqual([]);
  });
});

describe('what keeps an instance from being ready', () => {
  it('names every failed vital component, and the parts still starting only when none failed', () => {
    const vitals = new Vitals();
    const parts = [
      { name: 'stream topology', ready: false },
      { name: 'clickhouse sink', ready: true },
    ];
    expect(vitals.notReady(parts)).toEqual(['stream topology (starting)']);
    expect(vitals.notReady(parts.map((p) => ({ ...p, ready: true })))).toEqual([]);
    vitals.fail('global table instance-catalog', new Error('denied: secret-token-123'));
    vitals.fail('clickhouse sink', new Error('gave up'));
    expect(vitals.notReady(parts)).toEqual(['global table instance-catalog', 'clickhouse sink']);
    // Names only: an error's text (which may carry anything) is not repeated outside the log.
    expect(vitals.notReady(parts).join(' ')).not.toContain('secret');
  });
});
