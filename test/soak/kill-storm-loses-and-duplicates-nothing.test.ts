/**
 * The long variant of the SIGKILL test (`make soak`): one run of SOAK_JOBS jobs (two input
 * events each; default 500,000 = 1M events), the service SIGKILLed SOAK_KILLS times (default
 * 100) at random moments, each time in the middle of whatever it was doing, and restarted.
 * Afterwards every expected label is on the topic exactly once (read_committed) and in
 * ClickHouse exactly once (FINAL and raw row counts). Bounded: every wait has a deadline.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLabel } from '../../processors/feedback/join.ts';
import { createClickHouse, queryRows } from '../../infra/clickhouse/client.ts';
import { REPO_ROOT } from '../../infra/local/localStack.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { Random } from '../../simulate/random.ts';
import { ensureTopics } from '../../topology/admin.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import type { RelevanceLabel } from '../../schemas/generated/records.ts';
import { endOffsets } from '../helpers/faults.ts';
import { TimeOrderedJobs, type TimedEvent } from '../helpers/timeOrdered.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { randomName, readTopic, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

const JOBS = Number(process.env.SOAK_JOBS ?? 500_000);
const KILLS = Number(process.env.SOAK_KILLS ?? 100);
const digest = (l: RelevanceLabel) => createHash('sha1').update(JSON.stringify(l)).digest('base64');

describe('kill storm', () => {
  const config = testConfig({ log: { level: 'warn' } });
  const logger = createLogger('warn');
  const kafka = testKafka(config);
  const logFile = join(tmpdir(), `${randomName('kill-storm')}.log`);
  let service: ServiceProcess | undefined;
  afterAll(async () => {
    if (service && service.child.exitCode === null) await service.kill('SIGKILL');
  });

  const labelsWritten = () => endOffsets(kafka, config.topics['relevance-labels']);

  it(`SIGKILLed ${KILLS} times over ${JOBS * 2} events, loses and duplicates nothing`, async () => {
    const started = Date.now();
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopics(createKafka(config, logger), config, []);
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    const generator = new EventGenerator({ seed: 99, runId: 'storm' });
    const t0 = Date.UTC(2026, 6, 1);
    const expected = new Map<string, string>();
    let beyondTtl = 0;
    await publisher.addCatalog(t0);
    // In event-time order, as a platform publishes: outcomes when their jobs finish.
    const ordered = new TimeOrderedJobs();
    const publish = async (e: TimedEvent) => publisher.add(e.role, e.value.job_id, e.value as never);
    for (let i = 0; i < JOBS; i++) {
      const job = generator.job(t0 + i * 1_000);
      const label = buildLabel(job.dispatch, job.outcome, config.feedback);
      // A job that runs longer than its dispatch may wait (pendingTtlMs) has no label, by design;
      // near that edge, punctuation timing decides, so those are not counted either way.
      const runMs = job.outcome.event_time - job.dispatch.event_time;
      if (label && runMs < config.feedback.pendingTtlMs - 3_600_000) expected.set(job.dispatch.job_id, digest(label));
      else if (label) beyondTtl++;
      for (const e of ordered.add(job)) await publish(e);
      if (i % 5_000 === 4_999) await publisher.flush();
    }
    for (const e of ordered.drain()) await publish(e);
    await publisher.close();
    const published = Date.now();

    const rng = new Random(7);
    const progress: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      service = await startServiceProcess(config, logFile, {}, 300_000);
      // Somewhere between right after the start and a few seconds into processing.
      await new Promise((r) => setTimeout(r, rng.between(200, 4_000)));
      await service.kill('SIGKILL');
      progress.push(await labelsWritten());
    }
    service = await startServiceProcess(config, logFile, {}, 300_000);
    const deadline = Math.max(600_000, JOBS * 4);
    await waitUntil('every label', async () => (await labelsWritten()) >= expected.size, deadline);

    const labels = await readTopic<RelevanceLabel>(
      kafka,
      config.topics['relevance-labels'],
      async (v) => (await serde.decode('relevance-labels', v, { minEventTimeMs: 0, maxEventTimeMs: Infinity })) as RelevanceLabel,
      (items) => items.length >= expected.size + beyondTtl,
      600_000,
    );
    const seen = new Map<string, number>();
    let different = 0;
    for (const l of labels) {
      seen.set(l.job_id, (seen.get(l.job_id) ?? 0) + 1);
      if (expected.has(l.job_id) && expected.get(l.job_id) !== digest(l)) different++;
    }
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    const missing = [...expected.keys()].filter((id) => !seen.has(id)).length;

    // ClickHouse: let the sink catch up, stop the service, then count from this process.
    const processed = Date.now();
    await new Promise((r) => setTimeout(r, 15_000));
    await service.kill('SIGTERM');
    const clickhouse = createClickHouse(config.clickhouse);
    const db = config.clickhouse.database;
    const [ch] = await queryRows<{ final: string; distinct: string }>(clickhouse, `SELECT (SELECT count() FROM ${db}.relevance_labels FINAL) AS final, (SELECT uniqExact(event_id) FROM ${db}.relevance_labels) AS distinct`);
    await clickhouse.close();

    const line = `| ${new Date().toISOString().slice(0, 10)} | ${JOBS * 2} | ${KILLS} | ${expected.size} (+${beyondTtl} near or past the TTL) | ${labels.length} | ${duplicates} | ${missing} | ${different} | ${ch?.final} | ${Math.round((published - started) / 1000)} | ${Math.round((processed - published) / 1000)} |`;
    mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
    appendFileSync(join(REPO_ROOT, 'bench', 'results', 'kill-storm.md'), `${line}\n`);
    console.log(`input events, kills, expected labels, labels read, duplicates, missing, different, ClickHouse FINAL, publish s, process s\n${line}\nlabels on the topic after each kill: ${progress.join(' ')}`);

    expect(duplicates).toBe(0);
    expect(missing).toBe(0);
    expect(different).toBe(0);
    expect(labels.length).toBeGreaterThanOrEqual(expected.size);
    expect(labels.length).toBeLessThanOrEqual(expected.size + beyondTtl);
    // ClickHouse holds what Kafka holds, once.
    expect(Number(ch?.final)).toBe(labels.length);
    expect(Number(ch?.distinct)).toBe(labels.length);
  });
});
