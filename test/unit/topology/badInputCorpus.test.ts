/**
 * Every kind of the bad- and evolving-input corpus through the decode/validate path and
 * the processors, without Kafka: each record ends as its table says (decoded, dead-lettered
 * with its code and original bytes, or skipped and counted), and the good ones among them
 * yield their labels and suggestions. The registry is an in-memory stand-in that hands out
 * ids; the broker and registry version of this test is
 * `bad-and-evolving-input-is-dead-lettered-or-decoded-and-the-stream-goes-on`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { loadConfig } from '../../../config/options.ts';
import { INPUT_TOPICS, TOPIC_ROLES, type TopicRole } from '../../../schemas/catalog.ts';
import type { InstanceSuggestion, RelevanceLabel } from '../../../schemas/generated/records.ts';
import { buildProcessors } from '../../../app/topology.ts';
import { buildLabel } from '../../../processors/feedback/join.ts';
import { from, lastValueFrom } from 'rxjs';
import { decodeMessage, decodeRecords, type Decoded } from '../../../topology/operators/decodeRecords.ts';
import type { Emission } from '../../../topology/processor.ts';
import { TopicSerde } from '../../../topology/serde.ts';
import { StreamTask } from '../../../topology/task.ts';
import { buildCorpus, corpusRecords, EVOLVED_SCHEMAS, type CorpusKind, type EvolvedName } from '../../helpers/badInputCorpus.ts';
import { memoryRegistry } from '../../helpers/memoryRegistry.ts';

describe('bad- and evolving-input corpus, decode and processors without Kafka', () => {
  const config = loadConfig({ env: {}, overrides: { validation: { maxRecordBytes: 100_000 } } });
  const topics = Object.fromEntries(TOPIC_ROLES.map((r) => [r, r])) as Record<TopicRole, string>;
  const registry = memoryRegistry();
  const serde = new TopicSerde(registry, topics, { maxStringLength: config.validation.maxStringLength });
  const evolvedIds = new Map<EvolvedName, number>();
  let kinds: CorpusKind[];
  const bounds = { minEventTimeMs: config.validation.minEventTimeMs, maxEventTimeMs: Date.UTC(2026, 11, 31) };

  beforeAll(async () => {
    await serde.registerAll();
    for (const [name, e] of Object.entries(EVOLVED_SCHEMAS)) {
      const { id } = await registry.register({ type: 'AVRO', schema: JSON.stringify(e.schema) } as never, { subject: `${e.role}-value` } as never);
      evolvedIds.set(name as EvolvedName, id);
    }
    kinds = buildCorpus({
      schemaId: (role) => serde.schemaId(role),
      evolvedId: (name) => evolvedIds.get(name) as number,
      unknownId: 0x7fff_ff00,
      baseTime: Date.UTC(2026, 9, 1),
      runId: 'unit',
      maxRecordBytes: config.validation.maxRecordBytes,
      maxStringLength: config.validation.maxStringLength,
    });
  });

  it('has at least 35 kinds, each named once, covering every input topic but the catalog with a record', () => {
    expect(kinds.length).toBeGreaterThanOrEqual(35);
    expect(new Set(kinds.map((k) => k.name)).size).toBe(kinds.length);
    const roles = new Set(corpusRecords(kinds).map((r) => r.role));
    for (const role of INPUT_TOPICS) expect(roles.has(role)).toBe(true);
    const outcomes = new Set(corpusRecords(kinds).map((r) => r.expect.outcome));
    expect([...outcomes].sort()).toEqual(['dead-letter', 'decoded', 'skipped']);
  });

  it('ends every record as the table says, dead letters with their code and original bytes', async () => {
    const counts: Record<string, number> = {};
    const task = new StreamTask(0, buildProcessors(config), {
      graceMs: config.streams.graceMs,
      punctuateIntervalMs: Number.POSITIVE_INFINITY,
      globalTables: new Map(['instance-catalog', 'spot-risk', 'advisor-models', 'workload-scaling'].map((r) => [r, new Map()])),
      onCount: (what, n) => (counts[what] = (counts[what] ?? 0) + n),
    });
    task.init();
    const labels: RelevanceLabel[] = [];
    const suggestions: InstanceSuggestion[] = [];
    let offset = 0;
    for (const r of corpusRecords(kinds)) {
      const message = { key: r.key, value: r.value, offset: String(offset++), timestamp: String(Date.UTC(2026, 9, 1)), headers: {}, attributes: 0 } as unknown as KafkaMessage;
      const where = `${r.kind} (${r.role})`;
      // The operator the runtime uses: synchronous on a cached schema, the registry asked otherwise.
      const started = performance.now();
      const source = { role: r.role, source: r.role, topic: r.role, partition: 0, message };
      const decoded: Decoded = await lastValueFrom(from([source]).pipe(decodeRecords({ serde, bounds, maxRecordBytes: config.validation.maxRecordBytes })));
      expect(performance.now() - started, `${where} decodes at once`).toBeLessThan(250);
      const before = { ...counts };
      const emitted: Emission[] = decoded.ok ? task.process(decoded.record) : decoded.deadLetter ? [decoded.deadLetter] : [];
      if (!decoded.ok && 'skipped' in decoded) counts[decoded.skipped] = (counts[decoded.skipped] ?? 0) + 1;
      const letters = emitted.filter((e) => e.kind === 'dead-letter');
      for (const e of emitted) {
        if (e.kind === 'record' && e.role === 'relevance-labels') labels.push(e.value as RelevanceLabel);
        if (e.kind === 'record' && e.role === 'instance-suggestions') suggestions.push(e.value as InstanceSuggestion);
      }
      const e = r.expect;
      if (e.outcome === 'decoded') {
        expect(decoded.ok, `${where}: ${decoded.ok ? '' : decoded.deadLetter?.reason}`).toBe(true);
        expect(letters, where).toEqual([]);
      } else if (e.outcome === 'skipped') {
        expect(letters, where).toEqual([]);
        expect((counts[e.counter] ?? 0) - (before[e.counter] ?? 0), where).toBe(1);
      } else {
        expect(letters.map((l) => l.code), where).toEqual([e.code]);
        const letter = letters[0] as Extract<Emission, { kind: 'dead-letter' }>;
        expect(letter.reason.length, where).toBeGreaterThan(10);
        if (e.stage === 'decode') {
          expect(decoded.ok, where).toBe(false);
          expect(letter.raw?.value?.equals(r.value as Buffer), `${where}: original bytes`).toBe(true);
          expect(letter.raw?.key === r.key || letter.raw?.key?.equals(r.key as Buffer), `${where}: original key`).toBe(true);
        } else {
          expect(decoded.ok, where).toBe(true);
          // A processor's dead letter carries the record, re-encoded with the same schema: the same bytes.
          expect(serde.encodeSync(letter.record?.role as TopicRole, letter.record?.value as never).equals(r.value as Buffer), `${where}: original bytes`).toBe(true);
        }
      }
    }
    // The good pairs among them are labelled, once each, as the pure join says.
    const expected = kinds.flatMap((k) => k.pairs ?? []).flatMap((p) => buildLabel(p.dispatch, p.outcome, config.feedback) ?? []);
    expect(expected.length).toBeGreaterThanOrEqual(5);
    expect(labels.sort((a, b) => a.job_id.localeCompare(b.job_id))).toEqual(expected.sort((a, b) => a.job_id.localeCompare(b.job_id)));
    const requested = kinds.flatMap((k) => k.requests ?? []).sort();
    expect(suggestions.filter((s) => s.source === 'REQUEST').map((s) => s.request_id).sort()).toEqual(requested);
    // The unknown goal reads as the enum's default.
    expect(suggestions.find((s) => s.request_id?.endsWith('newer-enum-symbol'))).toBeDefined();
  });

  it('says "seconds" when an event time is in seconds', () => {
    const r = corpusRecords(kinds).find((x) => x.kind === 'event-time-in-seconds');
    const message = { key: r?.key, value: r?.value, offset: '0', timestamp: '0' } as unknown as KafkaMessage;
    const d = decodeMessage({ role: 'job-dispatch', source: 'job-dispatch', topic: 't', partition: 0, message }, { serde, bounds, maxRecordBytes: 1_000_000 });
    expect(d.ok ? '' : d.deadLetter?.reason).toMatch(/looks like seconds/);
  });

  it('decodes records read back from its own repartition topics without validating or checking keys again', () => {
    const r = corpusRecords(kinds).find((x) => x.kind === 'event-time-in-seconds');
    const message = { key: Buffer.from('advisor'), value: r?.value, offset: '0', timestamp: '0' } as unknown as KafkaMessage;
    const d = decodeMessage({ role: 'job-dispatch', source: 'some-repartition', topic: 't', partition: 0, message }, { serde, bounds, maxRecordBytes: 1_000_000 });
    expect(d.ok).toBe(true);
  });
});
