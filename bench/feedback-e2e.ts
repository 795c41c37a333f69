/**
 * `make bench`: the service's whole topology end to end on the local broker, beside raw
 * client baselines reading the same topics in the same run (bench/feedback-vs-kstreams.ts
 * puts the feedback slice alone beside Kafka Streams):
 *   1. raw kafkajs, consume-only and with Avro decoding;
 *   2. raw @platformatic/kafka, consume-only;
 *   3. the service's stream topology (decode, validate, join, label, transactional produce
 *      with changelog and offsets), backlog drained until its group has committed every
 *      input and repartition topic to the end; start-up (start to the first commit) is timed
 *      apart from the steady state (first commit to drained), and so are the raw consumers';
 *   4. latency at several steady offered loads: outcome published -> label visible under
 *      read_committed, p50 / p99;
 *   5. Kafka's own ProducerPerformance and ConsumerPerformance on the same broker, beside a
 *      raw kafkajs producer, at the same record count and size.
 * Writes bench/results/feedback-e2e.json and prints a Markdown table for BENCHMARKS.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig, type Config } from '../config/options.ts';
import { execFileSync } from 'node:child_process';
import { findJava, INFRA_CACHE, KAFKA_VERSION, startLocalStack, REPO_ROOT } from '../infra/local/localStack.ts';
import { TOPIC_ROLES } from '../schemas/catalog.ts';
import { EventGenerator } from '../simulate/generator.ts';
import { Publisher } from '../simulate/publisher.ts';
import { ensureTopologyTopics } from '../topology/admin.ts';
import { createKafka } from '../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../topology/serde.ts';
import { StreamsApp } from '../topology/streamsApp.ts';
import { buildProcessors } from '../app/topology.ts';
import { avroDecoder, committedOffsets, endOffsets, rawKafkajsConsume, repartitionsDrained } from './kafkaBench.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
/** Offered loads, in jobs per second (two events each). */
const LATENCY_RATES = (process.env.BENCH_LATENCY_RATES ?? '100,250,500,1000').split(',').map(Number);
/** Bytes per record in the perf-tool comparison: about an encoded dispatch. */
const PERF_RECORD_BYTES = 400;

/** Kafka's ProducerPerformance and ConsumerPerformance (kafka-tools, from Maven Central with the broker). */
function kafkaPerfTools(brokers: string[], topic: string, records: number, bytes: number) {
  const java = findJava(17);
  const cp = `${join(INFRA_CACHE, `kafka-${KAFKA_VERSION}`, 'libs')}/*`;
  const produced = execFileSync(java, ['-cp', cp, 'org.apache.kafka.tools.ProducerPerformance', '--topic', topic, '--num-records', String(records), '--record-size', String(bytes), '--throughput', '-1', '--producer-props', `bootstrap.servers=${brokers.join(',')}`, 'acks=all'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 180_000 });
  const last = produced.trim().split('\n').pop() ?? '';
  const m = /([\d.]+) records\/sec.*?, (\d+) ms 99th/.exec(last);
  const consumed = execFileSync(java, ['-cp', cp, 'org.apache.kafka.tools.ConsumerPerformance', '--bootstrap-server', brokers.join(','), '--topic', topic, '--messages', String(records), '--timeout', '60000'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 180_000 });
  const lines = consumed.trim().split('\n');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const values = (lines[lines.length - 1] ?? '').split(',').map((v) => v.trim());
  return {
    produceRecordsPerSecond: m ? Math.round(Number(m[1])) : Number.NaN,
    produceP99Ms: m ? Number(m[2]) : Number.NaN,
    consumeRecordsPerSecond: Math.round(Number(values[header.indexOf('nMsg.sec')])),
    raw: { produce: last, consume: lines.slice(-2).join(' / ') },
  };
}

/** Raw kafkajs producing the same records (batches of 1,000, acks=all). */
async function rawKafkajsProduce(config: Config, topic: string, records: number, bytes: number) {
  const kafka = new Kafka({ clientId: 'bench-produce', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: config.kafka.partitions, replicationFactor: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const value = Buffer.alloc(bytes, 7);
  const started = Date.now();
  for (let i = 0; i < records; i += 1000) {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(1000, records - i) }, (_, k) => ({ key: String(i + k), value })) });
  }
  const ms = Date.now() - started;
  await producer.disconnect();
  return { ms, recordsPerSecond: Math.round((records / ms) * 1000) };
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

async function rawPlatformatic(config: Config, topics: string[], expected: number): Promise<number | string> {
  try {
    const { Consumer, stringDeserializers } = await import('@platformatic/kafka');
    const consumer = new Consumer({ groupId: `bench-plt-${Date.now()}`, clientId: 'bench-plt', bootstrapBrokers: config.kafka.brokers, deserializers: stringDeserializers });
    const stream = await consumer.consume({ topics, mode: 'earliest' } as never);
    // The clock starts once consume() has joined the group: connecting and joining are start-up.
    const started = Date.now();
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
  // Logs to stderr: stdout carries the Markdown.
  const logger = pino({ name: 'bench', level: 'warn' }, pino.destination(2));
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

    await rawKafkajsConsume(config.kafka.brokers, inputTopics, events, null, config.streams.maxBytesPerPartition);
    const kafkajsRaw = await rawKafkajsConsume(config.kafka.brokers, inputTopics, events, null, config.streams.maxBytesPerPartition);
    const kafkajsDecoding = await rawKafkajsConsume(config.kafka.brokers, inputTopics, events, await avroDecoder(serde, ['job-dispatch', 'job-outcome']), config.streams.maxBytesPerPartition);
    const kafkajsMs = kafkajsRaw.steadyMs;
    const platformaticMs = await rawPlatformatic(config, inputTopics, events);

    // The topology draining the backlog: steady state from its first commit until its group has
    // committed every input and repartition topic to the end (labels-by-offer included).
    const admin = kafka.admin();
    await admin.connect();
    const inputEnd = await endOffsets(admin, inputTopics);
    const streams = new StreamsApp(kafka, config, serde, processors, logger);
    const launched = Date.now();
    void streams.start();
    let firstCommit: { at: number; committed: number } | undefined;
    const drainDeadline = Date.now() + 10 * 60_000;
    for (;;) {
      const committed = await committedOffsets(admin, config.kafka.applicationId, inputTopics);
      if (firstCommit === undefined && committed > 0) firstCommit = { at: Date.now(), committed };
      if (committed >= inputEnd && (await repartitionsDrained(admin, config.kafka.applicationId))) break;
      if (Date.now() > drainDeadline) throw new Error('the topology did not drain the backlog within 10 minutes');
      await new Promise((r) => setTimeout(r, 50));
    }
    await admin.disconnect();
    const drained = firstCommit as { at: number; committed: number };
    const streamsMs = Math.max(1, Date.now() - drained.at);
    const streamsStartupMs = drained.at - launched;
    const streamsEvents = events - drained.committed;
    const transactions = streams.counters.transactions;

    // Latency at steady loads: outcomes stamped with their publish time.
    const latencies: number[] = [];
    const reader = new Kafka({ clientId: 'bench-lat', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).consumer({
      groupId: `bench-lat-${suffix}`,
      readUncommitted: false,
      maxWaitTimeInMs: 20,
    });
    await reader.connect();
    await reader.subscribe({ topic: config.topics['relevance-labels'], fromBeginning: false });
    let measuringFrom = Number.POSITIVE_INFINITY;
    void reader.run({
      eachMessage: async ({ message }) => {
        const label = (await serde.decode('relevance-labels', message.value, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as { event_time: number };
        if (label.event_time >= measuringFrom) latencies.push(Date.now() - label.event_time);
      },
    });
    // The advisor pipeline too: dispatch published -> its suggestion visible.
    const dispatchSentAt = new Map<string, number>();
    const suggestionLatencies: number[] = [];
    const suggestionReader = new Kafka({ clientId: 'bench-lat-advisor', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).consumer({
      groupId: `bench-lat-advisor-${suffix}`,
      readUncommitted: false,
      maxWaitTimeInMs: 20,
    });
    await suggestionReader.connect();
    await suggestionReader.subscribe({ topic: config.topics['instance-suggestions'], fromBeginning: false });
    void suggestionReader.run({
      eachMessage: async ({ message }) => {
        const sent = dispatchSentAt.get(message.key?.toString() ?? '');
        if (sent !== undefined) suggestionLatencies.push(Date.now() - sent);
      },
    });
    await new Promise((r) => setTimeout(r, 3_000));
    const liveGen = new EventGenerator({ seed: 2, runId: 'live' });
    const loads: Array<{ jobsPerSecond: number; sentJobs: number; labels: number; p50Ms: number; p99Ms: number; suggestions: number; suggestionP50Ms: number; suggestionP99Ms: number }> = [];
    for (const rate of LATENCY_RATES) {
      latencies.length = 0;
      suggestionLatencies.length = 0;
      dispatchSentAt.clear();
      measuringFrom = Date.now();
      const tickMs = 100;
      const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
      const until = Date.now() + LATENCY_SECONDS * 1000;
      let sentJobs = 0;
      while (Date.now() < until) {
        const tick = Date.now();
        for (let k = 0; k < perTick; k++) {
          const now = Date.now();
          const job = liveGen.job(now - 3_600_000);
          await publisher.add('job-dispatch', job.dispatch.job_id, job.dispatch);
          await publisher.add('job-outcome', job.outcome.job_id, { ...job.outcome, event_time: now });
          dispatchSentAt.set(job.dispatch.job_id, now);
          sentJobs++;
        }
        await publisher.flush();
        const wait = tickMs - (Date.now() - tick);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await new Promise((r) => setTimeout(r, 5_000));
      measuringFrom = Number.POSITIVE_INFINITY;
      const sorted = [...latencies].sort((a, b) => a - b);
      dispatchSentAt.clear();
      const advisorSorted = [...suggestionLatencies].sort((a, b) => a - b);
      loads.push({
        jobsPerSecond: rate,
        sentJobs,
        labels: sorted.length,
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        suggestions: advisorSorted.length,
        suggestionP50Ms: quantile(advisorSorted, 0.5),
        suggestionP99Ms: quantile(advisorSorted, 0.99),
      });
      console.error(`latency at ${rate * 2} events/s: p50 ${quantile(sorted, 0.5)} ms, p99 ${quantile(sorted, 0.99)} ms`);
    }
    await reader.disconnect();
    await suggestionReader.disconnect();
    await streams.stop();
    await publisher.close();

    // The broker does not create topics on demand: the perf tools get theirs made first.
    const perfAdmin = new Kafka({ clientId: 'bench-perf', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await perfAdmin.connect();
    await perfAdmin.createTopics({ topics: [{ topic: `perf-${suffix}`, numPartitions: config.kafka.partitions, replicationFactor: 1 }] });
    await perfAdmin.disconnect();
    const perfTools = kafkaPerfTools(config.kafka.brokers, `perf-${suffix}`, events, PERF_RECORD_BYTES);
    const rawProduce = await rawKafkajsProduce(config, `perf-kafkajs-${suffix}`, events, PERF_RECORD_BYTES);
    const result = {
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      events,
      kafkajsConsumeOnly: kafkajsRaw,
      kafkajsAvroDecoding: kafkajsDecoding,
      platformaticConsumeOnly: typeof platformaticMs === 'number' ? { ms: platformaticMs, eventsPerSecond: Math.round((events / platformaticMs) * 1000) } : { note: platformaticMs },
      feedbackTopology: { startupMs: streamsStartupMs, steadyMs: streamsMs, steadyEvents: streamsEvents, eventsPerSecond: Math.round((streamsEvents / streamsMs) * 1000), transactions },
      latency: loads.map((l) => ({ offeredEventsPerSecond: l.jobsPerSecond * 2, sentJobs: l.sentJobs, labelsMeasured: l.labels, p50Ms: l.p50Ms, p99Ms: l.p99Ms, suggestionsMeasured: l.suggestions, suggestionP50Ms: l.suggestionP50Ms, suggestionP99Ms: l.suggestionP99Ms })),
      kafkaPerfTools: perfTools,
      kafkajsProduce: rawProduce,
    };
    mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'bench', 'results', 'feedback-e2e.json'), JSON.stringify(result, null, 2));
    const perSecondRatio = (eventsPerSecond: number) => (eventsPerSecond / kafkajsRaw.eventsPerSecond).toFixed(2);
    console.log(
      [
        `Machine: ${result.machine}; date ${result.date}; ${events} events (${JOBS} dispatch + ${JOBS} outcome), 4 partitions, local broker.`,
        '',
        'Steady state only: from joining the group (raw consumers) or the first commit (the topology) to the end; start-up apart. A first, untimed consume warms the page cache and the JIT.',
        '',
        '| pipeline | start-up (ms) | time (ms) | events/s | events/s vs raw kafkajs |',
        '|---|---:|---:|---:|---:|',
        `| raw kafkajs, consume-only | | ${kafkajsMs} | ${kafkajsRaw.eventsPerSecond} | 1.00 |`,
        `| raw kafkajs + Avro decoding (avsc, no validation) | | ${kafkajsDecoding.steadyMs} | ${kafkajsDecoding.eventsPerSecond} | ${perSecondRatio(kafkajsDecoding.eventsPerSecond)} |`,
        typeof platformaticMs === 'number'
          ? `| raw @platformatic/kafka, consume-only | | ${platformaticMs} | ${Math.round((events / platformaticMs) * 1000)} | ${perSecondRatio((events / platformaticMs) * 1000)} |`
          : `| raw @platformatic/kafka, consume-only | | ${platformaticMs} | | |`,
        `| full topology: feedback, advisor, spot, anomalies, storage (exactly-once, ${transactions} transactions) | ${streamsStartupMs} | ${streamsMs} | ${result.feedbackTopology.eventsPerSecond} | ${perSecondRatio(result.feedbackTopology.eventsPerSecond)} |`,
        '',
        `Latency per pipeline, published -> output visible (read_committed), ${LATENCY_SECONDS} s per load: feedback = outcome -> relevance label; advisor = dispatch -> instance suggestion.`,
        '',
        '| offered events/s | feedback: labels | p50 (ms) | p99 (ms) | advisor: suggestions | p50 (ms) | p99 (ms) |',
        '|---:|---:|---:|---:|---:|---:|---:|',
        ...loads.map((l) => `| ${l.jobsPerSecond * 2} | ${l.labels} | ${l.p50Ms} | ${l.p99Ms} | ${l.suggestions} | ${l.suggestionP50Ms} | ${l.suggestionP99Ms} |`),
        '',
        `Kafka's own perf tools on the same broker, ${events} records of ${PERF_RECORD_BYTES} bytes (the size of an encoded dispatch), beside raw kafkajs:`,
        '',
        '| client | produce records/s | produce p99 (ms) | consume records/s |',
        '|---|---:|---:|---:|',
        `| Kafka ProducerPerformance / ConsumerPerformance (Java, acks=all) | ${perfTools.produceRecordsPerSecond} | ${perfTools.produceP99Ms} | ${perfTools.consumeRecordsPerSecond} |`,
        `| raw kafkajs (sendBatch of 1,000, acks=all / consume-only above) | ${rawProduce.recordsPerSecond} | | ${result.kafkajsConsumeOnly.eventsPerSecond} |`,
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
