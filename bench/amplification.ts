/**
 * Record amplification of the full topology: records and bytes it produces and consumes per
 * job (a dispatch and its outcome), per topic, on the local broker. Two variants in the same
 * run, one after the other on fresh topics and groups: `before`, labels-by-offer carrying
 * every label whole (as up to December), and `after`, as built (only spot runs and successes,
 * projected to the slim OfferRun). Also where the single-key trainer repartition puts its
 * records (one partition: one task takes every label).
 *
 *   npx tsx bench/amplification.ts            # BENCH_AMP_JOBS=3000 by default
 *
 * Writes bench/results/amplification.json and prints a Markdown table for BENCHMARKS.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig, type Config } from '../config/options.ts';
import { REPO_ROOT, startLocalStack } from '../infra/local/localStack.ts';
import { TOPIC_ROLES, INPUT_TOPICS } from '../schemas/catalog.ts';
import { EventGenerator } from '../simulate/generator.ts';
import { Publisher } from '../simulate/publisher.ts';
import { ensureTopologyTopics } from '../topology/admin.ts';
import { createKafka } from '../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../topology/serde.ts';
import { StreamsApp } from '../topology/streamsApp.ts';
import type { Processor } from '../topology/processor.ts';
import { buildProcessors } from '../app/topology.ts';
import { committedOffsets, endOffsets, repartitionsDrained } from './kafkaBench.ts';

const JOBS = Number(process.env.BENCH_AMP_JOBS ?? 3_000);

interface TopicCount {
  records: number;
  bytes: number;
  /** Records per partition. */
  partitions: number[];
}

interface Variant {
  name: 'before' | 'after';
  jobs: number;
  drainSeconds: number;
  consumed: Record<string, number>;
  produced: Record<string, TopicCount>;
}

/** labels-by-offer as it was: every label, whole. */
function unfiltered(processors: Processor[]): Processor[] {
  return processors.map((p) =>
    p.repartitions?.some((r) => r.name === 'labels-by-offer')
      ? Object.assign(Object.create(Object.getPrototypeOf(p) as object) as Processor, p, {
          repartitions: p.repartitions.map((r) => (r.name === 'labels-by-offer' ? { name: r.name, from: r.from, key: r.key } : r)),
        })
      : p,
  );
}

/** Every committed record of a topic, counted with its bytes, per partition. */
async function countTopic(brokers: string[], topic: string, expectAtLeast: number): Promise<TopicCount> {
  const kafka = new Kafka({ clientId: 'amp-count', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const count: TopicCount = { records: 0, bytes: 0, partitions: offsets.map(() => 0) };
  if (offsets.every((o) => o.high === o.low)) return count;
  const consumer = kafka.consumer({ groupId: `amp-count-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let lastSeen = Date.now();
  void consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        count.records++;
        count.bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
        count.partitions[batch.partition] = (count.partitions[batch.partition] ?? 0) + 1;
      }
      lastSeen = Date.now();
    },
  });
  // Committed records sit below the high watermarks; stop once nothing new came for 2 s.
  const started = Date.now();
  while (Date.now() - lastSeen < 2_000 || (count.records < expectAtLeast && Date.now() - started < 60_000)) await new Promise((r) => setTimeout(r, 200));
  await consumer.disconnect();
  return count;
}

async function runVariant(name: Variant['name'], stack: { brokers: string[]; registryUrl: string }): Promise<Variant> {
  const logger = pino({ name: 'bench', level: 'warn' }, pino.destination(2));
  const suffix = `${name}-${Date.now().toString(36)}`;
  const config: Config = loadConfig({
    env: {},
    overrides: {
      kafka: { brokers: stack.brokers, applicationId: `amp-${suffix}` },
      registry: { url: stack.registryUrl },
      topics: Object.fromEntries(TOPIC_ROLES.map((r) => [r, `${r}-${suffix}`])),
      log: { level: 'warn' },
    },
  });
  const kafka = createKafka(config, logger);
  const serde = new TopicSerde(createRegistry({ url: stack.registryUrl, username: null, password: null }), config.topics);
  await serde.registerAll();
  const built = buildProcessors(config);
  const processors = name === 'before' ? unfiltered(built) : built;
  await ensureTopologyTopics(kafka, config, processors);

  const generator = new EventGenerator({ seed: 1, runId: 'amp' });
  const publisher = await Publisher.connect(createKafka(config, logger, '-bench'), serde, config.topics);
  const start = Date.UTC(2026, 9, 1);
  await publisher.addCatalog(start - 60_000);
  await publisher.flush();
  for (let i = 0; i < JOBS; i += 500) {
    await publisher.addJobs(Array.from({ length: Math.min(500, JOBS - i) }, (_, k) => generator.job(start + (i + k) * 1000)));
    await publisher.flush();
  }
  await publisher.close();

  const admin = kafka.admin();
  await admin.connect();
  const inputTopics = INPUT_TOPICS.map((r) => config.topics[r]);
  const inputEnd = await endOffsets(admin, inputTopics);
  const streams = new StreamsApp(kafka, config, serde, processors, logger);
  const began = Date.now();
  void streams.start();
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    // A fresh broker answers GROUP_LOAD_IN_PROGRESS for a while: asked again.
    const drained = await committedOffsets(admin, config.kafka.applicationId, inputTopics)
      .then(async (committed) => committed >= inputEnd && (await repartitionsDrained(admin, config.kafka.applicationId)))
      .catch((err: { retriable?: boolean }) => {
        if (!err.retriable) throw err;
        return false;
      });
    if (drained) break;
    if (Date.now() > deadline) throw new Error(`${name}: the topology did not drain within 10 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const drainSeconds = (Date.now() - began) / 1000;
  // Whatever a punctuation or the last transaction still adds.
  await new Promise((r) => setTimeout(r, 2_000));
  await streams.stop();

  const written = [
    ...TOPIC_ROLES.filter((r) => !(INPUT_TOPICS as readonly string[]).includes(r)).map((r) => config.topics[r]),
    ...(await admin.listTopics()).filter((t) => t.startsWith(`${config.kafka.applicationId}-`)),
  ];
  await admin.disconnect();
  const produced: Record<string, TopicCount> = {};
  for (const topic of written.sort()) {
    const c = await countTopic(stack.brokers, topic, 0);
    if (c.records > 0) produced[topic.replace(`amp-${suffix}-`, '<app>-').replace(`-${suffix}`, '')] = c;
  }
  return { name, jobs: JOBS, drainSeconds, consumed: { ...streams.counters.consumed }, produced };
}

function perJob(n: number, jobs: number): string {
  return (n / jobs).toFixed(3);
}

async function main(): Promise<void> {
  const stack = await startLocalStack();
  const loadBefore = loadavg();
  try {
    // Interleaved would be fairer for timings; records counted do not depend on load.
    const before = await runVariant('before', stack);
    const after = await runVariant('after', stack);
    const loadAfter = loadavg();
    const out = { date: new Date().toISOString(), jobs: JOBS, load: { before: loadBefore, after: loadAfter }, variants: [before, after] };
    mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'bench', 'results', 'amplification.json'), `${JSON.stringify(out, null, 2)}\n`);

    const topics = [...new Set([...Object.keys(before.produced), ...Object.keys(after.produced)])].sort();
    const lines = [
      `Amplification, ${JOBS} jobs (dispatch + outcome each, plus the catalog), ${out.date.slice(0, 10)}, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} -> ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
      '',
      '| topic (written by the service) | before: records/job | after: records/job | before: bytes/job | after: bytes/job |',
      '|---|---:|---:|---:|---:|',
    ];
    let totals = [0, 0, 0, 0];
    for (const t of topics) {
      const b = before.produced[t] ?? { records: 0, bytes: 0, partitions: [] };
      const a = after.produced[t] ?? { records: 0, bytes: 0, partitions: [] };
      totals = [totals[0]! + b.records, totals[1]! + a.records, totals[2]! + b.bytes, totals[3]! + a.bytes];
      lines.push(`| ${t} | ${perJob(b.records, JOBS)} | ${perJob(a.records, JOBS)} | ${(b.bytes / JOBS).toFixed(0)} | ${(a.bytes / JOBS).toFixed(0)} |`);
    }
    lines.push(`| **all produced** | **${perJob(totals[0]!, JOBS)}** | **${perJob(totals[1]!, JOBS)}** | **${(totals[2]! / JOBS).toFixed(0)}** | **${(totals[3]! / JOBS).toFixed(0)}** |`);
    const consumedSum = (v: Variant) => Object.values(v.consumed).reduce((s, n) => s + n, 0);
    lines.push('', '| consumed by the topology, per source | before: records/job | after: records/job |', '|---|---:|---:|');
    for (const s of [...new Set([...Object.keys(before.consumed), ...Object.keys(after.consumed)])].sort()) {
      lines.push(`| ${s} | ${perJob(before.consumed[s] ?? 0, JOBS)} | ${perJob(after.consumed[s] ?? 0, JOBS)} |`);
    }
    lines.push(`| **all consumed** | **${perJob(consumedSum(before), JOBS)}** | **${perJob(consumedSum(after), JOBS)}** |`);
    const training = after.produced['<app>-labels-for-training-repartition'];
    if (training) lines.push('', `labels-for-training-repartition per partition (after): ${training.partitions.join(' / ')}: one key, one partition, one task.`);
    lines.push('', `Drain time (start to drained, start-up included): before ${before.drainSeconds.toFixed(1)} s, after ${after.drainSeconds.toFixed(1)} s.`);
    console.log(lines.join('\n'));
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
