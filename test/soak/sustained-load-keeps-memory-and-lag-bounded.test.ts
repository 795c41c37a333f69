/**
 * Sustained load (`make soak`): the service as a child process takes SOAK_RATE jobs per second
 * (two input events each; default 1,000) for SOAK_MINUTES (default 5). Every 10 s the
 * service's resident memory (/proc) and its consumer group's lag are sampled. Bounded means:
 * memory in the last third of the run stays within 25% of the middle third's peak (state
 * stores are bounded by their TTLs and capacities), lag never exceeds a minute of input, and
 * it drains to zero within a minute once the load stops. Writes its samples to
 * bench/results/soak.md (soak-<SOAK_LABEL>.md when labelled).
 *
 * The service's RSS and its embedded ClickHouse engine's (a child process since the engine
 * left the service) are sampled apart. SOAK_SERVICE_ROOT runs another checkout's service (main,
 * to compare before and after in one run); ARTENIC_PROCESS_SETTINGS=0 in the environment runs
 * Node without the launcher's memory settings.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/local/localStack.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { ensureTopics } from '../../topology/admin.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { TimeOrderedJobs } from '../helpers/timeOrdered.ts';
import { randomName, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

const RATE = Number(process.env.SOAK_RATE ?? 1_000);
const MINUTES = Number(process.env.SOAK_MINUTES ?? 5);
const SERVICE_ROOT = process.env.SOAK_SERVICE_ROOT ?? REPO_ROOT;
const LABEL = process.env.SOAK_LABEL ?? '';

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** The RSS of the service's engine child (0 when the engine runs inside the service). */
function engineRssMiB(pid: number): number {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    const engine = children.find((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('engineHost'));
    return engine === undefined ? 0 : rssMiB(engine);
  } catch {
    return Number.NaN;
  }
}

describe('sustained load', () => {
  const config = testConfig({ log: { level: 'warn' } });
  const logger = createLogger('warn');
  const kafka = testKafka(config);
  let service: ServiceProcess | undefined;
  afterAll(async () => {
    if (service && service.child.exitCode === null) await service.kill('SIGKILL');
  });

  async function lag(): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = [config.topics['job-dispatch'], config.topics['job-outcome']];
      const committed = await admin.fetchOffsets({ groupId: config.kafka.applicationId, topics });
      let total = 0;
      for (const { topic, partitions } of committed) {
        for (const end of await admin.fetchTopicOffsets(topic)) {
          const c = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
          total += Math.max(0, Number(end.high) - Math.max(c, Number(end.low)));
        }
      }
      return total;
    } finally {
      await admin.disconnect();
    }
  }

  it(`keeps memory and lag bounded at ${RATE} jobs/s for ${MINUTES} min`, async () => {
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopics(createKafka(config, logger), config, []);
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    const generator = new EventGenerator({ seed: 5, runId: 'soak' });
    const t0 = Date.UTC(2026, 3, 1);
    await publisher.addCatalog(t0);
    await publisher.flush();
    service = await startServiceProcess(config, join(tmpdir(), `${randomName('soak')}.log`), {}, 90_000, SERVICE_ROOT);
    const pid = service.child.pid as number;

    const samples: Array<{ s: number; rss: number; engine: number; lag: number; sent: number }> = [];
    const started = Date.now();
    const endAt = started + MINUTES * 60_000;
    let sent = 0;
    let nextSample = started;
    // One job per simulated 10 s; outcomes published when their jobs finish, in event-time order.
    const ordered = new TimeOrderedJobs();
    while (Date.now() < endAt) {
      const tick = Date.now();
      const due = Math.floor(((tick - started) / 1000) * RATE) - sent;
      for (let i = 0; i < due; i++) {
        for (const e of ordered.add(generator.job(t0 + (sent + i) * 10_000))) await publisher.add(e.role, e.value.job_id, e.value as never);
      }
      sent += due;
      await publisher.flush();
      if (tick >= nextSample) {
        samples.push({ s: Math.round((tick - started) / 1000), rss: rssMiB(pid), engine: engineRssMiB(pid), lag: await lag(), sent });
        nextSample += 10_000;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const e of ordered.drain()) await publisher.add(e.role, e.value.job_id, e.value as never);
    await publisher.close();
    const stoppedAt = Date.now();
    // The figures are written whether or not it drains: a failed soak is worth reading too.
    const drained = await waitUntil('the lag to drain', async () => (await lag()) === 0, 60_000).then(
      () => true,
      () => false,
    );
    const drainSeconds = (Date.now() - stoppedAt) / 1000;
    samples.push({ s: Math.round((Date.now() - started) / 1000), rss: rssMiB(pid), engine: engineRssMiB(pid), lag: drained ? 0 : await lag(), sent });
    // Drained and idle for 20 s more: what the process keeps.
    await new Promise((r) => setTimeout(r, 20_000));
    const idle = { rss: rssMiB(pid), engine: engineRssMiB(pid) };
    expect(await service.kill('SIGTERM')).toBe(0);

    const third = Math.floor(samples.length / 3);
    const middlePeak = Math.max(...samples.slice(third, 2 * third).map((x) => x.rss));
    const lastPeak = Math.max(...samples.slice(2 * third).map((x) => x.rss));
    const maxLag = Math.max(...samples.map((x) => x.lag));
    const table = [
      `Sustained load: ${RATE} jobs/s (${RATE * 2} input events/s) for ${MINUTES} min, ${sent} jobs; ${new Date().toISOString()}; service from ${SERVICE_ROOT}${process.env.ARTENIC_PROCESS_SETTINGS === '0' ? ', ARTENIC_PROCESS_SETTINGS=0' : ''}.`,
      '',
      '| t (s) | service RSS (MiB) | engine child RSS (MiB) | consumer lag (records) | jobs sent |',
      '|---:|---:|---:|---:|---:|',
      ...samples.map((x) => `| ${x.s} | ${x.rss.toFixed(0)} | ${x.engine.toFixed(0)} | ${x.lag} | ${x.sent} |`),
      '',
      `${drained ? 'Drained' : 'Load stopped, NOT drained'}, then 20 s idle: service RSS ${idle.rss.toFixed(0)} MiB, engine child ${idle.engine.toFixed(0)} MiB.`,
      '',
      `Peak RSS middle third ${middlePeak.toFixed(0)} MiB, last third ${lastPeak.toFixed(0)} MiB (${((lastPeak / middlePeak - 1) * 100).toFixed(1)}%); max lag ${maxLag} records (${(maxLag / (RATE * 2)).toFixed(1)} s of input); ${drained ? `drained ${drainSeconds.toFixed(1)} s after the load stopped` : `NOT drained ${drainSeconds.toFixed(0)} s after the load stopped`}.`,
    ].join('\n');
    mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'bench', 'results', LABEL ? `soak-${LABEL}.md` : 'soak.md'), `${table}\n`);
    console.log(table);

    expect(drained).toBe(true);
    expect(lastPeak).toBeLessThanOrEqual(middlePeak * 1.25);
    expect(maxLag).toBeLessThan(RATE * 2 * 60);
    expect(sent).toBeGreaterThan(RATE * MINUTES * 60 * 0.9);
  });
});
