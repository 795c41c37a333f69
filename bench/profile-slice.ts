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
 * Usage: npx tsx bench/profile-slice.ts (BENCH_JOBS, default 20,000; BENCH_PROFILE_INTERVAL_US,
 * default 1,000; BENCH_CPU_PROF=0: no profiler, the drain rates and main-thread CPU only, a
 * reference for another bench in the same session; BENCH_SLICE_ROOT: the checkout whose
 * feedback slice runs, this one by default; BENCH_COUNT_REQUESTS=1: the slice's Kafka requests
 * by apiName per committed transaction (EndTxn), over the whole run, from bench/countRequests.ts).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
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
  let first: { us: number; committed: number; cpuS: number } | undefined;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${name}: not drained within ${DRAIN_TIMEOUT_MS / 1000} s`);
    // The group's coordinator may still be loading its offsets (GROUP_LOAD_IN_PROGRESS, retriable).
    const done = await committedOffsets(admin, groupId, inputs).catch((err: unknown) => {
      if ((err as { retriable?: boolean }).retriable) return -1;
      throw err;
    });
    if (first === undefined && done > base) first = { us: monoUs(), committed: done, cpuS: threadCpuSeconds(pid) };
    if (done >= target && (await repartitionsDrained(admin, groupId))) {
      const f = first as NonNullable<typeof first>;
      return { name, fromUs: f.us, toUs: monoUs(), events: target - f.committed, mainCpuS: threadCpuSeconds(pid) - f.cpuS };
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
    const brokers = kafkaService.brokers;
    const registryUrl = registryService.url;
    const suffix = `prof-${Date.now()}`;
    const topics = Object.fromEntries(TOPIC_ROLES.map((r) => [r, `${r}-${suffix}`])) as Record<TopicRole, string>;
    const applicationId = `bench-${suffix}`;
    const config = loadConfig({ env: {}, overrides: { kafka: { brokers, applicationId }, registry: { url: registryUrl }, topics, log: { level: 'warn' } } });
    const logger = pino({ name: 'profile', level: 'warn' }, pino.destination(2));
    const kafka = createKafka(config, logger);
    const serde = new TopicSerde(createRegistry({ url: registryUrl, username: null, password: null }), topics);
    await serde.registerAll();
    await ensureTopics(kafka, config, []);
    const publisher = await Publisher.connect(createKafka(config, logger, '-bench'), serde, topics);
    const admin = new Kafka({ clientId: 'profile-admin', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const inputs = [topics['job-dispatch'], topics['job-outcome']];
    const start = Date.UTC(2026, 9, 1);
    await publishBacklog(publisher, 1, start);
    const end1 = await endOffsets(admin, inputs);
    const arg = JSON.stringify({ brokers, registryUrl, applicationId, topics });
    const profiling = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${OUT_DIR}`, `--cpu-prof-interval=${INTERVAL_US}`] : [];
    const countsFile = join(OUT_DIR, 'request-counts.json');
    const spawnedUs = monoUs();
    const counting = COUNT_REQUESTS ? ['--import', join(REPO_ROOT, 'bench', 'countRequests.ts')] : [];
    const child = spawn(process.execPath, [...profiling, '--import', 'tsx', ...counting, join(SLICE_ROOT, 'bench', 'feedback-slice.ts'), arg], {
      cwd: SLICE_ROOT,
      stdio: ['pipe', 'ignore', 'pipe'],
      env: COUNT_REQUESTS ? { ...process.env, BENCH_REQUEST_COUNTS_FILE: countsFile } : process.env,
    });
    child.stderr.pipe(createWriteStream(join(OUT_DIR, 'slice.log')));
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const windows: Window[] = [];
    try {
      windows.push(await drain(child.pid as number, admin, applicationId, inputs, 0, end1, 'Cold drain (steady state)'));
      console.error(`cold: ${windows[0]?.events} events`);
      child.kill('SIGSTOP');
      try {
        await publishBacklog(publisher, 3, start + JOBS * 1000);
      } finally {
        child.kill('SIGCONT');
      }
      const end2 = await endOffsets(admin, inputs);
      windows.push(await drain(child.pid as number, admin, applicationId, inputs, end1, end2, 'Warm drain (steady state)'));
      console.error(`warm: ${windows[1]?.events} events`);
    } finally {
      child.stdin.end('stop\n');
      const timer = setTimeout(reap, 60_000);
      const code = await exited;
      clearTimeout(timer);
      process.removeListener('exit', reap);
      if (code !== 0) console.error(`slice exited ${code}; see ${join(OUT_DIR, 'slice.log')}`);
      await publisher.close();
      await admin.disconnect();
    }
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    const la = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' / ');
    if (!PROFILE) {
      console.log(`Machine: ${machine}; ${date}; load average (1/5/15 min) ${la(loadBefore)} at the start, ${la(loadavg())} at the end; no profiler; slice from ${SLICE_ROOT}.\n`);
      console.log(`Start-up (launch to the first commit past the backlog's start): ${(((windows[0]?.fromUs ?? Number.NaN) - spawnedUs) / 1e6).toFixed(2)} s`);
      for (const w of windows) {
        console.log(`${w.name}: ${w.events} events in ${((w.toUs - w.fromUs) / 1e6).toFixed(2)} s = ${Math.round((w.events * 1e6) / (w.toUs - w.fromUs))} events/s; main thread ${((w.mainCpuS * 1e6) / w.events).toFixed(1)} CPU-µs per event`);
      }
      if (COUNT_REQUESTS) printRequestCounts(countsFile);
      return;
    }
    const file = readdirSync(OUT_DIR).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile in ${OUT_DIR}`);
    const profile = JSON.parse(readFileSync(join(OUT_DIR, file), 'utf8')) as Profile;
    for (const w of windows) {
      if (w.fromUs < profile.startTime || w.toUs > profile.endTime) console.error(`warning: ${w.name} is not within the profile's time span; clocks differ?`);
    }
    console.log(`Machine: ${machine}; ${date}; load average (1/5/15 min) ${la(loadBefore)} at the start, ${la(loadavg())} at the end. Backlog: ${(2 * JOBS).toLocaleString('en-US')} events per drain; sampling every ${INTERVAL_US} µs; profile ${join('bench/results/profile-slice', file)}.\n`);
    for (const w of windows) console.log(`${summarise(profile, w)}\n`);
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
