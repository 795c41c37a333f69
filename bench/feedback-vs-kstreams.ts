/**
 * `make bench`: this project's feedback slice beside a Kafka Streams port of it
 * (bench/kstreams: exactly_once_v2, one stream thread, Processor API, logged key-value
 * store, Avro in the Confluent wire format against the same registry), on one local broker,
 * in one run, repetitions interleaved (the order rotates). Each implementation runs as a
 * process of its own, so its CPU is read from /proc:
 *   1. backlog drain, cold (a fresh process) and warm (the same process, a second backlog
 *      published while it is stopped with SIGSTOP): events/s over the steady state, from the
 *      first committed offset to the last (start-up timed apart), until the group's committed
 *      offsets reach the end of every input and repartition topic;
 *   2. events per CPU-second of each process, and of its threads by name (Java: the stream
 *      thread and its producer's I/O thread; Node: the main thread); transactions committed
 *      per event; the broker's CPU per event;
 *   3. latency at steady offered loads (500 and 2,000 events/s by default): outcome published
 *      -> label visible under read_committed, p50 / p99, with transactions/s, records per
 *      transaction and CPU of the process and the broker at that load;
 *   4. the labels of every implementation for the same backlog, compared byte for byte (the
 *      Avro body after the 5-byte wire-format header, and the key);
 *   5. raw kafkajs consumers over the same backlog: consume-only, and with Avro decoding
 *      (avsc, the writer schema by id, no validation), so a ratio against them means something;
 *      their clock runs from joining the group (before the first fetch) to the last record.
 * Writes bench/results/feedback-vs-kstreams.json and prints Markdown for BENCHMARKS.md.
 *
 * Settings (environment): BENCH_REPS (6: a multiple of the number of implementations, so each
 * runs first as often), BENCH_JOBS (20,000 jobs = 40,000 events per backlog),
 * BENCH_LATENCY_SECONDS (15 per load), BENCH_LATENCY_RATES (jobs/s, "250,1000" = 500 and 2,000
 * events/s), BENCH_KSTREAMS_STORE (memory | rocksdb), BENCH_BEFORE_ROOT (unset: none; a checkout
 * of this project at another commit, e.g. a `git worktree add --detach` with node_modules and
 * schemas/generated in place: its bench/feedback-slice.ts runs as a third implementation,
 * "this project, before (<commit>)", in every section, to measure a change within one run).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { loadConfig, type Config } from '../config/options.ts';
import { findJava, REPO_ROOT, startKafka, startRegistry } from '../infra/local/localStack.ts';
import { TOPIC_ROLES, type TopicRole } from '../schemas/catalog.ts';
import { EventGenerator } from '../simulate/generator.ts';
import { Publisher } from '../simulate/publisher.ts';
import { ensureTopics } from '../topology/admin.ts';
import { createKafka } from '../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../topology/serde.ts';
import { avroDecoder, committedOffsets, endOffsets, rawKafkajsConsume, repartitionsDrained, type RawConsumeResult } from './kafkaBench.ts';

const REPS = Number(process.env.BENCH_REPS ?? 6);
const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 15);
/** Offered loads in jobs per second (two events each). */
const LATENCY_RATES = (process.env.BENCH_LATENCY_RATES ?? '250,1000').split(',').map(Number);
const KSTREAMS_STORE = process.env.BENCH_KSTREAMS_STORE ?? 'memory';
/** Another checkout of this project whose feedback slice runs beside this one's. */
const BEFORE_ROOT = process.env.BENCH_BEFORE_ROOT || undefined;
/** Before each load is measured it runs this long, so a punctuation over the backlog's state or a rate change is not in the figures. */
const LEAD_IN_MS = 2_000;
const DRAIN_TIMEOUT_MS = 10 * 60_000;
const START_TIMEOUT_MS = 3 * 60_000;
const POLL_MS = 50;
const CLK_TCK = 100;
const KSTREAMS_DIR = join(REPO_ROOT, '.cache', 'kstreams');
const KSTREAMS_JAR = join(KSTREAMS_DIR, 'target', 'feedback-kstreams-0.1.0.jar');
const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
/** Kafka Streams' state directory (RocksDB files with BENCH_KSTREAMS_STORE=rocksdb), removed at the end. */
const KSTREAMS_STATE_DIR = join(RESULTS_DIR, 'kstreams-state');

type Impl = 'node' | 'before' | 'kstreams';
/** The implementations of this run, in the order of the tables. */
const IMPLS: readonly Impl[] = BEFORE_ROOT === undefined ? ['node', 'kstreams'] : ['node', 'before', 'kstreams'];
const IMPL_NAME: Record<Impl, string> = {
  node: 'this project (Node, kafkajs)',
  before: BEFORE_ROOT === undefined ? '' : `this project, before (${execFileSync('git', ['-C', BEFORE_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()})`,
  kstreams: 'Kafka Streams 4.1.1 (Java 17)',
};

// ---------------------------------------------------------------------------------------
// CPU from /proc

/** utime + stime of a process or thread, in seconds; 0 once it is gone. */
function cpuSeconds(statPath: string): number {
  try {
    const stat = readFileSync(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

function threadName(statPath: string): string {
  try {
    const stat = readFileSync(statPath, 'utf8');
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  } catch {
    return '';
  }
}

/** Which part of a process a thread is, by the name Linux keeps (15 characters). */
function threadRole(impl: Impl, pid: number, tid: number, name: string): string {
  if (impl !== 'kstreams') return tid === pid ? 'main' : /^V8/.test(name) ? 'v8-workers' : 'other';
  if (name.startsWith('k-StreamThread')) return 'stream';
  if (name.startsWith('kafka-producer')) return 'producer';
  if (/Compiler/.test(name)) return 'jit';
  if (/^(G1|GC|VM Thread|VM Periodic)/.test(name)) return 'gc+vm';
  return 'other';
}

interface CpuSample {
  at: number;
  process: number;
  threads: Record<string, number>;
  broker: number;
}

function sampleCpu(impl: Impl, pid: number, brokerPid: number): CpuSample {
  const threads: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
      const path = `/proc/${pid}/task/${tid}/stat`;
      const role = threadRole(impl, pid, tid, threadName(path));
      threads[role] = (threads[role] ?? 0) + cpuSeconds(path);
    }
  } catch {
    // The process is gone: its threads read as nothing.
  }
  return { at: performance.now(), process: cpuSeconds(`/proc/${pid}/stat`), threads, broker: cpuSeconds(`/proc/${brokerPid}/stat`) };
}

/** CPU seconds between two samples. A thread that ended between them is counted in the process, not in its role. */
function cpuBetween(a: CpuSample, b: CpuSample) {
  const threads: Record<string, number> = {};
  for (const role of new Set([...Object.keys(a.threads), ...Object.keys(b.threads)])) threads[role] = round3(Math.max(0, (b.threads[role] ?? 0) - (a.threads[role] ?? 0)));
  return { seconds: round3((b.at - a.at) / 1000), process: round3(b.process - a.process), threads, broker: round3(b.broker - a.broker) };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

// ---------------------------------------------------------------------------------------
// The implementations as child processes, driven over stdin

interface Stats {
  transactions: number;
  /** Kafka Streams only: seconds its producer spent in sendOffsetsToTransaction + commitTransaction. */
  commitSeconds?: number;
}

class ImplProcess {
  private readonly waiting: Array<(line: Record<string, unknown>) => void> = [];
  readonly exited: Promise<number | null>;
  readonly launchedAt = performance.now();

  private constructor(
    readonly impl: Impl,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{"kind":')) return;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.kind === 'stats') this.waiting.shift()?.(parsed);
    });
  }

  static start(impl: Impl, spec: { brokers: string[]; registryUrl: string; applicationId: string; topics: Record<TopicRole, string>; config: Config }, logFile: string): ImplProcess {
    let child: ChildProcess;
    if (impl !== 'kstreams') {
      const arg = JSON.stringify({ brokers: spec.brokers, registryUrl: spec.registryUrl, applicationId: spec.applicationId, topics: spec.topics });
      const root = impl === 'before' ? (BEFORE_ROOT as string) : REPO_ROOT;
      child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'feedback-slice.ts'), arg], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    } else {
      const c = spec.config;
      const arg = JSON.stringify({
        bootstrap: spec.brokers.join(','),
        registryUrl: spec.registryUrl,
        applicationId: spec.applicationId,
        store: KSTREAMS_STORE,
        stateDir: KSTREAMS_STATE_DIR,
        topics: { dispatch: spec.topics['job-dispatch'], outcome: spec.topics['job-outcome'], labels: spec.topics['relevance-labels'], dlq: spec.topics.dlq },
        // The project's own settings, so both apply the same rules.
        options: { ...c.feedback, graceMs: c.streams.graceMs, punctuateIntervalMs: c.streams.punctuateIntervalMs, ...c.validation },
      });
      const classpath = `${KSTREAMS_JAR}:${join(KSTREAMS_DIR, 'lib')}/*`;
      child = spawn(findJava(17), ['-Xms256m', '-Xmx768m', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, 'artenic.bench.kstreams.FeedbackStreams', `--config=${arg}`], {
        cwd: REPO_ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    }
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stderr!.pipe(log);
    // If this script dies, the child must not outlive it.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.removeListener('exit', reap));
    return new ImplProcess(impl, child);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stats(timeoutMs = 10_000): Promise<Stats> {
    if (!this.alive) throw new Error(`${this.impl} exited (${this.child.exitCode ?? this.child.signalCode}) before answering stats`);
    return new Promise<Stats>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.impl} did not answer stats within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((line) => {
        clearTimeout(timer);
        resolve({ transactions: Number(line.transactions), ...(line.commitNanos === undefined ? {} : { commitSeconds: Number(line.commitNanos) / 1e9 }) });
      });
      this.child.stdin!.write('stats\n');
    });
  }

  /** Asks for a clean stop (commit, leave the group); SIGKILL if it does not exit in time. */
  async stop(timeoutMs = 45_000): Promise<{ code: number | null; clean: boolean }> {
    if (!this.alive) return { code: this.child.exitCode, clean: false };
    this.child.kill('SIGCONT');
    this.child.stdin!.end('stop\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return { code, clean: code === 0 };
  }
}

interface DrainResult {
  /** Launch (cold) or SIGCONT (warm) to the first committed offset past the base. */
  startupMs: number;
  /** First committed offset past the base to the last: the steady state. */
  steadyMs: number;
  /** Events committed within the steady window. */
  steadyEvents: number;
  eventsPerSecond: number;
  cpu: ReturnType<typeof cpuBetween>;
  transactions: number;
  /** Kafka Streams only: seconds the stream thread waited in commits during the steady state. */
  commitSeconds?: number;
}

/**
 * Waits until the group has committed `target` input offsets and every repartition topic is
 * drained; times the steady state from the first commit past `base`.
 */
async function drain(p: ImplProcess, admin: Admin, groupId: string, inputs: readonly string[], base: number, target: number, startedAt: number, brokerPid: number): Promise<DrainResult> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let first: { at: number; committed: number; cpu: CpuSample; stats: Stats } | undefined;
  for (;;) {
    if (!p.alive) throw new Error(`${p.impl} exited (${p.child.exitCode ?? p.child.signalCode}) while draining; see its log in bench/results`);
    if (Date.now() > deadline) throw new Error(`${p.impl} did not drain ${target - base} events within ${DRAIN_TIMEOUT_MS / 1000} s`);
    const done = await committedOffsets(admin, groupId, inputs);
    if (first === undefined && done > base) first = { at: performance.now(), committed: done, cpu: sampleCpu(p.impl, p.pid, brokerPid), stats: await p.stats() };
    if (done >= target) {
      // Anything the application repartitioned must be consumed and committed too.
      while (!(await repartitionsDrained(admin, groupId))) {
        if (Date.now() > deadline) throw new Error(`${p.impl}: repartition topics of ${groupId} did not drain`);
        await sleep(POLL_MS);
      }
      const end = sampleCpu(p.impl, p.pid, brokerPid);
      const stats = await p.stats();
      const f = first as NonNullable<typeof first>;
      const steadyMs = end.at - f.at;
      const steadyEvents = target - f.committed;
      return {
        startupMs: Math.round(f.at - startedAt),
        steadyMs: Math.round(steadyMs),
        steadyEvents,
        eventsPerSecond: steadyMs > 0 ? Math.round((steadyEvents / steadyMs) * 1000) : Number.NaN,
        cpu: cpuBetween(f.cpu, end),
        transactions: stats.transactions - f.stats.transactions,
        ...(stats.commitSeconds === undefined ? {} : { commitSeconds: round3(stats.commitSeconds - (f.stats.commitSeconds ?? 0)) }),
      };
    }
    await sleep(POLL_MS);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// Input

interface Backlog {
  events: number;
  /** Job ids that get a label (every job but the cancelled ones). */
  labelled: Set<string>;
}

async function publishBacklog(publisher: Publisher, seed: number, startMs: number): Promise<Backlog> {
  const generator = new EventGenerator({ seed, runId: `bench-${seed}` });
  const labelled = new Set<string>();
  for (let i = 0; i < JOBS; i += 1000) {
    const jobs = Array.from({ length: Math.min(1000, JOBS - i) }, (_, k) => generator.job(startMs + (i + k) * 1000));
    for (const j of jobs) if (j.outcome.status !== 'CANCELLED') labelled.add(j.dispatch.job_id);
    await publisher.addJobs(jobs);
    await publisher.flush();
  }
  return { events: 2 * JOBS, labelled };
}

// ---------------------------------------------------------------------------------------
// Latency at steady loads

interface LoadResult {
  offeredEventsPerSecond: number;
  /** What the publisher achieved over the measured window (it catches up after a slow tick). */
  sentEventsPerSecond: number;
  labels: number;
  /** Labels due for the jobs published in the window (cancelled jobs get none). */
  expectedLabels: number;
  p50Ms: number;
  p99Ms: number;
  transactionsPerSecond: number;
  recordsPerTransaction: number;
  processCpuPercent: number;
  brokerCpuPercent: number;
  threads: Record<string, number>;
  /** Kafka Streams only: ms its stream thread waited per commit. */
  commitMsPerTransaction?: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

async function latencies(p: ImplProcess, brokers: string[], serde: TopicSerde, publisher: Publisher, labelsTopic: string, groupSuffix: string, brokerPid: number): Promise<LoadResult[]> {
  const observed: number[] = [];
  let measuringFrom = Number.POSITIVE_INFINITY;
  const reader = new Kafka({ clientId: 'bench-lat', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `bench-lat-${groupSuffix}`, readUncommitted: false, maxWaitTimeInMs: 20 });
  const joined = new Promise<void>((r) => reader.on(reader.events.GROUP_JOIN, () => r()));
  await reader.connect();
  await reader.subscribe({ topic: labelsTopic, fromBeginning: false });
  void reader.run({
    eachMessage: async ({ message }) => {
      const label = (await serde.decode('relevance-labels', message.value, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as { event_time: number };
      if (label.event_time >= measuringFrom) observed.push(Date.now() - label.event_time);
    },
  });
  await joined;
  await sleep(1_000);
  const generator = new EventGenerator({ seed: 2, runId: 'live' });
  const results: LoadResult[] = [];
  try {
    for (const rate of LATENCY_RATES) {
      observed.length = 0;
      const tickMs = 100;
      const startedAt = Date.now();
      const leadInUntil = startedAt + LEAD_IN_MS;
      const until = leadInUntil + LATENCY_SECONDS * 1000;
      let cpuFrom: CpuSample | undefined;
      let statsFrom: Stats | undefined;
      let sent = 0;
      let measuredJobs = 0;
      let expectedLabels = 0;
      while (Date.now() < until) {
        const tick = Date.now();
        if (cpuFrom === undefined && tick >= leadInUntil) {
          measuringFrom = tick;
          cpuFrom = sampleCpu(p.impl, p.pid, brokerPid);
          statsFrom = await p.stats();
        }
        // Open loop: every job due by now goes out, so a slow tick does not lower the offered rate.
        const due = Math.floor(((tick - startedAt) / 1000) * rate) + 1 - sent;
        for (let k = 0; k < due; k++) {
          const now = Date.now();
          const job = generator.job(now - 3_600_000);
          await publisher.add('job-dispatch', job.dispatch.job_id, job.dispatch);
          await publisher.add('job-outcome', job.outcome.job_id, { ...job.outcome, event_time: now });
          sent++;
          if (cpuFrom !== undefined) {
            measuredJobs++;
            if (job.outcome.status !== 'CANCELLED') expectedLabels++;
          }
        }
        await publisher.flush();
        const wait = tickMs - (Date.now() - tick);
        if (wait > 0) await sleep(wait);
      }
      const cpuTo = sampleCpu(p.impl, p.pid, brokerPid);
      const statsTo = await p.stats();
      // Every label of the window, however late (up to a bound), so the p99 leaves none out.
      const waitUntil = Date.now() + 30_000;
      while (observed.length < expectedLabels && Date.now() < waitUntil) await sleep(50);
      measuringFrom = Number.POSITIVE_INFINITY;
      const cpu = cpuBetween(cpuFrom as CpuSample, cpuTo);
      const sorted = [...observed].sort((a, b) => a - b);
      const transactions = statsTo.transactions - (statsFrom as Stats).transactions;
      const events = 2 * measuredJobs;
      results.push({
        offeredEventsPerSecond: 2 * rate,
        sentEventsPerSecond: Math.round(events / cpu.seconds),
        labels: sorted.length,
        expectedLabels,
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        transactionsPerSecond: round1(transactions / cpu.seconds),
        recordsPerTransaction: transactions > 0 ? round1(events / transactions) : Number.NaN,
        processCpuPercent: round1((100 * cpu.process) / cpu.seconds),
        brokerCpuPercent: round1((100 * cpu.broker) / cpu.seconds),
        threads: Object.fromEntries(Object.entries(cpu.threads).map(([k, v]) => [k, round1((100 * v) / cpu.seconds)])),
        ...(statsTo.commitSeconds === undefined || transactions === 0 ? {} : { commitMsPerTransaction: round1((1000 * (statsTo.commitSeconds - ((statsFrom as Stats).commitSeconds ?? 0))) / transactions) }),
      });
      console.error(`  ${p.impl} at ${2 * rate} events/s (sent ${Math.round(events / cpu.seconds)}/s, ${sorted.length} of ${expectedLabels} labels): p50 ${quantile(sorted, 0.5)} ms, p99 ${quantile(sorted, 0.99)} ms, ${round1(transactions / cpu.seconds)} transactions/s`);
    }
  } finally {
    await reader.disconnect();
  }
  return results;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

// ---------------------------------------------------------------------------------------
// Labels compared byte for byte

async function readLabels(brokers: string[], topic: string, keys: Set<string>, timeoutMs = 120_000): Promise<Map<string, Buffer[]>> {
  const byKey = new Map<string, Buffer[]>();
  let found = 0;
  const consumer = new Kafka({ clientId: 'bench-labels', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `bench-labels-${topic}-${Date.now()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const key = m.key?.toString() ?? '';
          if (!keys.has(key) || !m.value) continue;
          const list = byKey.get(key) ?? [];
          if (list.length === 0) found++;
          list.push(m.value.subarray(5));
          byKey.set(key, list);
        }
        if (found >= keys.size) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return byKey;
}

/** A key is identical when every implementation wrote exactly one label for it, the same bytes. */
function compareLabels(expected: Set<string>, byImpl: Partial<Record<Impl, Map<string, Buffer[]>>>) {
  const maps = Object.values(byImpl);
  let identical = 0;
  let duplicated = 0;
  const differing: string[] = [];
  // Per implementation, the keys whose one label equals Kafka Streams' (a checkout from before a
  // change of the records' meaning may differ from both while the other two agree).
  const sameAsKstreams: Partial<Record<Impl, number>> = {};
  const reference = byImpl.kstreams;
  for (const key of expected) {
    const lists = maps.map((m) => m.get(key) ?? []);
    if (lists.some((l) => l.length > 1)) duplicated++;
    const first = lists[0]?.[0];
    if (first && lists.every((l) => l.length === 1 && (l[0] as Buffer).equals(first))) identical++;
    else if (differing.length < 5) differing.push(key);
    const ref = reference?.get(key);
    for (const [impl, m] of Object.entries(byImpl) as Array<[Impl, Map<string, Buffer[]>]>) {
      const mine = m.get(key);
      if (ref?.length === 1 && mine?.length === 1 && (mine[0] as Buffer).equals(ref[0] as Buffer)) sameAsKstreams[impl] = (sameAsKstreams[impl] ?? 0) + 1;
    }
  }
  const labels = Object.fromEntries(Object.entries(byImpl).map(([impl, m]) => [impl, m.size]));
  return { expected: expected.size, identical, duplicated, labels, differing, sameAsKstreams };
}

// ---------------------------------------------------------------------------------------
// One implementation, one repetition: cold drain, warm drain, latency

interface ImplRun {
  impl: Impl;
  rep: number;
  cold: DrainResult;
  warm: DrainResult;
  loads: LoadResult[];
  stop: { code: number | null; clean: boolean };
  labelsTopic: string;
  labelled: Set<string>;
  rawBaselines?: { consumeOnly: RawConsumeResult; avroDecode: RawConsumeResult };
}

async function runImpl(impl: Impl, rep: number, first: boolean, env: { brokers: string[]; registryUrl: string; brokerPid: number; admin: Admin }): Promise<ImplRun> {
  const suffix = `${impl}-${rep}-${Date.now().toString(36)}`;
  const topics = Object.fromEntries(TOPIC_ROLES.map((r) => [r, `${r}-${suffix}`])) as Record<TopicRole, string>;
  const applicationId = `bench-${suffix}`;
  const config = loadConfig({ env: {}, overrides: { kafka: { brokers: env.brokers, applicationId }, registry: { url: env.registryUrl }, topics, log: { level: 'warn' } } });
  // Logs to stderr: stdout carries the Markdown.
  const logger = pino({ name: 'bench', level: 'warn' }, pino.destination(2));
  const kafka = createKafka(config, logger);
  const serde = new TopicSerde(createRegistry({ url: env.registryUrl, username: null, password: null }), topics);
  // Another checkout registers its own schemas: its outputs' subjects are left to it (an older
  // version's schema registered after this one's may not be BACKWARD-compatible with it).
  await serde.registerAll(impl === 'before' ? ['job-dispatch', 'job-outcome'] : undefined);
  await ensureTopics(kafka, config, []);
  const publisher = await Publisher.connect(createKafka(config, logger, '-bench'), serde, topics);
  const inputs = [topics['job-dispatch'], topics['job-outcome']];
  try {
    const start = Date.UTC(2026, 9, 1);
    const b1 = await publishBacklog(publisher, 1, start);
    const end1 = await endOffsets(env.admin, inputs);
    let rawBaselines: ImplRun['rawBaselines'];
    if (first) {
      // The order alternates too: the first consumer of a fresh topic warms the page cache and the JIT for the second.
      const decoder = await avroDecoder(serde, ['job-dispatch', 'job-outcome']);
      const consumeOnlyFirst = rep % 2 === 1;
      const a = await rawKafkajsConsume(env.brokers, inputs, b1.events, consumeOnlyFirst ? null : decoder);
      const b = await rawKafkajsConsume(env.brokers, inputs, b1.events, consumeOnlyFirst ? decoder : null);
      rawBaselines = consumeOnlyFirst ? { consumeOnly: a, avroDecode: b } : { consumeOnly: b, avroDecode: a };
      console.error(`  raw kafkajs: ${rawBaselines.consumeOnly.eventsPerSecond} events/s consume-only, ${rawBaselines.avroDecode.eventsPerSecond} with Avro decoding`);
    }
    const logFile = join(RESULTS_DIR, `feedback-vs-kstreams-${suffix}.log`);
    const p = ImplProcess.start(impl, { brokers: env.brokers, registryUrl: env.registryUrl, applicationId, topics, config }, logFile);
    try {
      const startDeadline = setTimeout(() => p.child.kill('SIGKILL'), START_TIMEOUT_MS + DRAIN_TIMEOUT_MS);
      const cold = await drain(p, env.admin, applicationId, inputs, 0, end1, p.launchedAt, env.brokerPid);
      clearTimeout(startDeadline);
      console.error(`  ${impl} cold: ${cold.eventsPerSecond} events/s (start-up ${cold.startupMs} ms), ${cold.transactions} transactions`);

      // Warm: the same process, stopped while a second backlog (later event times) is published.
      p.child.kill('SIGSTOP');
      let b2: Backlog;
      try {
        b2 = await publishBacklog(publisher, 3, start + JOBS * 1000);
      } finally {
        p.child.kill('SIGCONT');
      }
      const resumedAt = performance.now();
      const end2 = await endOffsets(env.admin, inputs);
      const warm = await drain(p, env.admin, applicationId, inputs, end1, end2, resumedAt, env.brokerPid);
      console.error(`  ${impl} warm: ${warm.eventsPerSecond} events/s, ${warm.transactions} transactions`);

      const loads = await latencies(p, env.brokers, serde, publisher, topics['relevance-labels'], suffix, env.brokerPid);
      const stop = await p.stop();
      if (!stop.clean) console.error(`  ${impl} did not stop cleanly (exit ${stop.code}); see ${logFile}`);
      return { impl, rep, cold, warm, loads, stop, labelsTopic: topics['relevance-labels'], labelled: new Set([...b1.labelled, ...b2.labelled]), rawBaselines };
    } finally {
      if (p.alive) {
        p.child.kill('SIGCONT');
        p.child.kill('SIGKILL');
      }
    }
  } finally {
    await publisher.close();
  }
}

// ---------------------------------------------------------------------------------------
// Summary

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const range = (xs: number[], digits = 0) => {
  const s = xs.filter((x) => Number.isFinite(x));
  return s.length === 0 ? 'n/a' : `${fmt(Math.min(...s), digits)}–${fmt(Math.max(...s), digits)}`;
};

/** CPU-s of the threads that do the work: Java's stream + producer threads, Node's main thread. */
function workingSeconds(r: DrainResult, impl: Impl): number {
  const t = r.cpu.threads;
  return impl === 'kstreams' ? (t.stream ?? 0) + (t.producer ?? 0) : (t.main ?? 0);
}

function summarise(runs: ImplRun[], checks: Array<ReturnType<typeof compareLabels>>, meta: { machine: string; date: string; loadBefore: number[]; loadAfter: number[] }): string {
  const lines: string[] = [];
  const by = (impl: Impl) => runs.filter((r) => r.impl === impl);
  const raw = runs.filter((r) => r.rawBaselines).map((r) => r.rawBaselines as NonNullable<ImplRun['rawBaselines']>);
  const rawDecode = median(raw.map((b) => b.avroDecode.eventsPerSecond));
  lines.push(
    `Machine: ${meta.machine}; ${meta.date}; load average (1/5/15 min) ${meta.loadBefore.map((x) => x.toFixed(2)).join(' / ')} at the start, ${meta.loadAfter.map((x) => x.toFixed(2)).join(' / ')} at the end. ${REPS} repetitions, the order rotating; medians, with the range over repetitions in brackets. Backlog: ${fmt(2 * JOBS)} events (${fmt(JOBS)} dispatch + ${fmt(JOBS)} outcome), 4 partitions, one local broker; Kafka Streams store: ${KSTREAMS_STORE}, exactly_once_v2, one stream thread.`,
    '',
    '| backlog drain (steady state) | cold events/s | warm events/s | warm vs raw + Avro | cold start-up (s) |',
    '|---|---:|---:|---:|---:|',
  );
  for (const impl of IMPLS) {
    const rs = by(impl);
    const warm = median(rs.map((r) => r.warm.eventsPerSecond));
    lines.push(
      `| ${IMPL_NAME[impl]} | ${fmt(median(rs.map((r) => r.cold.eventsPerSecond)))} (${range(rs.map((r) => r.cold.eventsPerSecond))}) | ${fmt(warm)} (${range(rs.map((r) => r.warm.eventsPerSecond))}) | ${fmt(warm / rawDecode, 2)} | ${fmt(median(rs.map((r) => r.cold.startupMs / 1000)), 1)} |`,
    );
  }
  lines.push(
    `| raw kafkajs consumer, consume-only | ${fmt(median(raw.map((b) => b.consumeOnly.eventsPerSecond)))} (${range(raw.map((b) => b.consumeOnly.eventsPerSecond))}) | | | |`,
    `| raw kafkajs consumer + Avro decoding (avsc, no validation) | ${fmt(rawDecode)} (${range(raw.map((b) => b.avroDecode.eventsPerSecond))}) | | 1.00 | |`,
    '',
    '| cost per event, cold / warm | events per CPU-s, process | events per CPU-s, working threads | transactions per 1,000 events | broker CPU µs per event |',
    '|---|---:|---:|---:|---:|',
  );
  const perCpu = (events: number, seconds: number) => (seconds > 0 ? events / seconds : Number.NaN);
  for (const impl of IMPLS) {
    const rs = by(impl);
    const both = (f: (d: DrainResult) => number, digits = 0) => `${fmt(median(rs.map((r) => f(r.cold))), digits)} / ${fmt(median(rs.map((r) => f(r.warm))), digits)}`;
    lines.push(
      `| ${IMPL_NAME[impl]} | ${both((d) => perCpu(d.steadyEvents, d.cpu.process))} | ${both((d) => perCpu(d.steadyEvents, workingSeconds(d, impl)))} | ${both((d) => (1000 * d.transactions) / d.steadyEvents, 2)} | ${both((d) => (1e6 * d.cpu.broker) / d.steadyEvents)} |`,
    );
  }
  lines.push(
    `| raw kafkajs consumer, consume-only / + Avro decoding | ${fmt(median(raw.map((b) => b.consumeOnly.eventsPerCpuSecond)))} / ${fmt(median(raw.map((b) => b.avroDecode.eventsPerCpuSecond)))} | | | |`,
    '',
    "Steady state: from the first committed offset to the last (the implementations; start-up is launch, or SIGCONT when warm, to that first commit), from joining the group to the last record (the raw consumers). Working threads: Kafka Streams' stream thread plus its producer's I/O thread; the Node process's main thread. CPU over the steady state of each drain, from /proc/<pid>/stat and /proc/<pid>/task/*/stat (by thread name); the raw consumers' is the bench process's own while it consumed.",
    '',
  );
  for (const impl of IMPLS) {
    const rs = by(impl);
    const roles = [...new Set(rs.flatMap((r) => [...Object.keys(r.cold.cpu.threads), ...Object.keys(r.warm.cpu.threads)]))].sort();
    const list = (f: (r: ImplRun) => DrainResult) => roles.map((role) => `${role} ${fmt(median(rs.map((r) => f(r).cpu.threads[role] ?? 0)), 2)}`).join(', ');
    lines.push(`${IMPL_NAME[impl]}, CPU-s by thread over the drain (median): cold ${list((r) => r.cold)} (process ${fmt(median(rs.map((r) => r.cold.cpu.process)), 2)}); warm ${list((r) => r.warm)} (process ${fmt(median(rs.map((r) => r.warm.cpu.process)), 2)}).`, '');
  }
  lines.push(
    `Latency, outcome published -> label visible (read_committed), ${LATENCY_SECONDS} s per load after a ${LEAD_IN_MS / 1000} s lead-in; medians over repetitions:`,
    '',
    '| offered events/s | implementation | sent events/s | labels (of due) | p50 (ms) | p99 (ms) | p99 range (ms) | transactions/s | input records per transaction | process CPU % | broker CPU % |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const [i, rate] of LATENCY_RATES.entries()) {
    for (const impl of IMPLS) {
      const ls = by(impl).map((r) => r.loads[i] as LoadResult);
      lines.push(
        `| ${fmt(2 * rate)} | ${IMPL_NAME[impl]} | ${fmt(median(ls.map((l) => l.sentEventsPerSecond)))} | ${fmt(median(ls.map((l) => l.labels)))} (${fmt(median(ls.map((l) => l.expectedLabels)))}) | ${fmt(median(ls.map((l) => l.p50Ms)))} | ${fmt(median(ls.map((l) => l.p99Ms)))} | ${range(ls.map((l) => l.p99Ms))} | ${fmt(median(ls.map((l) => l.transactionsPerSecond)), 1)} | ${fmt(median(ls.map((l) => l.recordsPerTransaction)), 1)} | ${fmt(median(ls.map((l) => l.processCpuPercent)))} | ${fmt(median(ls.map((l) => l.brokerCpuPercent)))} |`,
      );
    }
  }
  const ksRuns = by('kstreams');
  lines.push(
    '',
    `Kafka Streams' stream thread waited in sendOffsetsToTransaction + commitTransaction for ${fmt(median(ksRuns.map((r) => (100 * (r.warm.commitSeconds ?? Number.NaN)) / r.warm.cpu.seconds)))}% of the warm drain's wall time, and ${LATENCY_RATES.map((rate, i) => `${fmt(median(ksRuns.map((r) => r.loads[i]?.commitMsPerTransaction ?? Number.NaN)), 1)} ms per transaction at ${fmt(2 * rate)} events/s`).join(', ')} (medians).`,
  );
  const identical = checks.reduce((s, c) => s + c.identical, 0);
  const expected = checks.reduce((s, c) => s + c.expected, 0);
  lines.push(
    '',
    `Labels, byte for byte (key and Avro body after the wire-format header), over both backlogs of every repetition: **${fmt(identical)} of ${fmt(expected)} identical** across ${IMPLS.map((i) => IMPL_NAME[i]).join(', ')}${checks.some((c) => c.duplicated > 0) ? `; ${checks.reduce((s, c) => s + c.duplicated, 0)} keys had more than one label` : ''}.`,
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------

function checkPrerequisites(): void {
  try {
    findJava(17);
  } catch (err) {
    throw new Error(`Kafka Streams peer: ${(err as Error).message}`);
  }
  if (!existsSync(KSTREAMS_JAR) || !existsSync(join(KSTREAMS_DIR, 'lib'))) {
    throw new Error(`Kafka Streams peer not built: ${KSTREAMS_JAR} is missing. Run \`make kstreams-peer\` (needs Maven and Java 17) first.`);
  }
  if (BEFORE_ROOT !== undefined && !existsSync(join(BEFORE_ROOT, 'bench', 'feedback-slice.ts'))) throw new Error(`BENCH_BEFORE_ROOT: no bench/feedback-slice.ts under ${BEFORE_ROOT}`);
}

async function main(): Promise<void> {
  checkPrerequisites();
  // Interrupted, still leave nothing running: exiting runs the handlers that kill the broker,
  // the registry and the implementations' processes (each child also stops when its stdin closes).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  mkdirSync(RESULTS_DIR, { recursive: true });
  const loadBefore = loadavg();
  const date = new Date().toISOString();
  const kafkaService = await startKafka();
  let registryService: Awaited<ReturnType<typeof startRegistry>> | undefined;
  try {
    registryService = await startRegistry();
    const brokers = kafkaService.brokers;
    const admin = new Kafka({ clientId: 'bench-admin', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const env = { brokers, registryUrl: registryService.url, brokerPid: kafkaService.process.pid as number, admin };
    const runs: ImplRun[] = [];
    const checks: Array<ReturnType<typeof compareLabels>> = [];
    try {
      for (let rep = 1; rep <= REPS; rep++) {
        // The order rotates, so each implementation runs first (cold page cache, lone JIT) as often.
        const order = IMPLS.map((_, i) => IMPLS[(i + rep - 1) % IMPLS.length] as Impl);
        console.error(`repetition ${rep} of ${REPS}: ${order.join(', ')}`);
        const these: ImplRun[] = [];
        for (const [i, impl] of order.entries()) these.push(await runImpl(impl, rep, i === 0, env));
        runs.push(...these);
        const labels: Partial<Record<Impl, Map<string, Buffer[]>>> = {};
        for (const r of IMPLS.map((impl) => these.find((t) => t.impl === impl) as ImplRun)) labels[r.impl] = await readLabels(brokers, r.labelsTopic, r.labelled);
        const check = compareLabels((these[0] as ImplRun).labelled, labels);
        checks.push(check);
        const pairs = Object.entries(check.sameAsKstreams).filter(([impl]) => impl !== 'kstreams').map(([impl, n]) => `${impl} ${n}`).join(', ');
        console.error(`  labels: ${check.identical} of ${check.expected} identical (equal to Kafka Streams': ${pairs})${check.differing.length ? `; differing keys e.g. ${check.differing.join(', ')}` : ''}`);
      }
    } finally {
      await admin.disconnect();
    }
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    const meta = { machine, date, loadBefore, loadAfter: loadavg() };
    const strip = (r: ImplRun) => ({ ...r, labelled: r.labelled.size });
    writeFileSync(join(RESULTS_DIR, 'feedback-vs-kstreams.json'), JSON.stringify({ ...meta, reps: REPS, jobs: JOBS, latencySeconds: LATENCY_SECONDS, kstreamsStore: KSTREAMS_STORE, runs: runs.map(strip), checks }, null, 2));
    console.log(summarise(runs, checks, meta));
    if (checks.some((c) => c.identical !== c.expected)) {
      throw new Error(`labels differ between ${IMPLS.map((i) => IMPL_NAME[i]).join(', ')}: see bench/results/feedback-vs-kstreams.json`);
    }
  } finally {
    await registryService?.stop();
    await kafkaService.stop();
    rmSync(KSTREAMS_STATE_DIR, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
