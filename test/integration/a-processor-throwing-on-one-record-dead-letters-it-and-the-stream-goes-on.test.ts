/**
 * Kafka Streams' processing-exception handler (KIP-1033), on the broker: a processor throws
 * on one record among thousands; that record goes to the DLQ as PROCESSING_ERROR with the
 * exception's message and its original bytes, and the stream goes on: every other job is
 * labelled, and inputs = outputs + 1 dead letter. (The throwing processor is the feedback
 * processor wrapped by this test: `topology/` knows no processor.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { feedbackProcessor } from '../../processors/feedback/processor.ts';
import { ensureTopologyTopics } from '../../topology/admin.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { StreamsApp } from '../../topology/streamsApp.ts';
import type { Processor } from '../../topology/processor.ts';
import type { DeadLetter, JobOutcome, RelevanceLabel } from '../../schemas/generated/records.ts';
import { expectedLabels, readTopic, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

const JOBS = 3_000;

describe('a processor that throws on one record', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  let streams: StreamsApp | undefined;
  afterAll(async () => {
    await streams?.stop();
  });

  it('dead-letters that record as PROCESSING_ERROR with its bytes, and labels every other job', async () => {
    const kafka = testKafka(config);
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    const g = new EventGenerator({ seed: 5, runId: 'poison' });
    const start = Date.UTC(2026, 9, 1);
    const jobs = Array.from({ length: JOBS }, (_, i) => g.job(start + i * 10_000));
    const expected = expectedLabels(jobs, config);
    // A job in the middle that would be labelled: its outcome is the poison.
    const poison = jobs.slice(JOBS / 2).find((j) => expected.has(j.dispatch.job_id)) as (typeof jobs)[number];
    const inner = feedbackProcessor(config.feedback);
    const throwing: Processor = {
      ...inner,
      process: (record, ctx) => {
        if (record.role === 'job-outcome' && (record.value as JobOutcome).job_id === poison.outcome.job_id) throw new TypeError(`boom on ${poison.outcome.job_id}`);
        inner.process(record, ctx);
      },
    };
    await ensureTopologyTopics(createKafka(config, logger), config, [throwing]);
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    await publisher.addJobs(jobs);
    await publisher.close();

    streams = new StreamsApp(createKafka(config, logger), config, serde, [throwing], logger);
    await streams.start();
    const s = streams;
    await waitUntil('every input consumed', async () => (s.counters.consumed['job-dispatch'] ?? 0) + (s.counters.consumed['job-outcome'] ?? 0) >= 2 * JOBS, 150_000);

    // Inputs = outputs + 1 dead letter.
    expect(s.counters.deadLetters).toEqual({ PROCESSING_ERROR: 1 });
    expect(s.counters.produced['relevance-labels']).toBe(expected.size - 1);
    const decodeLabel = async (v: Buffer | null) => (await serde.decode('relevance-labels', v, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as RelevanceLabel;
    const labels = await readTopic(kafka, config.topics['relevance-labels'], decodeLabel, (items) => items.length >= expected.size - 1, 60_000);
    expect(labels.length).toBe(expected.size - 1);
    expect(new Set(labels.map((l) => l.job_id))).toEqual(new Set([...expected.keys()].filter((id) => id !== poison.dispatch.job_id)));

    const decodeLetter = async (v: Buffer | null) => (await serde.decode('dlq', v, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as DeadLetter;
    const letters = await readTopic(kafka, config.topics.dlq, decodeLetter, () => false, 5_000);
    expect(letters).toHaveLength(1);
    const [letter] = letters as [DeadLetter];
    expect(letter.error_code).toBe('PROCESSING_ERROR');
    expect(letter.processor).toBe(inner.name);
    expect(letter.reason).toContain(`boom on ${poison.outcome.job_id}`);
    expect(letter.source_topic).toBe(config.topics['job-outcome']);
    expect(letter.key?.toString()).toBe(poison.outcome.job_id);
    // The original bytes: they decode to the poisoned outcome.
    expect(await serde.decode('job-outcome', letter.value, { minEventTimeMs: 0, maxEventTimeMs: Infinity })).toEqual(poison.outcome);
    expect(s.counters.restores).toBe(1);
  }, 300_000);
});
