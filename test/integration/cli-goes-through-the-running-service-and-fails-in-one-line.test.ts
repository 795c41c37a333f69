/**
 * The CLI against a running service that holds the embedded engine: its ClickHouse commands go
 * through the service's SQL endpoint, read-only; a write is refused in one line; a query error,
 * a workload nothing can run and a locked data directory are each one line, exit 1, no stack
 * trace (JSON with --json). Once the service is gone the CLI opens the engine itself, still
 * read-only unless --write.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/local/localStack.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { ensureTopics } from '../../topology/admin.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { freePort } from '../helpers/freePort.ts';
import { envOf, expectedLabels, randomName, testConfig, waitUntil } from '../helpers/testConfig.ts';

const run = promisify(execFile);

describe('CLI with a running service', () => {
  let config: ReturnType<typeof testConfig>;
  let service: ServiceProcess | undefined;
  let env: NodeJS.ProcessEnv;
  const logger = createLogger('warn');
  const g = new EventGenerator({ seed: 91, runId: 'cli-live' });
  const start = Date.UTC(2026, 9, 1);
  const jobs = Array.from({ length: 120 }, (_, i) => g.job(start + i * 60_000));

  const cli = async (extraEnv: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [join(REPO_ROOT, 'bin', 'artenic-optimizer.mjs'), ...args], { env: { ...env, ...extraEnv }, cwd: REPO_ROOT, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const oneLine = (text: string) => text.trim().split('\n');

  beforeAll(async () => {
    config = testConfig({ sql: { port: await freePort() } });
    env = { ...process.env, ...envOf(config) };
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopics(createKafka(config, logger), config, []);
    service = await startServiceProcess(config, join(tmpdir(), `${randomName('cli-live')}.log`));
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
    await publisher.addCatalog(start);
    await publisher.addJobs(jobs);
    await publisher.close();
    const db = config.clickhouse.database;
    const labels = expectedLabels(jobs, config).size;
    await waitUntil('labels and catalog in ClickHouse, read through the service', async () => {
      const r = await cli({}, 'sql', `SELECT (SELECT count() FROM ${db}.relevance_labels FINAL) AS l, (SELECT count() FROM ${db}.instance_catalog FINAL) AS c`, '--json');
      const [row] = r.code === 0 ? (JSON.parse(r.stdout) as Array<{ l: string; c: string }>) : [];
      return Number(row?.l) === labels && Number(row?.c) > 0;
    }, 120_000);
  });

  afterAll(async () => {
    await service?.kill('SIGTERM');
  });

  it('reads through the running service: sql with parameters, spot, cost compare', async () => {
    const db = config.clickhouse.database;
    const team = jobs[0]!.dispatch.team;
    const sql = await cli({}, 'sql', `SELECT count() AS n FROM ${db}.relevance_labels FINAL WHERE team = {team:String}`, '-p', `team=${team}`, '--json');
    expect(sql.code, sql.stderr).toBe(0);
    expect(Number((JSON.parse(sql.stdout) as Array<{ n: string }>)[0]?.n)).toBe(jobs.filter((j) => j.dispatch.team === team && j.outcome.status !== 'CANCELLED').length);
    const csv = await cli({}, 'sql', `SELECT 1 AS one FORMAT CSVWithNames`);
    expect(csv.stdout).toBe('"one"\n1\n');
    const compare = await cli({}, 'cost', 'compare', '--gpu-memory-gb', '40', '--json');
    expect(compare.code, compare.stderr).toBe(0);
    expect((JSON.parse(compare.stdout) as { offers: unknown[] }).offers.length).toBeGreaterThan(0);
  });

  it('refuses writes: without --write the engine says READONLY; with --write it says to stop the service', async () => {
    const db = config.clickhouse.database;
    const insert = await cli({}, 'sql', `INSERT INTO ${db}.relevance_labels (event_id) VALUES ('x')`);
    expect(insert.code).toBe(1);
    expect(oneLine(insert.stderr)).toEqual([expect.stringMatching(/^error: .*readonly mode/i)]);
    const write = await cli({}, 'sql', '--write', `CREATE TABLE ${db}.t (x UInt8) ENGINE = MergeTree ORDER BY x`);
    expect(write.code).toBe(1);
    expect(oneLine(write.stderr)).toEqual([expect.stringMatching(/holds the embedded ClickHouse and serves it read-only: stop it to write/)]);
  });

  it('a query error is one line: no stack trace, no FORMAT the user did not write', async () => {
    const r = await cli({}, 'sql', 'SELEC 1 FROM nowhere');
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toEqual([expect.stringMatching(/^error: Syntax error/)]);
    expect(r.stderr).not.toContain('FORMAT');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const json = await cli({}, 'sql', 'SELECT * FROM nowhere.nothing', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ error: expect.stringContaining('nowhere'), code: 'UNKNOWN_DATABASE' });
  });

  it('cost compare for a workload nothing can run says so once and exits 1', async () => {
    // 500 GB on one GPU: the largest GPU in the catalog has 80 GB.
    const r = await cli({}, 'cost', 'compare', '--gpu-memory-gb', '500');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(oneLine(r.stderr)).toEqual([expect.stringMatching(/^error: no offer can take this workload: it needs 500 GB of memory on each of its 1 GPU\(s\); of the \d+ offers in the catalog, the largest GPU has 80 GB \(/)]);
    const json = await cli({}, 'cost', 'compare', '--gpu-memory-gb', '500', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: expect.stringContaining('no offer can take this workload') });
  });

  it('a data directory held by the service, with its endpoint off, is one line saying what to do', async () => {
    const r = await cli({ ARTENIC_SQL_ENABLED: 'false' }, 'spot');
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toEqual([
      `error: the embedded ClickHouse in ${config.clickhouse.dataDir} is in use by process ${service!.child.pid} (a running service?): query it through that service's SQL endpoint (sql.host:sql.port), stop it, or point both at a ClickHouse server (ARTENIC_CLICKHOUSE_URL)`,
    ]);
  });

  it('without a service, opens the engine itself: read-only unless --write', async () => {
    expect(await service!.kill('SIGTERM')).toBe(0);
    service = undefined;
    const db = config.clickhouse.database;
    const refused = await cli({}, 'sql', `CREATE TABLE ${db}.notes (x UInt8) ENGINE = MergeTree ORDER BY x`);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toEqual([expect.stringMatching(/readonly mode/i)]);
    const created = await cli({}, 'sql', '--write', `CREATE TABLE ${db}.notes (x UInt8) ENGINE = MergeTree ORDER BY x`);
    expect(created.code, created.stderr).toBe(0);
    expect((await cli({}, 'sql', '--write', `INSERT INTO ${db}.notes VALUES (7)`)).code).toBe(0);
    const read = await cli({}, 'sql', `SELECT sum(x) AS s FROM ${db}.notes`, '--json');
    expect(JSON.parse(read.stdout)).toEqual([{ s: 7 }]);
  });
});
