/**
 * `make bench`: the feedback slice end to end on the local broker, beside raw client
 * baselines reading the same topics in the same run:
 *   1. raw kafkajs, consume-only;
 *   2. raw @platformatic/kafka, consume-only;
 *   3. the service's stream topology (decode, validate, join, label, transactional produce
 *      with changelog and offsets), backlog drained to committed labels;
 *   4. latency at a steady offered load: outcome published -> label visible under
 *      read_committed, p50 / p99.
 * Writes bench/results/feedback-e2e.json and prints a Markdown table for BENCHMARKS.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig, type Config } from '../config/options.ts';
import { startLocalStack, REPO_ROOT } from '../infra/local/localStack.ts';
import { TOPIC_ROLES } from '../schemas/catalog.ts';
import { EventGenerator } from '../simulate/generator.ts';
import { Publisher } from '../simulate/publisher.ts';
import { ensureTopologyTopics } from '../topology/admin.ts';
import { createKafka } from '../topology/kafka.ts';
import { createLogger } from '../topology/logger.ts';
import { createRegistry, TopicSerde } from '../topology/serde.ts';
import { StreamsApp } from '../topology/streamsApp.ts';
import { buildProcessors } from '../topology/topology.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
const LATENCY_JOBS_PER_SECOND = Number(process.env.BENCH_LATENCY_RATE ?? 250);

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

async function rawKafkajs(config: Config, topics: string[], expected: number): Promise<number> {
  const kafka = new Kafka({ clientId: 'bench-raw', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-raw-${Date.now()}`, maxWaitTimeInMs: 100, maxBytesPerPartition: config.streams.maxBytesPerPartition });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  let n = 0;
  const started = Date.now();
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        n += batch.messages.length;
        if (n >= expected) resolve();
      },
    });
  });
  const ms = Date.now() - started;
  await consumer.disconnect();
  return ms;
}

async function rawPlatformatic(config: Config, topics: string[], expected: number): Promise<number | string> {
  try {
    const { Consumer, stringDeserializers } = await import('@platformatic/kafka');
    const consumer = new Consumer({ groupId: `bench-plt-${Date.now()}`, clientId: 'bench-plt', bootstrapBrokers: config.kafka.brokers, deserializers: stringDeserializers });
    const started = Date.now();
    const stream = await consumer.consume({ topics, mode: 'earliest' } as never);
    let n = 0;
    for await (const _message of stream as AsyncIterable<unknown>) {
      if (++n >= expected) break;
    }
    const ms = Date.now() - started;
    await (stream as { close(): Promise<void> }).close().catch(() => undefined);
    await Promise.resolve(consumer.close(true) as unknown).catch(() => undefined);
    return ms;
  } catch (err) {
    return `not run: ${(err as Error).message.split('\n')[0]}`;
  }
}

async function main(): Promise<void> {
  const logger = createLogger('warn');
  const stack = await startLocalStack();
  try {
    const suffix = Date.now().toString(36);
    const config = loadConfig({
      env: {},
      overrides: {
        kafka: { brokers: stack.brokers, applicationId: `bench-${suffix}` },
        registry: { url: stack.registryUrl },
        topics: Object.fromEntries(TOPIC_ROLES.map((r) => [r, `${r}-${suffix}`])),
        log: { level: 'warn' },
      },
    });
    const kafka = createKafka(config, logger);
    const serde = new TopicSerde(createRegistry({ url: stack.registryUrl, username: null, password: null }), config.topics);
    await serde.registerAll();
    const processors = buildProcessors(config);
    await ensureTopologyTopics(kafka, config, processors);

    const generator = new EventGenerator({ seed: 1, runId: 'bench' });
    const publisher = await Publisher.connect(createKafka(config, logger, '-bench'), serde, config.topics);
    const start = Date.UTC(2026, 9, 1);
    for (let i = 0; i < JOBS; i += 1000) {
      await publisher.addJobs(Array.from({ length: Math.min(1000, JOBS - i) }, (_, k) => generator.job(start + (i + k) * 1000)));
      await publisher.flush();
    }
    const events = 2 * JOBS;
    const inputTopics = [config.topics['job-dispatch'], config.topics['job-outcome']];
    console.error(`published ${events} events`);

    const kafkajsMs = await rawKafkajs(config, inputTopics, events);
    const platformaticMs = await rawPlatformatic(config, inputTopics, events);

    // The topology draining the backlog to committed labels.
    const streams = new StreamsApp(kafka, config, serde, processors, logger);
    const started = Date.now();
    void streams.start();
    while ((streams.counters.consumed['job-dispatch'] ?? 0) + (streams.counters.consumed['job-outcome'] ?? 0) < events) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const streamsMs = Date.now() - started;
    const transactions = streams.counters.transactions;

    // Latency at a steady load: outcomes stamped with their publish time.
    const latencies: number[] = [];
    const reader = new Kafka({ clientId: 'bench-lat', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).consumer({
      groupId: `bench-lat-${suffix}`,
      readUncommitted: false,
      maxWaitTimeInMs: 20,
    });
    await reader.connect();
    await reader.subscribe({ topic: config.topics['relevance-labels'], fromBeginning: false });
    const latencyStart = Date.now();
    void reader.run({
      eachMessage: async ({ message }) => {
        const label = (await serde.decode('relevance-labels', message.value, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as { event_time: number };
        if (label.event_time >= latencyStart) latencies.push(Date.now() - label.event_time);
      },
    });
    await new Promise((r) => setTimeout(r, 3_000));
    const liveGen = new EventGenerator({ seed: 2, runId: 'live' });
    const tickMs = 100;
    const perTick = Math.max(1, Math.round((LATENCY_JOBS_PER_SECOND * tickMs) / 1000));
    const until = Date.now() + LATENCY_SECONDS * 1000;
    let sentJobs = 0;
    while (Date.now() < until) {
      const tick = Date.now();
      for (let k = 0; k < perTick; k++) {
        const now = Date.now();
        const job = liveGen.job(now - 3_600_000);
        await publisher.add('job-dispatch', job.dispatch.job_id, job.dispatch);
        await publisher.add('job-outcome', job.outcome.job_id, { ...job.outcome, event_time: now });
        sentJobs++;
      }
      await publisher.flush();
      const wait = tickMs - (Date.now() - tick);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await new Promise((r) => setTimeout(r, 5_000));
    await reader.disconnect();
    await streams.stop();
    await publisher.close();

    latencies.sort((a, b) => a - b);
    const result = {
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      events,
      kafkajsConsumeOnly: { ms: kafkajsMs, eventsPerSecond: Math.round((events / kafkajsMs) * 1000) },
      platformaticConsumeOnly: typeof platformaticMs === 'number' ? { ms: platformaticMs, eventsPerSecond: Math.round((events / platformaticMs) * 1000) } : { note: platformaticMs },
      feedbackTopology: { ms: streamsMs, eventsPerSecond: Math.round((events / streamsMs) * 1000), transactions },
      latency: { offeredEventsPerSecond: LATENCY_JOBS_PER_SECOND * 2, sentJobs, labelsMeasured: latencies.length, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) },
    };
    mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'bench', 'results', 'feedback-e2e.json'), JSON.stringify(result, null, 2));
    const ratio = (ms: number) => (ms / kafkajsMs).toFixed(2);
    console.log(
      [
        `Machine: ${result.machine}; date ${result.date}; ${events} events (${JOBS} dispatch + ${JOBS} outcome), 4 partitions, local broker.`,
        '',
        '| pipeline | time (ms) | events/s | time vs raw kafkajs |',
        '|---|---:|---:|---:|',
        `| raw kafkajs, consume-only | ${kafkajsMs} | ${result.kafkajsConsumeOnly.eventsPerSecond} | 1.00 |`,
        typeof platformaticMs === 'number'
          ? `| raw @platformatic/kafka, consume-only | ${platformaticMs} | ${Math.round((events / platformaticMs) * 1000)} | ${ratio(platformaticMs)} |`
          : `| raw @platformatic/kafka, consume-only | ${platformaticMs} | | |`,
        `| full topology: feedback, advisor, spot, anomalies, storage (exactly-once, ${transactions} transactions) | ${streamsMs} | ${result.feedbackTopology.eventsPerSecond} | ${ratio(streamsMs)} |`,
        '',
        `Latency, outcome published -> label visible (read_committed), at ${LATENCY_JOBS_PER_SECOND * 2} events/s offered for ${LATENCY_SECONDS} s: ` +
          `p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms over ${latencies.length} labels.`,
      ].join('\n'),
    );
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
