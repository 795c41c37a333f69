/**
 * The record collector's encode path without Kafka: records are encoded synchronously with
 * the service's own schemas (the same bytes the registry library wrote), a processor's
 * tombstone becomes a null value on its compacted topic with no repartition copy, and a
 * processor cannot tombstone a topic that is not compacted.
 */
import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import { loadConfig } from '../../../config/options.ts';
import { TOPIC_ROLES, topicSchema, type TopicRole } from '../../../schemas/catalog.ts';
import type { AdvisorModel, RelevanceLabel } from '../../../schemas/generated/records.ts';
import type { Emission, Processor, Repartition } from '../../../topology/processor.ts';
import { RecordCollector } from '../../../topology/recordCollector.ts';
import { TopicSerde } from '../../../topology/serde.ts';
import { newStreamsCounters } from '../../../topology/streamsCounters.ts';
import { StreamTask } from '../../../topology/task.ts';
import { LABELS_BY_OFFER, offerRun } from '../../../processors/cost/labelsByOffer.ts';
import { buildLabel } from '../../../processors/feedback/join.ts';
import { EventGenerator } from '../../../simulate/generator.ts';
import type { RuntimeEmission } from '../../../topology/mispartitioned.ts';
import { memoryRegistry } from '../../helpers/memoryRegistry.ts';

const model = { model_version: 'ltr-1', sequence: 1, promoted: false, onnx: null } as unknown as AdvisorModel;
const modelType = avro.Type.forSchema(topicSchema('advisor-models') as avro.Schema);
const fullModel = modelType.random() as unknown as AdvisorModel;

describe('RecordCollector', () => {
  it('writes a tombstone as a null value on its compacted topic, with no repartition copy, and encodes records as the registry library did', async () => {
    const config = loadConfig({ env: {} });
    const serde = new TopicSerde(memoryRegistry(), Object.fromEntries(TOPIC_ROLES.map((r) => [r, r])) as Record<TopicRole, string>);
    await serde.registerAll();
    const copies: Repartition<'advisor-models'> = { name: 'models-copy', from: 'advisor-models', key: (m) => m.model_version };
    const counters = newStreamsCounters();
    const collector = new RecordCollector(config, serde, [copies as Repartition], counters);
    const task = new StreamTask(0, [], { graceMs: 0, punctuateIntervalMs: 1 });
    const emissions: Emission[] = [
      { kind: 'record', role: 'advisor-models', key: fullModel.model_version, value: fullModel },
      { kind: 'tombstone', role: 'advisor-models', key: 'ltr-0' },
    ];
    const requests = await collector.collect(task, emissions);
    const byTopic = new Map<string, Array<{ key: unknown; value: unknown }>>();
    for (const request of requests) for (const { topic, messages } of request) byTopic.set(topic, [...(byTopic.get(topic) ?? []), ...(messages as Array<{ key: unknown; value: unknown }>)]);
    const models = byTopic.get(config.topics['advisor-models']) ?? [];
    expect(models.map((m) => m.key)).toEqual([fullModel.model_version, 'ltr-0']);
    expect(models[1]?.value).toBeNull();
    // The wire format the registry library writes: magic byte, schema id, Avro body.
    const expected = Buffer.concat([Buffer.from([0]), Buffer.from([0, 0, 0, serde.schemaId('advisor-models')]), modelType.toBuffer(fullModel)]);
    expect((models[0]?.value as Buffer).equals(expected)).toBe(true);
    // Only the record is copied to the repartition.
    expect((byTopic.get(`${config.kafka.applicationId}-models-copy-repartition`) ?? []).map((m) => m.key)).toEqual([fullModel.model_version]);
    expect(counters.events.tombstones_emitted).toBe(1);
    expect(counters.produced['advisor-models']).toBe(1);
  });

  it('refuses a tombstone on a topic that is not compacted (a processor bug)', () => {
    const bad: Processor = {
      name: 'bad',
      inputs: ['job-outcome'],
      stores: [],
      process: (_record, ctx) => ctx.tombstone('relevance-labels', 'x'),
    };
    const good: Processor = { ...bad, name: 'good', process: (_record, ctx) => ctx.tombstone('advisor-models', model.model_version) };
    const record = { role: 'job-outcome' as const, source: 'job-outcome', key: 'j', value: {} as never, eventTime: 1, topic: 't', partition: 0, offset: '0' };
    // A processor bug like any other: the record is dead-lettered as PROCESSING_ERROR, or the batch fails with `fail`.
    expect(new StreamTask(0, [bad], { graceMs: 0, punctuateIntervalMs: 1 }).process(record)).toMatchObject([{ kind: 'dead-letter', code: 'PROCESSING_ERROR', reason: expect.stringMatching(/not compacted/) }]);
    expect(() => new StreamTask(0, [bad], { graceMs: 0, punctuateIntervalMs: 1, processingErrors: 'fail' }).process(record)).toThrow(/not compacted/);
    expect(new StreamTask(0, [good], { graceMs: 0, punctuateIntervalMs: 1 }).process(record)).toEqual([{ kind: 'tombstone', role: 'advisor-models', key: 'ltr-1' }]);
  });
});

const appConfig = loadConfig({ env: {}, overrides: { kafka: { applicationId: 'app' } } });

/** Encodes as JSON behind a tag: what the collector does with the bytes is under test, not Avro. */
const fakeSerde = {
  encodeSync: (role: string, value: unknown) => Buffer.from(`${role}:${JSON.stringify(value)}`),
  encodeInternalSync: (name: string, value: unknown) => Buffer.from(`internal ${name}:${JSON.stringify(value)}`),
  schemaId: () => 1,
} as unknown as TopicSerde;
const fakeTask = { partition: 2, takeChangelogs: () => [] } as unknown as StreamTask;

function labels(): RelevanceLabel[] {
  const g = new EventGenerator({ seed: 11, runId: 'collector' });
  return Array.from({ length: 200 }, (_, i) => g.job(Date.UTC(2026, 0, 1) + i * 60_000))
    .map((j) => buildLabel(j.dispatch, j.outcome, appConfig.feedback))
    .filter((l): l is RelevanceLabel => l !== null);
}

describe('RecordCollector [partitioner]', () => {
  it('sends a rerouted record as fetched to the partition of its key, and counts it', async () => {
    const counters = newStreamsCounters();
    const collector = new RecordCollector(appConfig, fakeSerde, [], counters);
    const reroute: RuntimeEmission = {
      kind: 'reroute',
      topic: 'app-job-outcome-rerouted',
      partition: 3,
      key: Buffer.from('job-1'),
      value: Buffer.from([0, 0, 0, 0, 7, 1]),
      headers: { h: 'v' },
      timestamp: '1767225600000',
      source: { topic: 'job-outcome', partition: 1, offset: '9' },
    };
    const requests = await collector.collect(fakeTask, [reroute]);
    expect(requests.flat()).toEqual([{ topic: 'app-job-outcome-rerouted', messages: [{ key: reroute.key, value: reroute.value, partition: 3, timestamp: '1767225600000', headers: { h: 'v' } }] }]);
    expect(counters.mispartitioned).toEqual({ 'job-outcome': { reroute: 1 } });
    expect(counters.produced).toEqual({});
  });

  it('counts a MISPARTITIONED dead letter under its input topic', async () => {
    const counters = newStreamsCounters();
    const collector = new RecordCollector(appConfig, fakeSerde, [], counters);
    await collector.collect(fakeTask, [
      { kind: 'dead-letter', code: 'MISPARTITIONED', reason: 'r', processor: 'partitioner', key: 'k', raw: { key: Buffer.from('k'), value: null, timestamp: 0, schemaId: null }, source: { topic: 'job-outcome', partition: 1, offset: '3' } },
    ]);
    expect(counters.mispartitioned).toEqual({ 'job-outcome': { dlq: 1 } });
    expect(counters.deadLetters).toEqual({ MISPARTITIONED: 1 });
  });

  it('writes labels-by-offer as OfferRun projections of the labels it accepts only', async () => {
    const all = labels();
    const collector = new RecordCollector(appConfig, fakeSerde, [LABELS_BY_OFFER], newStreamsCounters());
    const requests = await collector.collect(
      fakeTask,
      all.map((l) => ({ kind: 'record', role: 'relevance-labels', key: l.job_id, value: l })),
    );
    const repartitioned = requests.flat().filter((t) => t.topic === 'app-labels-by-offer-repartition').flatMap((t) => t.messages);
    const accepted = all.filter((l) => l.instance.spot || l.status === 'SUCCEEDED');
    expect(accepted.length).toBeLessThan(all.length);
    expect(repartitioned.map((m) => m.value?.toString())).toEqual(accepted.map((l) => `internal offer-runs:${JSON.stringify(offerRun(l))}`));
    expect(repartitioned.map((m) => m.key)).toEqual(accepted.map((l) => `${l.instance.provider}/${l.instance.region}/${l.instance.instance_type}`));
    // The labels topic itself still gets every label whole.
    expect(requests.flat().filter((t) => t.topic === appConfig.topics['relevance-labels']).flatMap((t) => t.messages)).toHaveLength(all.length);
  });
});
