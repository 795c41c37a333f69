/**
 * Every CLI command that exists, run as a real child process against the real broker,
 * registry and ClickHouse engine: exit codes, tables by default and --json on request.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../infra/clickhouse/client.ts';
import { fromOnnx } from '../../processors/advisor/ltr/onnxImport.ts';
import { REPO_ROOT } from '../../infra/local/localStack.ts';
import { CATALOG } from '../../simulate/catalog.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { envOf, randomName, testConfig, waitUntil } from '../helpers/testConfig.ts';

const run = promisify(execFile);

describe('CLI commands', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  let service: RunningServiceHandle | undefined;
  const env = { ...process.env, ...envOf(config) };
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [join(REPO_ROOT, 'bin', 'artenic-optimizer.mjs'), ...args], { env, cwd: REPO_ROOT, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const g = new EventGenerator({ seed: 41, runId: 'cli' });
  const start = Date.UTC(2026, 7, 1);
  const jobs = Array.from({ length: 200 }, (_, i) => g.job(start + i * 600_000));

  beforeAll(async () => {
    service = await startService(config, logger);
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
    await publisher.addCatalog(start);
    await publisher.addJobs(jobs);
    for (let i = 0; i < 100; i++) {
      const a = g.datasetAccess(start + i * 3_600_000);
      if (a) await publisher.add('dataset-access', a.dataset_id, a);
    }
    await publisher.close();
    const db = config.clickhouse.database;
    await waitUntil('data in ClickHouse', async () => {
      const [r] = await queryRows<{ l: string; s: string; t: string; c: string }>(
        service!.clickhouse,
        `SELECT (SELECT count() FROM ${db}.relevance_labels) AS l, (SELECT count() FROM ${db}.spot_risk) AS s, (SELECT count() FROM ${db}.tiering_decisions) AS t, (SELECT count() FROM ${db}.instance_catalog) AS c`,
      );
      return Number(r?.l) > 150 && Number(r?.s) > 0 && Number(r?.t) > 0 && Number(r?.c) === CATALOG.length;
    }, 120_000);
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('status talks to the running service', async () => {
    const json = await cli('status', '--url', service!.httpUrl, '--json');
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout) as { optimizer: { mode: string; samples: number; modelVersion: string | null; trainingRuns: number }; streams: { ready: boolean; consumerLag: Record<string, number> } };
    // 200 jobs: the trainer has run (at 50 labels, then every 200); HYBRID once a model was promoted.
    expect(status.optimizer.trainingRuns).toBeGreaterThan(0);
    expect(status.optimizer.mode).toBe(status.optimizer.modelVersion === null ? 'HEURISTIC' : 'HYBRID');
    expect(Object.keys(status.streams.consumerLag)).toContain(config.kafka.applicationId);
    expect(status.optimizer.samples).toBeGreaterThan(150);
    expect(status.streams.ready).toBe(true);
    const table = (await cli('status', '--url', service!.httpUrl)).stdout;
    expect(table).toMatch(/training samples\s+\d+/);
    expect(table).toMatch(/consumer lag\s+\S+: \d+/);
    expect((await cli('status', '--url', 'http://127.0.0.1:1')).code).toBe(1);
  });

  it('reads ClickHouse: spot, cost summary, cost compare, storage analyze, sql', async () => {
    // The embedded engine is opened by one process at a time: stop the service first.
    await service!.stop();
    service = undefined;
    const spot = await cli('spot', '--json');
    expect(spot.code, spot.stderr).toBe(0);
    const offers = JSON.parse(spot.stdout) as Array<{ offer: string; band: string }>;
    expect(offers.length).toBeGreaterThan(0);
    expect(offers.every((o) => ['<5%', '5-10%', '10-15%', '15-20%', '>20%'].includes(o.band))).toBe(true);

    const summary = JSON.parse((await cli('cost', 'summary', '--period', 'month', '--by', 'provider', '--json')).stdout) as { spend: Array<{ cost_usd: number }>; savings: { finishedJobs: number; succeededJobs: number; coveredJobs: number } };
    const expected = jobs.reduce((s, j) => s + j.outcome.cost_usd, 0);
    expect(summary.spend.reduce((s, r) => s + Number(r.cost_usd), 0)).toBeCloseTo(expected, 0);
    // Every dispatch got a suggestion with estimates: every succeeded job is compared.
    expect(summary.savings.finishedJobs).toBe(jobs.length);
    expect(summary.savings.succeededJobs).toBe(jobs.filter((j) => j.outcome.status === 'SUCCEEDED').length);
    expect(summary.savings.coveredJobs).toBe(summary.savings.succeededJobs);
    expect((await cli('cost', 'summary')).stdout).toMatch(/savings: on \d+ of \d+ succeeded jobs, \$[\d.]+ spent against \$[\d.]+ at the optimizer's picks for the same work/);
    expect((await cli('cost', 'summary', '--by', 'nonsense')).code).not.toBe(0);

    const compare = await cli('cost', 'compare', '--gpu-memory-gb', '40', '--hours', '6', '--json');
    expect(compare.code, compare.stderr).toBe(0);
    const cmp = JSON.parse(compare.stdout) as { offers: Array<{ pareto: boolean }>; providers: unknown[] };
    expect(cmp.offers.some((o) => o.pareto)).toBe(true);
    expect(cmp.providers.length).toBeGreaterThan(1);
    expect((await cli('cost', 'compare', '--workload', '{"not":"a workload"}')).code).toBe(2);
    expect((await cli('cost', 'compare', '--workload', 'nope')).code).toBe(2);

    const db = config.clickhouse.database;
    const [history] = JSON.parse((await cli('sql', `SELECT max(sequence) AS s, countIf(promoted) AS p, (SELECT count() FROM ${db}.relevance_labels FINAL) AS labels FROM ${db}.advisor_models FINAL`, '--json')).stdout) as Array<{ s: number; p: string; labels: string }>;
    const recommend = await cli('recommend', '--gpu-memory-gb', '40', '--top', '3', '--json');
    expect(recommend.code, recommend.stderr).toBe(0);
    const rec = JSON.parse(recommend.stdout) as { mode: string; ranked: Array<{ rank: number; score: number }> };
    expect(rec.mode).toBe(Number(history?.p) > 0 ? 'HYBRID' : 'HEURISTIC');
    expect(rec.ranked.map((r) => r.rank)).toEqual([1, 2, 3]);
    expect((await cli('recommend', '--gpu-memory-gb', '10000')).code).toBe(1);
    // The three workloads of issue 13, from the catalog in ClickHouse: no GPUs the job cannot use, memory per GPU.
    const gpusOf = new Map(CATALOG.map((o) => [o.instanceType, { gpus: o.gpuCount, memory: o.gpuMemoryGb }]));
    const cases: Array<[string[], (g: { gpus: number; memory: number }) => boolean]> = [
      [['--gpus', '1', '--gpu-memory-gb', '12', '--hours', '2'], (g) => g.gpus <= 2],
      [['--gpus', '1', '--gpu-memory-gb', '60', '--hours', '2'], (g) => g.gpus <= 2 && g.memory >= 60],
      [['--gpus', '8', '--gpu-memory-gb', '30', '--hours', '40'], (g) => g.gpus >= 8],
    ];
    for (const [flags, ok] of cases) {
      const out = await cli('recommend', ...flags, '--top', '100', '--json');
      expect(out.code, out.stderr).toBe(0);
      const picks = (JSON.parse(out.stdout) as { ranked: Array<{ instance: { instance_type: string }; factors: Record<string, number> }> }).ranked;
      expect(picks.length).toBeGreaterThan(0);
      for (const r of picks) expect(ok(gpusOf.get(r.instance.instance_type)!), `${flags.join(' ')}: ${r.instance.instance_type}`).toBe(true);
      expect(picks[0]?.factors).toHaveProperty('hours');
    }
    const why = await cli('recommend', '--gpus', '1', '--gpu-memory-gb', '12', '--explain', 'p4d.24xlarge');
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toMatch(/aws\/us-east-1\/p4d\.24xlarge: not ranked: p4d\.24xlarge gives the job 8 GPUs for the 1 it uses \(7 idle/);

    // retrain: from the labels in ClickHouse, judged against the model in service, written as ONNX.
    const onnxFile = join(tmpdir(), `${randomName('model')}.onnx`);
    const retrain = await cli('retrain', '--json', '--out', onnxFile);
    expect(retrain.code, retrain.stderr).toBe(0);
    const trained = JSON.parse(retrain.stdout) as { model_version: string; sequence: number; labels_seen: number; promoted: boolean; ndcg_at_5: number | null; heuristic_ndcg_at_5: number | null };
    expect(trained.sequence).toBe(Number(history?.s) + 1);
    expect(trained.labels_seen).toBe(Number(history?.labels));
    expect(fromOnnx(readFileSync(onnxFile)).metadata.version).toBe(trained.model_version);
    const table = (await cli('retrain')).stdout;
    expect(table).toContain(`${trained.model_version}: `);
    expect(table).toMatch(/ranker\s+ndcg_at_5\s+ndcg_at_10\s+mrr/);
    const publish = await cli('retrain', '--publish');
    expect(publish.code, publish.stderr).toBe(trained.promoted ? 0 : 1);
    expect(trained.promoted ? publish.stdout : publish.stderr).toMatch(trained.promoted ? `published ${trained.model_version}` : 'not published');
    const tooFew = await run(process.execPath, [join(REPO_ROOT, 'bin', 'artenic-optimizer.mjs'), 'retrain'], { env: { ...env, ARTENIC_ADVISOR_MIN_TRAINING_LABELS: '100000' } }).catch((e: { code: number; stderr: string }) => e);
    expect((tooFew as { code: number }).code).toBe(1);
    expect((tooFew as { stderr: string }).stderr).toContain('advisor.minTrainingLabels');

    const storage = await cli('storage', 'analyze', '--json');
    expect(storage.code).toBe(0);
    expect((JSON.parse(storage.stdout) as unknown[]).length).toBeGreaterThan(0);
    expect((await cli('storage', 'analyze', 'no-such-dataset')).code).toBe(1);

    const sql = await cli('sql', `SELECT count() AS n FROM ${config.clickhouse.database}.job_dispatch WHERE team = {team:String}`, '-p', "team=x' OR 1=1 --", '--json');
    expect(Number((JSON.parse(sql.stdout) as Array<{ n: unknown }>)[0]?.n)).toBe(0);
    const real = await cli('sql', `SELECT count() AS n FROM ${config.clickhouse.database}.job_dispatch WHERE team = {team:String}`, '-p', `team=${jobs[0]!.dispatch.team}`, '--json');
    expect(Number((JSON.parse(real.stdout) as Array<{ n: unknown }>)[0]?.n)).toBe(jobs.filter((j) => j.dispatch.team === jobs[0]!.dispatch.team).length);
  });

  it('replays a file through the processors without Kafka, and lists settings', async () => {
    const file = join(tmpdir(), `${randomName('replay')}.jsonl`);
    writeFileSync(file, jobs.slice(0, 5).flatMap((j) => [JSON.stringify({ topic: 'job-dispatch', key: j.dispatch.job_id, value: j.dispatch }), JSON.stringify({ topic: 'job-outcome', key: j.outcome.job_id, value: j.outcome })]).join('\n') + '\nnot json\n');
    const replay = await cli('replay', file, '--only', 'relevance-labels');
    expect(replay.code).toBe(0);
    const labels = replay.stdout.trim().split('\n').map((l) => JSON.parse(l) as { value: { job_id: string } });
    expect(labels.map((l) => l.value.job_id)).toEqual(jobs.slice(0, 5).filter((j) => j.outcome.status !== 'CANCELLED').map((j) => j.dispatch.job_id));
    const settings = await cli('settings', '--json');
    expect((JSON.parse(settings.stdout) as Array<{ env: string }>).map((s) => s.env)).toContain('ARTENIC_FEEDBACK_PENDING_TTL_MS');
    const bad = await cli('settings');
    expect(bad.code).toBe(0);
    const badConfig = await run(process.execPath, [join(REPO_ROOT, 'bin', 'artenic-optimizer.mjs'), 'spot'], { env: { ...env, ARTENIC_KAFKA_PARTITIONS: 'many' } }).catch((e: { code: number; stderr: string }) => e);
    expect((badConfig as { code: number }).code).toBe(2);
    expect((badConfig as { stderr: string }).stderr).toContain('kafka.partitions (ARTENIC_KAFKA_PARTITIONS)');
  });
});
