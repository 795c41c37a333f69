/**
 * Where the feedback slice's main-thread time goes: bench/feedback-slice.ts run under
 * `node --cpu-prof` over a backlog, as bench/feedback-vs-kstreams.ts drains it (one local
 * broker and registry, fresh topics, BENCH_JOBS jobs = 2 events each). Cold: a fresh process
 * drains the first backlog; warm: the same process, stopped (SIGSTOP) while a second backlog
 * is published, drains it after SIGCONT. Each steady window runs from the group's first
 * committed offset past the previous end to the last, as in the bench; the profile's samples
 * are cut to those windows by their timestamps (V8's and process.hrtime are both
 * CLOCK_MONOTONIC). Prints Markdown: self time by bucket (package or source folder, GC,
 * idle) and the top functions by self time, per window; keeps the .cpuprofile under
 * bench/results/profile-slice/.
 *
 * BENCH_TOPOLOGY=feedback,full runs the service's whole topology (every processor of
 * app/topology.ts; bench/feedback-slice.ts with `"topology": "full"`) beside the slice, each in
 * a child process of its own and drained the same way over the same backlog (fresh topics per
 * run, the catalog published first), BENCH_REPS repetitions with the order rotating: a table of
 * events/s per repetition, their ratio (the second topology over the first) and the medians;
 * the profiles, when on, per run.
 *
 * Usage: npx tsx bench/profile-slice.ts (BENCH_JOBS, default 20,000; BENCH_PROFILE_INTERVAL_US,
 * default 1,000; BENCH_CPU_PROF=0: no profiler, the drain rates and main-thread CPU only, a
 * reference for another bench in the same session; BENCH_TOPOLOGY, default feedback: a
 * comma-separated list of feedback and full; BENCH_REPS, default 1; BENCH_WARM=0: the cold
 * drain only; BENCH_CATALOG=0: no catalog, as bench/feedback-e2e.ts publishes none;
 * BENCH_TRAINER=thread: the full topology trains in its main thread, as a replay and
 * bench/feedback-e2e.ts do, rather than in the service's training worker); BENCH_SLICE_ROOT: the
 * checkout whose feedback slice runs as `feedback`, this one by default; BENCH_COUNT_REQUESTS=1:
 * each child's Kafka requests by apiName per committed transaction (EndTxn), over the whole run,
 * from bench/countRequests.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { loadConfig } from '../config/options.ts';
import { REPO_ROOT, startKafka, startRegistry } from '../infra/local/localStack.ts';
import { TOPIC_ROLES, type TopicRole } from '../schemas/catalog.ts';
import { EventGenerator } from '../simulate/generator.ts';
import { Publisher } from '../simulate/publisher.ts';
import { ensureTopics } from '../topology/admin.ts';
import { createKafka } from '../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../topology/serde.ts';
import { committedOffsets, endOffsets, repartitionsDrained } from './kafkaBench.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const INTERVAL_US = Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 1_000);
const PROFILE = process.env.BENCH_CPU_PROF !== '0';
const SLICE_ROOT = process.env.BENCH_SLICE_ROOT || REPO_ROOT;
const COUNT_REQUESTS = process.env.BENCH_COUNT_REQUESTS === '1';
const OUT_DIR = join(REPO_ROOT, 'bench', 'results', 'profile-slice');
const DRAIN_TIMEOUT_MS = 10 * 60_000;
const TOP = 25;
/** Which topologies run, in this order in the first repetition (it rotates). */
const TOPOLOGIES = (process.env.BENCH_TOPOLOGY ?? 'feedback').split(',').map((t) => t.trim()) as Array<'feedback' | 'full' | 'full-before'>;
for (const t of TOPOLOGIES) if (t !== 'feedback' && t !== 'full' && t !== 'full-before') throw new Error(`BENCH_TOPOLOGY: unknown topology ${t}`);
/** Another checkout (with node_modules, schemas/generated and this bench/feedback-slice.ts in place) whose full topology runs as `full-before`. */
const BEFORE_ROOT = process.env.BENCH_BEFORE_ROOT || undefined;
if (TOPOLOGIES.includes('full-before') && !BEFORE_ROOT) throw new Error('BENCH_TOPOLOGY full-before needs BENCH_BEFORE_ROOT');
const REPS = Number(process.env.BENCH_REPS ?? 1);
const WARM = process.env.BENCH_WARM !== '0';
const CATALOG = process.env.BENCH_CATALOG !== '0';
const TRAINER = process.env.BENCH_TRAINER === 'thread' ? 'thread' : 'worker';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CLOCK_MONOTONIC in µs, the clock of a .cpuprofile's timestamps. */
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

interface Window {
  name: string;
  fromUs: number;
  toUs: number;
  events: number;
  /** CPU-s of the slice's main thread over the window, from /proc (the profile's samples are wall time). */
  mainCpuS: number;
  /** CPU-s of the whole process (every thread: V8's workers, a training worker) over the window. */
  processCpuS: number;
}

/** utime + stime of a thread, in seconds (clock ticks of 10 ms). */
function threadCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function publishBacklog(publisher: Publisher, seed: number, startMs: number): Promise<void> {
  const generator = new EventGenerator({ seed, runId: `prof-${seed}` });
  for (let i = 0; i < JOBS; i += 1000) {
    await publisher.addJobs(Array.from({ length: Math.min(1000, JOBS - i) }, (_, k) => generator.job(startMs + (i + k) * 1000)));
    await publisher.flush();
  }
}

/** Waits for the group to commit `target` input offsets and drain its repartition topics; the steady window from the first commit past `base`. */
async function drain(pid: number, admin: Admin, groupId: string, inputs: string[], base: number, target: number, name: string): Promise<Window> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let first: { us: number; committed: number; cpuS: number; processCpuS: number } | undefined;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${name}: not drained within ${DRAIN_TIMEOUT_MS / 1000} s`);
    // The group's coordinator may still be loading its offsets (GROUP_LOAD_IN_PROGRESS, retriable).
    const done = await committedOffsets(admin, groupId, inputs).catch((err: unknown) => {
      if ((err as { retriable?: boolean }).retriable) return -1;
      throw err;
    });
    if (first === undefined && done > base) first = { us: monoUs(), committed: done, cpuS: threadCpuSeconds(pid), processCpuS: processCpuSeconds(pid) };
    if (done >= target && (await repartitionsDrained(admin, groupId))) {
      const f = first as NonNullable<typeof first>;
      return { name, fromUs: f.us, toUs: monoUs(), events: target - f.committed, mainCpuS: threadCpuSeconds(pid) - f.cpuS, processCpuS: processCpuSeconds(pid) - f.processCpuS };
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------
// The profile

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The bucket of a frame: a package, a folder of this project, node's internals, V8's pseudo-frames. */
function bucket(frame: ProfileNode['callFrame']): string {
  const { functionName: fn, url } = frame;
  if (url === '') {
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(idle)') return 'idle';
    if (fn === '(program)') return '(program): native, not attributed';
    return 'V8 builtins / native';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return 'node internals';
  const own = url.replace(/^file:\/\//, '').startsWith(`${REPO_ROOT}/`) ? url.replace(/^file:\/\//, '').slice(REPO_ROOT.length + 1).split('/') : [];
  // kafkajs' own work, done by this project's replacements of its modules: counted with kafkajs.
  if (own.join('/') === 'topology/kafkajsHotPath.ts') return 'kafkajs';
  // Which processor, which part of the runtime: processors/advisor/ and processors/cost/ by file
  // (processor, trainer, features...; spot, anomalies), the other processors and deeper folders
  // (processors/advisor/ltr/) by folder, topology/ by file and its sub-folders by folder.
  if (own[0] === 'processors' && own.length > 2) return own.length === 3 && (own[1] === 'advisor' || own[1] === 'cost') ? own.join('/') : `${own.slice(0, Math.min(3, own.length - 1)).join('/')}/`;
  if (own[0] === 'topology') return own.length === 2 ? own.join('/') : `${own.slice(0, 2).join('/')}/`;
  if (own.length > 1) return `${own[0]}/`;
  return 'other';
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const pkg = /node_modules\/(.*)$/.exec(url);
  if (pkg) return pkg[1] as string;
  return url.replace(/^file:\/\//, '').replace(`${REPO_ROOT}/`, '').replace(/^node:/, 'node:');
}

function summarise(profile: Profile, w: Window): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** The bucket of the first frame up the stack that is a package's or this project's: who asked for the node internals or builtins. */
  const callerNode = (id: number): ProfileNode | undefined => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at) as ProfileNode;
      const b = bucket(n.callFrame);
      if (b !== 'node internals' && b !== 'V8 builtins / native' && !b.startsWith('(program)')) return n;
    }
    return undefined;
  };
  const caller = (id: number): string => {
    const n = callerNode(id);
    return n ? bucket(n.callFrame) : 'node internals';
  };
  const frameKey = (f: ProfileNode['callFrame']) => `${f.functionName || '(anonymous)'} | ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  /** Node internals' and builtins' self time by the function of ours or a package's that called them. */
  const nativeByCallerFn = new Map<string, { us: number; bucket: string }>();
  const selfByBucket = new Map<string, number>();
  const byCaller = new Map<string, number>();
  const selfByFn = new Map<string, { us: number; bucket: string }>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    // Each sample stands for the time to the next one (as Chrome's DevTools count it), clipped to the window.
    const us = Math.min(t + (profile.timeDeltas[i + 1] ?? 0), w.toUs) - Math.max(t, w.fromUs);
    if (us <= 0) continue;
    const node = byId.get(profile.samples[i] as number) as ProfileNode;
    const b = bucket(node.callFrame);
    const c = caller(node.id);
    byCaller.set(c, (byCaller.get(c) ?? 0) + us);
    if (b === 'node internals' || b === 'V8 builtins / native') {
      const cn = callerNode(node.id);
      const k = cn ? frameKey(cn.callFrame) : '(none)';
      const e = nativeByCallerFn.get(k) ?? { us: 0, bucket: cn ? bucket(cn.callFrame) : '' };
      e.us += us;
      nativeByCallerFn.set(k, e);
    }
    selfByBucket.set(b, (selfByBucket.get(b) ?? 0) + us);
    const key = frameKey(node.callFrame);
    const e = selfByFn.get(key) ?? { us: 0, bucket: b };
    e.us += us;
    selfByFn.set(key, e);
    total += us;
  }
  const idle = selfByBucket.get('idle') ?? 0;
  const busy = total - idle;
  const pct = (us: number) => ((100 * us) / total).toFixed(1);
  const pctBusy = (us: number, b: string) => (b === 'idle' ? '' : ((100 * us) / busy).toFixed(1));
  const lines = [
    `**${w.name}**: ${w.events.toLocaleString('en-US')} events in ${((w.toUs - w.fromUs) / 1e6).toFixed(2)} s wall (${Math.round((w.events * 1e6) / (w.toUs - w.fromUs)).toLocaleString('en-US')} events/s); main thread sampled ${(total / 1e6).toFixed(2)} s, not idle ${(busy / 1e6).toFixed(2)} s (${(busy / w.events).toFixed(1)} µs per event, wall time: includes time runnable but not scheduled), idle ${pct(idle)}%; main thread CPU from /proc ${w.mainCpuS.toFixed(2)} s = **${((w.mainCpuS * 1e6) / w.events).toFixed(1)} CPU-µs per event** (profiler on).`,
    '',
    '| bucket | self ms | self % of non-idle | with the node internals and builtins it called, % of non-idle |',
    '|---|---:|---:|---:|',
  ];
  for (const [b, us] of [...selfByBucket].sort((a, c) => c[1] - a[1])) {
    const withCalls = byCaller.get(b);
    lines.push(`| ${b} | ${Math.round(us / 1000).toLocaleString('en-US')} | ${pctBusy(us, b)} | ${b === 'idle' || withCalls === undefined ? '' : pctBusy(withCalls, b)} |`);
  }
  lines.push('', `| top ${TOP} functions by self time | bucket | ms | % of non-idle |`, '|---|---|---:|---:|');
  for (const [key, e] of [...selfByFn].filter(([, e]) => e.bucket !== 'idle').sort((a, c) => c[1].us - a[1].us).slice(0, TOP)) {
    lines.push(`| \`${key.replace(/\|/g, '\\|')}\` | ${e.bucket} | ${Math.round(e.us / 1000).toLocaleString('en-US')} | ${pctBusy(e.us, e.bucket)} |`);
  }
  lines.push('', '| node internals and builtins, by the function that called them | bucket | ms | % of non-idle |', '|---|---|---:|---:|');
  for (const [key, e] of [...nativeByCallerFn].sort((a, c) => c[1].us - a[1].us).slice(0, 10)) {
    lines.push(`| \`${key.replace(/\|/g, '\\|')}\` | ${e.bucket} | ${Math.round(e.us / 1000).toLocaleString('en-US')} | ${pctBusy(e.us, e.bucket)} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------

type Topology = 'feedback' | 'full' | 'full-before';
const TOPOLOGY_NAME: Record<Topology, string> = {
  feedback: 'feedback slice',
  full: 'full topology',
  'full-before': `full topology, before (${BEFORE_ROOT ? execFileSync('git', ['-C', BEFORE_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim() : ''})`,
};

interface RunResult {
  topology: Topology;
  windows: Window[];
  profileFile?: string;
  exitCode: number | null;
  /** Tasks dropped by the child because a newer owner fenced them (its log's "task migrated" lines). */
  migrated: number;
}

/** utime + stime of a whole process (every thread, the training worker's included), in seconds. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * One child (bench/feedback-slice.ts running `topology`) over fresh topics: the catalog and a
 * backlog published before it starts, a cold drain, then (stopped with SIGSTOP while the second
 * backlog is published) a warm one. The same seeds every time, so every run drains the same events.
 */
async function runOne(ctx: { brokers: string[]; registryUrl: string; logger: Logger }, topology: Topology, tag: string, profile: boolean): Promise<RunResult> {
  const { brokers, registryUrl, logger } = ctx;
  const suffix = `prof-${tag}-${Date.now()}`;
  const topics = Object.fromEntries(TOPIC_ROLES.map((r) => [r, `${r}-${suffix}`])) as Record<TopicRole, string>;
  const applicationId = `bench-${suffix}`;
  const config = loadConfig({ env: {}, overrides: { kafka: { brokers, applicationId }, registry: { url: registryUrl }, topics, log: { level: 'warn' } } });
  const kafka = createKafka(config, logger);
  const serde = new TopicSerde(createRegistry({ url: registryUrl, username: null, password: null }), topics);
  await serde.registerAll();
  await ensureTopics(kafka, config, []);
  const publisher = await Publisher.connect(createKafka(config, logger, '-bench'), serde, topics);
  const admin = new Kafka({ clientId: 'profile-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const outDir = join(OUT_DIR, tag);
  mkdirSync(outDir, { recursive: true });
  const inputs = [topics['job-dispatch'], topics['job-outcome']];
  const start = Date.UTC(2026, 9, 1);
  if (CATALOG) {
    await publisher.addCatalog(start - 60_000);
    await publisher.flush();
  }
  await publishBacklog(publisher, 1, start);
  const end1 = await endOffsets(admin, inputs);
  const arg = JSON.stringify({ brokers, registryUrl, applicationId, topics, topology: topology === 'feedback' ? 'feedback' : 'full', trainer: TRAINER });
  const root = topology === 'full-before' ? (BEFORE_ROOT as string) : topology === 'feedback' ? SLICE_ROOT : REPO_ROOT;
  const profiling = profile ? ['--cpu-prof', `--cpu-prof-dir=${outDir}`, `--cpu-prof-interval=${INTERVAL_US}`] : [];
  const countsFile = join(outDir, 'request-counts.json');
  const counting = COUNT_REQUESTS ? ['--import', join(REPO_ROOT, 'bench', 'countRequests.ts')] : [];
  const spawnedUs = monoUs();
  const child = spawn(process.execPath, [...profiling, '--import', 'tsx', ...counting, join(root, 'bench', 'feedback-slice.ts'), arg], {
    cwd: root,
    stdio: ['pipe', 'ignore', 'pipe'],
    env: COUNT_REQUESTS ? { ...process.env, BENCH_REQUEST_COUNTS_FILE: countsFile } : process.env,
  });
  child.stderr.pipe(createWriteStream(join(outDir, 'child.log')));
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const windows: Window[] = [];
  let exitCode: number | null = null;
  try {
    windows.push(await drain(child.pid as number, admin, applicationId, inputs, 0, end1, 'Cold drain (steady state)'));
    console.error(`${tag}: start-up (launch to the first commit past the backlog's start) ${(((windows[0]?.fromUs ?? Number.NaN) - spawnedUs) / 1e6).toFixed(2)} s; cold ${windows[0]?.events} events, ${rate(windows[0] as Window)} events/s`);
    if (WARM) {
      child.kill('SIGSTOP');
      try {
        await publishBacklog(publisher, 3, start + JOBS * 1000);
      } finally {
        child.kill('SIGCONT');
      }
      const end2 = await endOffsets(admin, inputs);
      windows.push(await drain(child.pid as number, admin, applicationId, inputs, end1, end2, 'Warm drain (steady state)'));
      console.error(`${tag}: warm ${windows[1]?.events} events, ${rate(windows[1] as Window)} events/s`);
    }
  } finally {
    child.stdin.end('stop\n');
    const timer = setTimeout(reap, 60_000);
    exitCode = await exited;
    clearTimeout(timer);
    process.removeListener('exit', reap);
    if (exitCode !== 0) console.error(`${tag}: child exited ${exitCode}; see ${join(outDir, 'child.log')}`);
    if (COUNT_REQUESTS) {
      console.log(`${tag}:`);
      printRequestCounts(countsFile);
    }
    await publisher.close();
    // The run's topics go, so the broker's work for the next run is the same.
    const mine = (await admin.listTopics()).filter((t) => t.endsWith(suffix) || t.startsWith(`${applicationId}-`));
    await admin.deleteTopics({ topics: mine }).catch((err: unknown) => console.error(`${tag}: deleting topics: ${(err as Error).message}`));
    await admin.disconnect();
  }
  // The main thread's profile (a worker thread writes its own: CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile).
  const profileFile = profile ? readdirSync(outDir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f)) : undefined;
  const migrated = readFileSync(join(outDir, 'child.log'), 'utf8').split('task migrated').length - 1;
  return { topology, windows, ...(profileFile ? { profileFile: join(outDir, profileFile) } : {}), exitCode, migrated };
}

const rate = (w: Window) => Math.round((w.events * 1e6) / (w.toUs - w.fromUs));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });
  const loadBefore = loadavg();
  const date = new Date().toISOString();
  const kafkaService = await startKafka();
  let registryService: Awaited<ReturnType<typeof startRegistry>> | undefined;
  try {
    registryService = await startRegistry();
    const ctx = { brokers: kafkaService.brokers, registryUrl: registryService.url, logger: pino({ name: 'profile', level: 'warn' }, pino.destination(2)) };
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    const la = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' / ');
    const setup = `Backlog: ${(2 * JOBS).toLocaleString('en-US')} events per drain (generator seeds 1 then 3)${CATALOG ? ', the catalog published first' : ', no catalog'}; each topology a child process (bench/feedback-slice.ts), the full one training in ${TRAINER === 'thread' ? 'its main thread' : 'the service\'s training worker'}.`;
    const runs: Array<RunResult & { rep: number; load: number[] }> = [];
    for (let rep = 0; rep < REPS; rep++) {
      // The order rotates, so each topology runs first as often (REPS a multiple of their number).
      const order = TOPOLOGIES.map((_, k) => TOPOLOGIES[(k + rep) % TOPOLOGIES.length] as Topology);
      for (const topology of order) {
        const load = loadavg();
        const run = await runOne(ctx, topology, `${rep + 1}-${topology}`, PROFILE);
        runs.push({ ...run, rep, load });
      }
    }
    console.log(`Machine: ${machine}; ${date}; load average (1/5/15 min) ${la(loadBefore)} at the start, ${la(loadavg())} at the end${PROFILE ? `; sampling every ${INTERVAL_US} µs` : '; no profiler'}. ${setup}\n`);
    /** The topologies whose events/s are divided by the first's. */
    const OTHERS = TOPOLOGIES.slice(1);
    const windowNames = [...new Set(runs.flatMap((r) => r.windows.map((w) => w.name)))];
    const cpuPerEvent = (w: Window | undefined) => (w ? ((w.mainCpuS * 1e6) / w.events).toFixed(1) : '');
    console.log('| rep | order | 1-min load at its start | ' + TOPOLOGIES.flatMap((t) => windowNames.map((n) => `${TOPOLOGY_NAME[t]}, ${n.split(' ')[0]?.toLowerCase()} events/s (main-thread CPU-µs/event)`)).join(' | ') + OTHERS.flatMap((t) => windowNames.map((n) => ` | ratio ${TOPOLOGY_NAME[t]} / ${TOPOLOGY_NAME[TOPOLOGIES[0] as Topology]}, ${n.split(' ')[0]?.toLowerCase()}`)).join('') + ' |');
    console.log('|---|---|---|' + TOPOLOGIES.flatMap(() => windowNames.map(() => '---:|')).join('') + OTHERS.flatMap(() => windowNames.map(() => '---:|')).join(''));
    const ratios: number[][] = OTHERS.flatMap(() => windowNames.map(() => []));
    for (let rep = 0; rep < REPS; rep++) {
      const mine = runs.filter((r) => r.rep === rep);
      const cells = TOPOLOGIES.flatMap((t) => windowNames.map((n) => {
        const w = mine.find((r) => r.topology === t)?.windows.find((x) => x.name === n);
        return w ? `${rate(w).toLocaleString('en-US')} (${cpuPerEvent(w)})` : '';
      }));
      const ratioCells = OTHERS.flatMap((t, j) => windowNames.map((n, k) => {
        const a = mine.find((r) => r.topology === TOPOLOGIES[0])?.windows.find((x) => x.name === n);
        const b = mine.find((r) => r.topology === t)?.windows.find((x) => x.name === n);
        if (!a || !b) return '';
        const ratio = rate(b) / rate(a);
        ratios[j * windowNames.length + k]?.push(ratio);
        return ratio.toFixed(2);
      }));
      console.log(`| ${rep + 1} | ${mine.map((r) => r.topology).join(', ')} | ${mine.map((r) => r.load[0]?.toFixed(2)).join(', ')} | ${[...cells, ...ratioCells].join(' | ')} |`);
    }
    if (REPS > 1) {
      const medians = TOPOLOGIES.flatMap((t) => windowNames.map((n) => Math.round(median(runs.filter((r) => r.topology === t).flatMap((r) => r.windows.filter((x) => x.name === n).map(rate)))).toLocaleString('en-US')));
      console.log(`| median | | | ${[...medians, ...ratios.map((r) => (r.length ? median(r).toFixed(2) : ''))].join(' | ')} |`);
    }
    console.log('');
    if (runs.some((r) => r.migrated > 0)) console.log(`Tasks fenced and dropped ("task migrated" in the child's log): ${runs.filter((r) => r.migrated > 0).map((r) => `${r.rep + 1}-${r.topology}: ${r.migrated}`).join(', ')}\n`);
    if (runs.some((r) => r.exitCode !== 0)) console.log(`Children that did not exit 0: ${runs.filter((r) => r.exitCode !== 0).map((r) => `${r.rep + 1}-${r.topology} (${r.exitCode})`).join(', ')}\n`);
    if (!PROFILE) return;
    for (const run of runs) {
      if (!run.profileFile) {
        console.log(`${run.rep + 1}-${run.topology}: no main-thread .cpuprofile\n`);
        continue;
      }
      const profile = JSON.parse(readFileSync(run.profileFile, 'utf8')) as Profile;
      for (const w of run.windows) {
        if (w.fromUs < profile.startTime || w.toUs > profile.endTime) console.error(`warning: ${w.name} is not within the profile's time span; clocks differ?`);
      }
      console.log(`### ${TOPOLOGY_NAME[run.topology]} (rep ${run.rep + 1}; profile ${run.profileFile.replace(`${REPO_ROOT}/`, '')})\n`);
      for (const w of run.windows) console.log(`${summarise(profile, w)}\n`);
    }
  } finally {
    await registryService?.stop();
    await kafkaService.stop();
  }
}

/** The slice's requests per committed transaction (EndTxn), by apiName, over the whole run (start-up included). */
function printRequestCounts(file: string): void {
  const counts = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  const txns = counts.EndTxn ?? 0;
  const apis = Object.keys(counts).sort();
  console.log(`\nRequests per EndTxn (${txns} EndTxn), by apiName:\n`);
  console.log(`| ${apis.join(' | ')} | all |`);
  console.log(`|${apis.map(() => '---:').join('|')}|---:|`);
  const per = (n: number) => (txns > 0 ? (n / txns).toFixed(2) : 'n/a');
  console.log(`| ${apis.map((a) => per(counts[a] ?? 0)).join(' | ')} | ${per(Object.values(counts).reduce((a, b) => a + b, 0))} |`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
