/**
 * What a task's commit costs in requests and time, kafkajs' coordinator lookups as shipped
 * against topology/kafkajsCoordinatorCache.ts: one local broker, BENCH_TASKS task senders
 * (TransactionalSender, as the stream thread uses them) each committing BENCH_TXNS
 * transactions, all tasks at once; each transaction sends one request (5 records to an output
 * topic and 5 to a changelog-like topic, on the task's partition) and commits the task's input
 * offset. Each variant runs in a fresh process (the patch is process-wide), in the order
 * before, after, before, after... (BENCH_ROUNDS rounds). Counted per committed transaction:
 * the producers' requests by apiName (kafkajs instrumentation, `producer.network.request`);
 * timed: `commitOpen()` (it waits for the transaction's sends, then AddOffsetsToTxn,
 * TxnOffsetCommit and EndTxn), p50 / p99 over all tasks and rounds. Prints Markdown.
 *
 * Usage: npx tsx bench/coordinator-requests.ts (BENCH_TASKS, default 4; BENCH_TXNS, default
 * 300; BENCH_ROUNDS, default 2).
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig, type Config } from '../config/options.ts';
import { createLogger } from '../common/logger.ts';
import { startKafka } from '../infra/local/localStack.ts';
import { cacheCoordinators } from '../topology/kafkajsCoordinatorCache.ts';
import { stopIdleRequestQueueTimers } from '../topology/kafkajsIdleTimer.ts';
import { newStreamsCounters } from '../topology/streamsCounters.ts';
import { TransactionalSender } from '../topology/transactionalSender.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 4);
const TXNS = Number(process.env.BENCH_TXNS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const IN = 'coord-bench-in';
const OUT = 'coord-bench-out';
const CHANGELOG = 'coord-bench-store-changelog';

interface Result {
  variant: 'before' | 'after';
  transactions: number;
  requests: Record<string, number>;
  commitMs: number[];
  wallMs: number;
}

/** One variant in this process: TASKS senders, TXNS transactions each. */
async function child(variant: 'before' | 'after', brokers: string[], appId: string): Promise<Result> {
  stopIdleRequestQueueTimers();
  if (variant === 'after') cacheCoordinators();
  const base = loadConfig({ env: {} });
  const config = { ...base, kafka: { ...base.kafka, brokers, applicationId: appId } } as Config;
  const kafka = new Kafka({ clientId: `coord-bench-${variant}`, brokers, logLevel: logLevel.NOTHING });
  const logger = createLogger('warn');
  const senders = Array.from({ length: TASKS }, (_, p) => new TransactionalSender(kafka, config, p, newStreamsCounters(), logger));
  await Promise.all(senders.map((s) => s.init()));
  const requests: Record<string, number> = {};
  for (const s of senders) s.transactional.on(s.transactional.events.REQUEST, (e: { payload: { apiName: string } }) => void (requests[e.payload.apiName] = (requests[e.payload.apiName] ?? 0) + 1));
  const commitMs: number[] = [];
  let transactions = 0;
  const started = performance.now();
  await Promise.all(
    senders.map(async (s, p) => {
      for (let i = 0; i < TXNS; i++) {
        const records = (topic: string) => ({ topic, messages: Array.from({ length: 5 }, (_, k) => ({ key: `k${k}`, value: `v${i}-${k}`, partition: p })) });
        s.send([[records(OUT), records(CHANGELOG)]], new Map([[IN, BigInt(i + 1)]]));
        const t1 = performance.now();
        await s.commitOpen();
        const t2 = performance.now();
        commitMs.push(t2 - t1);
        transactions++;
      }
    }),
  );
  const wallMs = performance.now() - started;
  await Promise.all(senders.map((s) => s.close()));
  return { variant, transactions, requests, commitMs, wallMs };
}

function runChild(variant: 'before' | 'after', brokers: string[], appId: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', variant, brokers.join(','), appId], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${variant}: exit ${code}: ${out.slice(-2000)}`));
      resolve(JSON.parse(line) as Result);
    });
  });
}

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

async function main(): Promise<void> {
  stopIdleRequestQueueTimers();
  const kafka = await startKafka();
  const load0 = loadavg();
  const results: Result[] = [];
  try {
    const admin = new Kafka({ clientId: 'coord-bench-admin', brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [IN, OUT, CHANGELOG].map((topic) => ({ topic, numPartitions: TASKS })) });
    await admin.disconnect();
    // A warm-up round (the broker's first transactions, the coordinators' loading), not counted.
    await runChild('before', kafka.brokers, 'coord-bench-warmup');
    for (let r = 0; r < ROUNDS; r++) {
      for (const variant of ['before', 'after'] as const) {
        const res = await runChild(variant, kafka.brokers, `coord-bench-${r}-${variant}`);
        results.push(res);
        process.stderr.write(`round ${r} ${variant}: ${res.transactions} transactions in ${(res.wallMs / 1000).toFixed(1)} s\n`);
      }
    }
  } finally {
    await kafka.stop();
  }
  const load1 = loadavg();
  const apis = [...new Set(results.flatMap((r) => Object.keys(r.requests)))].sort();
  const lines = [
    `${new Date().toISOString()}; ${cpus().length} x ${cpus()[0]?.model ?? '?'}; load average (1/5/15 min) ${load0.map((x) => x.toFixed(2)).join(' / ')} at the start, ${load1.map((x) => x.toFixed(2)).join(' / ')} at the end.`,
    `${TASKS} tasks x ${TXNS} transactions per process, ${ROUNDS} round(s) of before, after; one local broker.`,
    '',
    `| | ${apis.join(' | ')} | all | commit p50 / p99 ms | transactions/s |`,
    `|---|${apis.map(() => '---:').join('|')}|---:|---:|---:|`,
  ];
  for (const variant of ['before', 'after'] as const) {
    const rs = results.filter((r) => r.variant === variant);
    const txns = rs.reduce((a, r) => a + r.transactions, 0);
    const per = (api: string) => rs.reduce((a, r) => a + (r.requests[api] ?? 0), 0) / txns;
    const all = apis.reduce((a, api) => a + per(api), 0);
    const commit = rs.flatMap((r) => r.commitMs);
    const rate = txns / (rs.reduce((a, r) => a + r.wallMs, 0) / 1000);
    lines.push(
      `| ${variant} | ${apis.map((api) => per(api).toFixed(2)).join(' | ')} | ${all.toFixed(2)} | ${pct(commit, 0.5).toFixed(1)} / ${pct(commit, 0.99).toFixed(1)} | ${rate.toFixed(0)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[2] === 'child') {
  const [, , , variant, brokers, appId] = process.argv;
  child(variant as 'before' | 'after', (brokers ?? '').split(','), appId ?? 'coord-bench')
    .then((r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
      process.exit(1);
    });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
}
