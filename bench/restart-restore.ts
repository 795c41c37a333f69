/**
 * `make bench`: restart-to-first-commit against the size of the state, without and with
 * task snapshots (issue 14 item 3), in the same run and on the same changelog.
 *
 * For each size (BENCH_RESTORE_SIZES, default 10k, 100k and 1M store entries):
 *   0. the feedback store's changelog is filled with that many entries, spread over the
 *      partitions: completed-job markers (what the store holds for two days after each join,
 *      about 70 bytes) and BENCH_RESTORE_PENDING_FRACTION (default 5%) pending dispatches
 *      (about 1.6 kB);
 *   1. prime: the service starts with snapshots on, restores the whole changelog, commits a
 *      few jobs and stops cleanly (its last snapshot written);
 *   2. before: a few more jobs published; the service restarts with snapshots off; timed from
 *      start() to its first commit past the previous one; it reads every changelog record;
 *   3. after: a few more jobs; restart with snapshots on: loads the latest snapshots and reads
 *      only the changelog tail written since (2's commits; barriers are not counted).
 *   2 and 3 alternate BENCH_RESTORE_REPS times (default 3; once at 1M), medians reported.
 * Each run processes its jobs to the end and stops cleanly before the next. Writes
 * bench/results/restart-restore.json and prints a Markdown table for BENCHMARKS.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Message } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig, type Config } from '../config/options.ts';
import { REPO_ROOT, startLocalStack } from '../infra/local/localStack.ts';
import { TOPIC_ROLES } from '../schemas/catalog.ts';
import { EventGenerator } from '../simulate/generator.ts';
import { Publisher } from '../simulate/publisher.ts';
import { ensureTopologyTopics } from '../topology/admin.ts';
import { createKafka } from '../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../topology/serde.ts';
import { changelogTopic } from '../topology/stores/index.ts';
import { StreamsApp } from '../topology/streamsApp.ts';
import { buildProcessors } from '../app/topology.ts';
import { PENDING_STORE } from '../processors/feedback/processor.ts';
import { committedOffsets, endOffsets } from './kafkaBench.ts';

const SIZES = (process.env.BENCH_RESTORE_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const PENDING_FRACTION = Number(process.env.BENCH_RESTORE_PENDING_FRACTION ?? 0.05);
/** Jobs published before each run: what it processes and commits. */
const JOBS_PER_RUN = Number(process.env.BENCH_RESTORE_JOBS ?? 200);
/** Before/after pairs per size, alternating, medians reported: small sizes are dominated by noisy fixed costs. Sizes of 1M and more: one pair. */
const REPS = Number(process.env.BENCH_RESTORE_REPS ?? 3);
const T0 = Date.UTC(2026, 9, 1);

const logger = pino({ name: 'bench', level: process.env.BENCH_LOG_LEVEL ?? 'warn' }, pino.destination(2));

interface RunResult {
  firstCommitMs: number;
  restoredRecords: number;
  snapshotEntries: number;
  restoreMs: number;
  snapshotsLoaded: number;
}

/** `size` entries in the feedback store's changelog, as the service would have written them (JSON values), round-robin over the partitions. */
async function fillChangelog(config: Config, size: number): Promise<number> {
  const kafka = new Kafka({ clientId: 'bench-fill', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const topic = changelogTopic(config.kafka.applicationId, PENDING_STORE);
  const generator = new EventGenerator({ seed: 7, runId: 'state' });
  const pendingEvery = PENDING_FRACTION > 0 ? Math.max(1, Math.round(1 / PENDING_FRACTION)) : Number.POSITIVE_INFINITY;
  let batch: Message[] = [];
  let bytes = 0;
  let total = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await producer.send({ topic, acks: -1, messages: batch });
    batch = [];
    bytes = 0;
  };
  for (let i = 0; i < size; i++) {
    const t = T0 + i;
    let key: string;
    let value: unknown;
    if (i % pendingEvery === 0) {
      const d = generator.job(t).dispatch;
      key = d.job_id;
      value = { dispatch: d, expiresAt: t + config.feedback.pendingTtlMs };
    } else {
      key = `state-job-${i}`;
      value = { completedAt: t, expiresAt: t + config.feedback.completedTtlMs };
    }
    const buf = Buffer.from(JSON.stringify(value));
    batch.push({ key, value: buf, partition: i % config.kafka.partitions });
    bytes += buf.length + key.length + 64;
    total += buf.length + key.length;
    if (bytes >= 400_000) await flush();
  }
  await flush();
  await producer.disconnect();
  return total;
}

/** The broker answers NOT_COORDINATOR and the like while a fresh group coordinator loads: try again. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable || attempt >= 40) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function publishJobs(publisher: Publisher, generator: EventGenerator, from: number, n: number): Promise<void> {
  // After the state's event times, within every TTL: nothing expires, nothing is late.
  await publisher.addJobs(Array.from({ length: n }, (_, k) => generator.job(T0 + 10_000_000 + (from + k) * 1_000)));
  await publisher.flush();
}

/** Starts the service, times start() to its first commit past `base`, lets it commit every input to the end, stops it cleanly. */
async function timedRun(admin: Admin, config: Config, serde: TopicSerde, inputTopics: string[]): Promise<RunResult> {
  const processors = buildProcessors(config);
  const kafka = createKafka(config, logger);
  const base = await retrying(() => committedOffsets(admin, config.kafka.applicationId, inputTopics));
  const end = await retrying(() => endOffsets(admin, inputTopics));
  const streams = new StreamsApp(kafka, config, serde, processors, logger);
  const launched = performance.now();
  void streams.start().catch((err: unknown) => logger.error({ err }, 'streams failed'));
  let firstCommitMs: number | undefined;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const committed = await retrying(() => committedOffsets(admin, config.kafka.applicationId, inputTopics));
    if (firstCommitMs === undefined && committed > base) firstCommitMs = performance.now() - launched;
    if (committed >= end) break;
    if (Date.now() > deadline) throw new Error('the service did not commit its input within 15 minutes');
    await new Promise((r) => setTimeout(r, 25));
  }
  await streams.stop();
  const c = streams.counters;
  return {
    firstCommitMs: Math.round(firstCommitMs as number),
    restoredRecords: c.restoredRecords,
    snapshotEntries: c.restoredSnapshotEntries,
    restoreMs: c.restoreMs,
    snapshotsLoaded: c.events.snapshots_loaded ?? 0,
  };
}

/** The run with the median time to first commit. */
function median(runs: RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.firstCommitMs - b.firstCommitMs);
  return sorted[Math.floor(sorted.length / 2)] as RunResult;
}

async function measure(stack: { brokers: string[]; registryUrl: string }, stateRoot: string, size: number) {
  const suffix = `${size}-${Date.now().toString(36)}`;
  const config = loadConfig({
    env: {},
    overrides: {
      kafka: { brokers: stack.brokers, applicationId: `bench-restore-${suffix}` },
      registry: { url: stack.registryUrl },
      topics: Object.fromEntries(TOPIC_ROLES.map((r) => [r, `${r}-${suffix}`])),
      // The state is the benchmark's: no eviction by capacity, and nothing expires while the
      // runs' outcomes (up to days after their dispatches) move stream time on.
      feedback: { maxPendingPerPartition: 10_000_000, pendingTtlMs: 60 * 86_400_000, completedTtlMs: 60 * 86_400_000 },
      streams: { stateDir: join(stateRoot, suffix) },
      log: { level: 'warn' },
    },
  });
  const kafka = createKafka(config, logger);
  const serde = new TopicSerde(createRegistry({ url: stack.registryUrl, username: null, password: null }), config.topics);
  await serde.registerAll();
  await ensureTopologyTopics(kafka, config, buildProcessors(config));
  const filledAt = Date.now();
  const stateBytes = await fillChangelog(config, size);
  const fillMs = Date.now() - filledAt;
  console.error(`size ${size}: changelog filled (${(stateBytes / 1e6).toFixed(1)} MB of keys and values) in ${fillMs} ms`);

  const admin = kafka.admin();
  await admin.connect();
  const publisher = await Publisher.connect(createKafka(config, logger, '-bench'), serde, config.topics);
  const generator = new EventGenerator({ seed: 3, runId: `runs-${suffix}` });
  const inputTopics = [config.topics['job-dispatch'], config.topics['job-outcome']];
  const withSnapshots = (enabled: boolean): Config => ({ ...config, streams: { ...config.streams, snapshotsEnabled: enabled } });
  try {
    let published = 0;
    const run = async (what: string, snapshots: boolean) => {
      await publishJobs(publisher, generator, published, JOBS_PER_RUN);
      published += JOBS_PER_RUN;
      const r = await timedRun(admin, withSnapshots(snapshots), serde, inputTopics);
      console.error(`size ${size}: ${what} ${JSON.stringify(r)}`);
      return r;
    };
    const prime = await run('prime', true);
    const befores: RunResult[] = [];
    const afters: RunResult[] = [];
    const reps = size >= 1_000_000 ? 1 : REPS;
    // Alternating: each "after" reads the tail written since the last snapshot (the "before" runs write none).
    for (let i = 0; i < reps; i++) {
      befores.push(await run('before', false));
      afters.push(await run('after', true));
    }
    return { size, stateBytes, prime, before: median(befores), after: median(afters), befores, afters };
  } finally {
    await publisher.close();
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  const stack = await startLocalStack();
  const stateRoot = mkdtempSync(join(tmpdir(), 'artenic-bench-restore-'));
  const rows: Array<Awaited<ReturnType<typeof measure>>> = [];
  const loadBefore = loadavg();
  try {
    for (const size of SIZES) rows.push(await measure(stack, stateRoot, size));
  } finally {
    rmSync(stateRoot, { recursive: true, force: true });
    await stack.stop();
  }
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    loadavg: { before: loadBefore, after: loadavg() },
    jobsPerRun: JOBS_PER_RUN,
    pendingFraction: PENDING_FRACTION,
    rows,
  };
  mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench', 'results', 'restart-restore.json'), JSON.stringify(result, null, 2));
  const s = (ms: number) => (ms / 1000).toFixed(1);
  console.log(`Restart to first commit, ${result.date}, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} -> ${result.loadavg.after.map((l) => l.toFixed(2)).join(' ')}\n`);
  console.log(`Median of ${REPS} alternating before/after pairs per size (one pair at 1M); the row is the run with the median time to first commit.\n`);
  console.log('| store entries | state (MB) | before: first commit (s) | before: records restored | before: restore (s) | after: first commit (s) | after: records restored | after: snapshot entries | after: restore (s) | before / after |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.size.toLocaleString('en')} | ${(r.stateBytes / 1e6).toFixed(1)} | ${s(r.before.firstCommitMs)} | ${r.before.restoredRecords.toLocaleString('en')} | ${s(r.before.restoreMs)} | ${s(r.after.firstCommitMs)} | ${r.after.restoredRecords.toLocaleString('en')} | ${r.after.snapshotEntries.toLocaleString('en')} | ${s(r.after.restoreMs)} | ${(r.before.firstCommitMs / r.after.firstCommitMs).toFixed(2)}x |`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
