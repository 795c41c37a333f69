/**
 * Restores bounded by what changed (issue 14 item 3): the service builds up state
 * (dispatches waiting for their outcomes, completed-job markers), snapshots its tasks after
 * commits, is killed with SIGKILL, and restarts. The restarted service loads the snapshots
 * and reads only the changelog tail written since them: `artenic_store_restore_records_total`
 * stays far below the number of live keys a full restore would have to read. Every label
 * still appears exactly once. Then one snapshot is corrupted on disk and the service
 * restarted again, with some outcomes sent twice: that task falls back to its whole
 * changelog, the others read their tail (the markers that make the second outcome a
 * duplicate), and the labels stay exactly once.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createLogger } from '../../common/logger.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { ensureTopics } from '../../topology/admin.ts';
import { defaultStateDir } from '../../topology/state/index.ts';
import { expectedLabels, randomName, readLabels, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';
import { endOffsets, expectExactlyOnce } from '../helpers/faults.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';

/** Dispatches whose outcomes come only after the restart: they wait in the store. */
const PENDING = 3_000;
/** Complete jobs before the kill: each leaves a completed-job marker in the store. */
const JOBS = 1_000;
/** Pending jobs whose outcomes come after the first restart, and after the second. */
const TAIL = 200;
const MIN_RECORDS = 100;

async function metric(service: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`${service.httpUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  if (!m) throw new Error(`metric ${name} not found`);
  return Number(m[1]);
}

describe('restart after a crash', () => {
  const config = testConfig({ streams: { snapshotIntervalMs: 0, snapshotMinRecords: MIN_RECORDS } });
  const logger = createLogger('warn');
  const kafka = testKafka(config);
  const logFile = join(tmpdir(), `${randomName('restore-tail-service')}.log`);
  const snapshotDir = defaultStateDir(config.kafka.applicationId, config.streams.stateDir);
  let service: ServiceProcess | undefined;

  afterAll(async () => {
    if (service && service.child.exitCode === null) await service.kill('SIGKILL');
  });

  const labelOffsets = () => endOffsets(kafka, config.topics['relevance-labels']);
  const newestSnapshotWrite = () => Math.max(0, ...snapshotFiles().map((f) => statSync(join(snapshotDir, f)).mtimeMs));
  const snapshotFiles = () => {
    try {
      return readdirSync(snapshotDir).filter((f) => f.endsWith('.snapshot.jsonl'));
    } catch {
      return [];
    }
  };

  it('restores only the changelog tail and keeps every label exactly once', async () => {
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopics(createKafka(config, logger), config, []);
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    const generator = new EventGenerator({ seed: 14, runId: 'tail' });
    const start = Date.UTC(2026, 9, 1);
    const jobs = Array.from({ length: JOBS + PENDING }, (_, i) => generator.job(start + i * 10_000));
    const complete = jobs.slice(0, JOBS);
    const pending = jobs.slice(JOBS);
    for (const j of pending) await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
    await publisher.addJobs(complete);
    await publisher.flush();

    service = await startServiceProcess(config, logFile);
    const expectedBefore = expectedLabels(complete, config).size;
    await waitUntil('every label of the complete jobs', async () => (await labelOffsets()) >= expectedBefore, 120_000);
    await waitUntil('a snapshot of every task', async () => snapshotFiles().length >= config.kafka.partitions, 60_000);
    // The snapshots due after the last commits are written (off the commit path): killed in the
    // middle of one, the tail would also hold that commit's changes, which under the commit
    // cadence may be several hundred.
    await waitUntil('the snapshots settled', async () => Date.now() - newestSnapshotWrite() > 2_000, 60_000);
    expect(await service.kill('SIGKILL')).toBeNull();

    // The tail: outcomes of some pending dispatches, written while the service is down.
    for (const j of pending.slice(0, TAIL)) await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
    await publisher.flush();
    service = await startServiceProcess(config, logFile);
    const expectedAfterTail = expectedLabels([...complete, ...pending.slice(0, TAIL)], config).size;
    await waitUntil('the tail labels', async () => (await labelOffsets()) >= expectedAfterTail, 120_000);
    const restored = await metric(service, 'artenic_store_restore_records_total');
    const fromSnapshots = await metric(service, 'artenic_store_restore_snapshot_entries_total');
    // A whole-changelog restore reads at least one record per live key: every pending dispatch and every completed-job marker.
    const liveKeys = PENDING + JOBS;
    expect(fromSnapshots).toBeGreaterThan(liveKeys * 0.5);
    // The tail: what each task wrote after its last snapshot. A snapshot is taken at a commit
    // past MIN_RECORDS changes, unless the previous one is still being written (then at the next
    // commit, so the last commit's changes may stay in the tail: under the commit cadence one
    // commit of a backlog holds a few hundred). A whole-changelog restore would read at least one
    // record per entry the snapshots held.
    expect(restored).toBeLessThan(fromSnapshots / 4);
    expect(restored).toBeLessThan(liveKeys / 4);
    const afterTail = restored;

    // A snapshot corrupted on disk (one byte of an entry changed): that task falls back to its whole changelog.
    await service.kill('SIGKILL');
    const [victim] = snapshotFiles().sort();
    const path = join(snapshotDir, victim as string);
    const text = readFileSync(path, 'utf8');
    const at = text.indexOf('"', text.indexOf('\n') + 1) + 1;
    writeFileSync(path, text.slice(0, at) + (text[at] === 'x' ? 'y' : 'x') + text.slice(at + 1));
    for (const j of pending.slice(TAIL)) await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
    // The tail outcomes once more (a producer retry, say): only the completed-job markers the
    // second run wrote after its snapshots, read back from the changelog tail, keep them from
    // joining again. A tail skipped would show here as duplicate labels.
    for (const j of pending.slice(0, TAIL)) await publisher.add('job-outcome', j.outcome.job_id, j.outcome);
    await publisher.close();
    service = await startServiceProcess(config, logFile);

    const expected = expectedLabels(jobs, config);
    const labels = await readLabels(kafka, config, serde, expected.size, 150_000);
    expectExactlyOnce(labels, expected);
    const fallback = await metric(service, 'artenic_store_restore_records_total');
    // That task's whole changelog: about a quarter of the live keys, more than any tail above.
    expect(fallback).toBeGreaterThan(liveKeys / config.kafka.partitions / 2);
    expect(fallback).toBeGreaterThan(afterTail);
    expect(await metric(service, 'artenic_store_restore_snapshot_entries_total')).toBeGreaterThan(0);

    expect(await service.kill('SIGTERM')).toBe(0);
  });
});
