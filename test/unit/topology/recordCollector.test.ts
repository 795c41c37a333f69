import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/options.ts';
import { RecordCollector } from '../../../topology/recordCollector.ts';
import { newStreamsCounters } from '../../../topology/streamsCounters.ts';
import { LABELS_BY_OFFER, offerRun } from '../../../processors/cost/labelsByOffer.ts';
import { buildLabel } from '../../../processors/feedback/join.ts';
import { EventGenerator } from '../../../simulate/generator.ts';
import type { RuntimeEmission } from '../../../topology/mispartitioned.ts';
import type { TopicSerde } from '../../../topology/serde.ts';
import type { StreamTask } from '../../../topology/task.ts';
import type { RelevanceLabel } from '../../../schemas/generated/records.ts';

const config = loadConfig({ env: {}, overrides: { kafka: { applicationId: 'app' } } });

/** Encodes as JSON behind a tag: what the collector does with the bytes is under test, not Avro. */
const serde = {
  encode: async (role: string, value: unknown) => Buffer.from(`${role}:${JSON.stringify(value)}`),
  encodeInternal: async (name: string, value: unknown) => Buffer.from(`internal ${name}:${JSON.stringify(value)}`),
  schemaId: () => 1,
} as unknown as TopicSerde;
const task = { partition: 2, takeChangelogs: () => [] } as unknown as StreamTask;

function labels(): RelevanceLabel[] {
  const g = new EventGenerator({ seed: 11, runId: 'collector' });
  return Array.from({ length: 200 }, (_, i) => g.job(Date.UTC(2026, 0, 1) + i * 60_000))
    .map((j) => buildLabel(j.dispatch, j.outcome, config.feedback))
    .filter((l): l is RelevanceLabel => l !== null);
}

describe('RecordCollector', () => {
  it('sends a rerouted record as fetched to the partition of its key, and counts it', async () => {
    const counters = newStreamsCounters();
    const collector = new RecordCollector(config, serde, [], counters);
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
    const requests = await collector.collect(task, [reroute]);
    expect(requests.flat()).toEqual([{ topic: 'app-job-outcome-rerouted', messages: [{ key: reroute.key, value: reroute.value, partition: 3, timestamp: '1767225600000', headers: { h: 'v' } }] }]);
    expect(counters.mispartitioned).toEqual({ 'job-outcome': { reroute: 1 } });
    expect(counters.produced).toEqual({});
  });

  it('counts a MISPARTITIONED dead letter under its input topic', async () => {
    const counters = newStreamsCounters();
    const collector = new RecordCollector(config, serde, [], counters);
    await collector.collect(task, [
      { kind: 'dead-letter', code: 'MISPARTITIONED', reason: 'r', processor: 'partitioner', key: 'k', raw: { key: Buffer.from('k'), value: null, timestamp: 0, schemaId: null }, source: { topic: 'job-outcome', partition: 1, offset: '3' } },
    ]);
    expect(counters.mispartitioned).toEqual({ 'job-outcome': { dlq: 1 } });
    expect(counters.deadLetters).toEqual({ MISPARTITIONED: 1 });
  });

  it('writes labels-by-offer as OfferRun projections of the labels it accepts only', async () => {
    const all = labels();
    const collector = new RecordCollector(config, serde, [LABELS_BY_OFFER], newStreamsCounters());
    const requests = await collector.collect(
      task,
      all.map((l) => ({ kind: 'record', role: 'relevance-labels', key: l.job_id, value: l })),
    );
    const repartitioned = requests.flat().filter((t) => t.topic === 'app-labels-by-offer-repartition').flatMap((t) => t.messages);
    const accepted = all.filter((l) => l.instance.spot || l.status === 'SUCCEEDED');
    expect(accepted.length).toBeLessThan(all.length);
    expect(repartitioned.map((m) => m.value?.toString())).toEqual(accepted.map((l) => `internal offer-runs:${JSON.stringify(offerRun(l))}`));
    expect(repartitioned.map((m) => m.key)).toEqual(accepted.map((l) => `${l.instance.provider}/${l.instance.region}/${l.instance.instance_type}`));
    // The labels topic itself still gets every label whole.
    expect(requests.flat().filter((t) => t.topic === config.topics['relevance-labels']).flatMap((t) => t.messages)).toHaveLength(all.length);
  });
});
