/**
 * The bad- and evolving-input corpus (test/helpers/badInputCorpus.ts) on the real broker and
 * registry, interleaved with good traffic: every input record is processed, dead-lettered
 * with its code and original bytes, or skipped and counted (inputs = processed + DLQ +
 * skips); records written with newer or older BACKWARD-compatible schemas (registered under
 * the topics' subjects like any producer's) decode; and after all of it the service is
 * still running and labels a second wave of good jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners, type Producer } from 'kafkajs';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { INPUT_TOPICS } from '../../schemas/catalog.ts';
import type { DeadLetter, InstanceSuggestion } from '../../schemas/generated/records.ts';
import { buildLabel } from '../../processors/feedback/join.ts';
import { createLogger } from '../../common/logger.ts';
import { createKafka } from '../../topology/kafka.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { buildCorpus, corpusRecords, EVOLVED_SCHEMAS, type CorpusKind, type EvolvedName } from '../helpers/badInputCorpus.ts';
import { expectedLabels, readLabels, readTopic, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

const WAVE_1 = 120;
const WAVE_2 = 40;
const hex = (b: Buffer | null | undefined) => (b ? b.toString('hex') : 'null');

describe('bad and evolving input is dead-lettered or decoded and the stream goes on', () => {
  const config = testConfig({ validation: { maxRecordBytes: 100_000 } });
  const logger = createLogger('warn');
  const kafka = testKafka(config);
  let service: RunningServiceHandle;
  let publisher: Publisher;
  let raw: Producer;
  let kinds: CorpusKind[];
  const start = Date.UTC(2026, 9, 1);
  const generator = new EventGenerator({ seed: 11, runId: 'corpus-good' });
  const wave1 = Array.from({ length: WAVE_1 }, (_, i) => generator.job(start + i * 60_000));
  const wave2 = Array.from({ length: WAVE_2 }, (_, i) => generator.job(start + (WAVE_1 + i) * 60_000));

  beforeAll(async () => {
    service = await startService(config, logger);
    publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
    raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await raw.connect();
    // Other producers' schema versions, registered as they would register them.
    const evolvedIds = new Map<EvolvedName, number>();
    for (const [name, e] of Object.entries(EVOLVED_SCHEMAS)) {
      const { id } = await service.serde.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(e.schema) }, { subject: `${config.topics[e.role]}-value` });
      evolvedIds.set(name as EvolvedName, id);
    }
    kinds = buildCorpus({
      schemaId: (role) => service.serde.schemaId(role),
      evolvedId: (name) => evolvedIds.get(name) as number,
      unknownId: 0x7fff_ff00,
      baseTime: start + 30 * 60_000,
      runId: 'broker',
      maxRecordBytes: config.validation.maxRecordBytes,
      maxStringLength: config.validation.maxStringLength,
    });
  });

  afterAll(async () => {
    await raw?.disconnect();
    await publisher?.close();
    await service?.stop();
  });

  it('dead-letters, skips or decodes every kind as its table says, and labels good jobs after it', async () => {
    const records = corpusRecords(kinds);
    // Good jobs and corpus records interleaved; each corpus record goes on its own, in order.
    const perRecord = Math.max(1, Math.floor(WAVE_1 / records.length));
    let next = 0;
    for (const r of records) {
      for (const j of wave1.slice(next, next + perRecord)) {
        await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
        await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
      }
      next += perRecord;
      await publisher.flush();
      await raw.send({ topic: config.topics[r.role], messages: [{ key: r.key, value: r.value }] });
    }
    await publisher.addJobs(wave1.slice(next));
    await publisher.flush();

    const expectedDlq = records.filter((r) => r.expect.outcome === 'dead-letter');
    const letters = await readTopic<DeadLetter>(
      kafka,
      config.topics.dlq,
      async (v) => (await service.serde.decode('dlq', v, { minEventTimeMs: -Infinity, maxEventTimeMs: Infinity })) as DeadLetter,
      (items) => items.length >= expectedDlq.length,
      150_000,
    );
    // Every dead letter: its code, its original key and bytes, where it came from.
    const got = letters.map((l) => `${l.error_code} ${hex(l.key)} ${hex(l.value)}`).sort();
    const want = expectedDlq.map((r) => `${r.expect.outcome === 'dead-letter' ? r.expect.code : ''} ${hex(r.key)} ${hex(r.value)}`).sort();
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
    const inputs = new Set(INPUT_TOPICS.map((t) => config.topics[t]));
    for (const l of letters) {
      expect(inputs.has(l.source_topic)).toBe(true);
      expect(l.source_offset).toBeGreaterThanOrEqual(0);
      expect(l.reason.length).toBeGreaterThan(10);
    }

    // The service goes on: a second wave of good jobs after all of it is labelled.
    await publisher.addJobs(wave2);
    await publisher.flush();
    const pairs = kinds.flatMap((k) => k.pairs ?? []);
    const expected = expectedLabels([...wave1, ...wave2], config);
    for (const p of pairs) {
      const label = buildLabel(p.dispatch, p.outcome, config.feedback);
      if (label) expected.set(p.dispatch.job_id, label);
    }
    const labels = await readLabels(kafka, config, service.serde, expected.size, 150_000);
    expect(labels.length).toBe(expected.size);
    for (const l of labels) expect(l).toEqual(expected.get(l.job_id));
    expect(service.streams.ready).toBe(true);

    // Requests written with a newer schema, or without a key, are answered.
    const requested = new Set(kinds.flatMap((k) => k.requests ?? []));
    const suggestions = await readTopic<InstanceSuggestion>(
      kafka,
      config.topics['instance-suggestions'],
      async (v) => (await service.serde.decode('instance-suggestions', v, { minEventTimeMs: -Infinity, maxEventTimeMs: Infinity })) as InstanceSuggestion,
      (items) => [...requested].every((id) => items.some((s) => s.request_id === id)),
      60_000,
    );
    for (const id of requested) expect(suggestions.filter((s) => s.request_id === id)).toHaveLength(1);

    // Reconciliation: every input record was taken, and each is processed, dead-lettered or skipped.
    const c = service.streams.counters;
    const published = 2 * (WAVE_1 + WAVE_2) + records.length;
    await waitUntil('every input record committed', async () => INPUT_TOPICS.reduce((n, t) => n + (c.consumed[t] ?? 0), 0) >= published, 30_000);
    expect(INPUT_TOPICS.reduce((n, t) => n + (c.consumed[t] ?? 0), 0)).toBe(published);
    const skipped = (counter: string) => records.filter((r) => r.expect.outcome === 'skipped' && r.expect.counter === counter).length;
    expect(c.events.tombstones_skipped).toBe(skipped('tombstones_skipped'));
    expect(c.events.feedback_duplicates).toBe(skipped('feedback_duplicates'));
    const processed = published - expectedDlq.length - skipped('tombstones_skipped') - skipped('feedback_duplicates');
    expect(processed).toBe(2 * (WAVE_1 + WAVE_2) + records.filter((r) => r.expect.outcome === 'decoded').length);
    expect(Object.values(c.deadLetters).reduce((a, b) => a + b, 0)).toBe(expectedDlq.length);
    expect(kinds.length).toBeGreaterThanOrEqual(35);
  });
});
