/**
 * Dispatches published by a murmur2 client (kafkajs' default, as Java's) and their outcomes
 * by a client partitioning as librdkafka does by default (CRC32: Python, Go, .NET), on the
 * real broker and registry. With `streams.mispartitioned=reroute` (the default) every
 * outcome on the wrong partition goes through the rerouted topic to its dispatch's
 * partition, and every label arrives exactly once; with `dlq` those outcomes are dead-lettered
 * as MISPARTITIONED, and only the jobs whose key both hashes put on one partition get a label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners, type Producer } from 'kafkajs';
import { EventGenerator } from '../../simulate/generator.ts';
import type { DeadLetter } from '../../schemas/generated/records.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { crc32Partition, murmur2Partition } from '../../topology/partitioning.ts';
import { reroutedTopic } from '../../topology/mispartitioned.ts';
import { expectedLabels, readLabels, readTopic, testConfig, testKafka } from '../helpers/testConfig.ts';

const JOBS = 240;

describe.each(['reroute', 'dlq'] as const)('outcomes from a CRC32 client meet their murmur2 dispatches (streams.mispartitioned=%s)', (mode) => {
  const config = testConfig({ streams: { mispartitioned: mode } });
  const logger = createLogger('warn');
  const kafka = testKafka(config);
  const generator = new EventGenerator({ seed: 15, runId: `crc32-${mode}` });
  const start = Date.UTC(2026, 9, 1);
  const jobs = Array.from({ length: JOBS }, (_, i) => generator.job(start + i * 60_000));
  let service: RunningServiceHandle;
  let murmur2Producer: Producer;
  let crc32Producer: Producer;

  beforeAll(async () => {
    service = await startService(config, logger);
    murmur2Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    // librdkafka's `consistent_random`: crc32(key) % partitions for a non-empty key.
    crc32Producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: () => ({ message, partitionMetadata }) => crc32Partition(message.key as Buffer, partitionMetadata.length),
    });
    await murmur2Producer.connect();
    await crc32Producer.connect();
  });

  afterAll(async () => {
    await murmur2Producer?.disconnect();
    await crc32Producer?.disconnect();
    await service?.stop();
  });

  it('labels every job exactly once, or dead-letters the outcomes on the wrong partition', async () => {
    const partitions = config.kafka.partitions;
    const split = jobs.filter((j) => murmur2Partition(j.outcome.job_id, partitions) !== crc32Partition(j.outcome.job_id, partitions));
    // Enough keys that most land on another partition under CRC32 (about 3 in 4 of 4 partitions).
    expect(split.length).toBeGreaterThan(JOBS / 2);
    const splitIds = new Set(split.map((j) => j.outcome.job_id));

    const encode = async (role: 'job-dispatch' | 'job-outcome', j: (typeof jobs)[number]) => ({
      key: j.dispatch.job_id,
      value: await service.serde.encode(role, role === 'job-dispatch' ? j.dispatch : j.outcome),
    });
    // Half the outcomes before their dispatch.
    const early = jobs.filter((_, i) => i % 2 === 0);
    await crc32Producer.send({ topic: config.topics['job-outcome'], acks: -1, messages: await Promise.all(early.map((j) => encode('job-outcome', j))) });
    await murmur2Producer.send({ topic: config.topics['job-dispatch'], acks: -1, messages: await Promise.all(jobs.map((j) => encode('job-dispatch', j))) });
    const late = jobs.filter((_, i) => i % 2 === 1);
    await crc32Producer.send({ topic: config.topics['job-outcome'], acks: -1, messages: await Promise.all(late.map((j) => encode('job-outcome', j))) });

    const all = expectedLabels(jobs, config);
    const expected = mode === 'reroute' ? all : new Map([...all].filter(([id]) => !splitIds.has(id)));
    const labels = await readLabels(kafka, config, service.serde, expected.size, 120_000);
    const byJob = new Map<string, number>();
    for (const l of labels) byJob.set(l.job_id, (byJob.get(l.job_id) ?? 0) + 1);
    expect(labels.length).toBe(expected.size);
    expect([...byJob.values()].every((n) => n === 1)).toBe(true);
    for (const l of labels) expect(l).toEqual(expected.get(l.job_id));

    const counted = service.streams.counters.mispartitioned;
    expect(counted).toEqual({ [config.topics['job-outcome']]: { [mode]: split.length } });

    if (mode === 'reroute') {
      // The rerouted copies were consumed as job-outcome input: nothing went to the DLQ.
      expect(service.streams.counters.deadLetters.MISPARTITIONED).toBeUndefined();
      const rerouted = await readTopic<string>(kafka, reroutedTopic(config.kafka.applicationId, config.topics['job-outcome']), async (_v, k) => k ?? '', (items) => items.length >= split.length, 30_000);
      expect(rerouted.sort()).toEqual([...splitIds].sort());
    } else {
      const letters = await readTopic<DeadLetter>(
        kafka,
        config.topics.dlq,
        async (v) => (await service.serde.decode('dlq', v, { minEventTimeMs: -Infinity, maxEventTimeMs: Infinity })) as DeadLetter,
        (items) => items.length >= split.length,
        30_000,
      );
      expect(letters.length).toBe(split.length);
      expect(letters.every((l) => l.error_code === 'MISPARTITIONED' && l.source_topic === config.topics['job-outcome'])).toBe(true);
      expect(new Set(letters.map((l) => l.key?.toString()))).toEqual(splitIds);
      expect(letters[0]?.reason).toMatch(/CRC32/);
    }
  });
});
