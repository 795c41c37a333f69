/**
 * A platform written in Python publishes to the service with Confluent's client, as the README's
 * recipe says (confluent-kafka 2.16, AvroSerializer with the registry's latest schema through
 * Apicurio's Confluent-compatible API, the murmur2 partitioner), and reads the decisions back with
 * AvroDeserializer and read_committed: every relevance label arrives exactly once, with the value
 * the pure function gives. Half of the jobs have their outcome published by kafkajs instead, so
 * the joins only meet if the Python client partitions keys as the Java client and kafkajs do; each
 * record's partition is also checked against kafkajs's own partitioner.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import type { RelevanceLabel } from '../../schemas/generated/records.ts';
import { pythonClient } from '../helpers/interop.ts';
import { expectedLabels, randomName, testConfig } from '../helpers/testConfig.ts';

describe('a Python producer and consumer', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  let service: RunningServiceHandle;
  const g = new EventGenerator({ seed: 57, runId: 'python' });
  const start = Date.UTC(2026, 10, 1);
  const jobs = Array.from({ length: 160 }, (_, i) => g.job(start + i * 60_000));
  const pythonOnly = jobs.slice(0, 80);
  const mixed = jobs.slice(80);

  beforeAll(async () => {
    service = await startService(config, logger);
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('publishes dispatches and outcomes, and reads every label exactly once', async () => {
    const records = [
      ...pythonOnly.flatMap((j) => [
        { topic: config.topics['job-dispatch'], key: j.dispatch.job_id, value: j.dispatch },
        { topic: config.topics['job-outcome'], key: j.outcome.job_id, value: j.outcome },
      ]),
      ...mixed.map((j) => ({ topic: config.topics['job-dispatch'], key: j.dispatch.job_id, value: j.dispatch })),
    ];
    const file = join(tmpdir(), `${randomName('python-records')}.jsonl`);
    writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const produced = await pythonClient(['produce', config.kafka.brokers.join(','), config.registry.url as string, file]);
    expect(produced.code, produced.stderr).toBe(0);
    const delivered = produced.stdout.trim().split('\n').map((l) => JSON.parse(l) as { topic: string; key: string; partition: number });
    expect(delivered).toHaveLength(records.length);

    // murmur2_random puts every key where kafkajs's default partitioner (Java's murmur2) would.
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: config.kafka.partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    for (const d of delivered) expect(d.partition, d.key).toBe(partitioner({ topic: d.topic, partitionMetadata, message: { key: d.key, value: null } }));

    // The other half's outcomes come from kafkajs: they meet dispatches the Python client placed.
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
    for (const j of mixed) await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
    await publisher.close();

    const expected = expectedLabels(jobs, config);
    const consumed = await pythonClient(['consume', config.kafka.brokers.join(','), config.registry.url as string, config.topics['relevance-labels'], String(expected.size), '120'], 180_000);
    expect(consumed.code, consumed.stderr).toBe(0);
    const labels = consumed.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { value: RelevanceLabel }).value);
    const byJob = new Map<string, number>();
    for (const l of labels) byJob.set(l.job_id, (byJob.get(l.job_id) ?? 0) + 1);
    expect([...byJob.values()].filter((n) => n > 1), 'duplicates').toEqual([]);
    expect([...byJob.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const l of labels) {
      const e = expected.get(l.job_id) as RelevanceLabel;
      expect({ job: l.job_id, label: l.label, query: l.query_id, status: l.status }).toEqual({ job: e.job_id, label: e.label, query: e.query_id, status: e.status });
    }
    expect(service.streams.counters.deadLetters).toEqual({});
  });
});
