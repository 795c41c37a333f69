/**
 * The running service serves its embedded ClickHouse over ClickHouse's HTTP interface, read-only:
 * @clickhouse/client queries the live tables while the service ingests, with bound parameters,
 * formats and basic auth; clickhouse-go over HTTP (the client of Grafana's ClickHouse data source)
 * reads the same rows in Native format; every kind of write is refused by the engine, and the
 * service's own writes go on.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { ensureTopics } from '../../topology/admin.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { freePort } from '../helpers/freePort.ts';
import { goClickHouseQuery } from '../helpers/interop.ts';
import { expectedLabels, randomName, testConfig, waitUntil } from '../helpers/testConfig.ts';

const USER = 'analyst';
const PASSWORD = `pw-${randomName('sql')}`;
// Refused writes are expected here; the client would log each one as an error.
const QUIET = { level: ClickHouseLogLevel.OFF };

describe('SQL endpoint of the running service', () => {
  let config: ReturnType<typeof testConfig>;
  let service: ServiceProcess;
  let client: ClickHouseClient;
  let publisher: Publisher;
  const logger = createLogger('warn');
  const g = new EventGenerator({ seed: 77, runId: 'sql' });
  const start = Date.UTC(2026, 8, 1);
  const first = Array.from({ length: 150 }, (_, i) => g.job(start + i * 60_000));
  const second = Array.from({ length: 150 }, (_, i) => g.job(start + (150 + i) * 60_000));

  beforeAll(async () => {
    config = testConfig({ sql: { port: await freePort() } });
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    await ensureTopics(createKafka(config, logger), config, []);
    service = await startServiceProcess(config, join(tmpdir(), `${randomName('sql-endpoint')}.log`), { ARTENIC_SQL_USERNAME: USER, ARTENIC_SQL_PASSWORD: PASSWORD });
    expect(service.sqlUrl).toBe(`http://127.0.0.1:${config.sql.port}`);
    client = createClient({ url: service.sqlUrl, username: USER, password: PASSWORD, database: config.clickhouse.database, log: QUIET });
    publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), serde, config.topics);
  });

  afterAll(async () => {
    await publisher?.close();
    await client?.close();
    await service?.kill('SIGTERM');
  });

  const labelCount = async () => {
    const r = await client.query({ query: 'SELECT count() AS n FROM relevance_labels FINAL', format: 'JSONEachRow' });
    return Number(((await r.json()) as Array<{ n: string }>)[0]?.n);
  };

  it('answers @clickhouse/client while the service ingests', async () => {
    await publisher.addJobs(first);
    await publisher.flush();
    const firstLabels = expectedLabels(first, config).size;
    await waitUntil('the first labels through the endpoint', async () => (await labelCount()) === firstLabels, 120_000);

    // The second batch goes in while we keep querying: every answer is a consistent count
    // between the two totals, and the counts only grow.
    const total = expectedLabels([...first, ...second], config).size;
    await publisher.addJobs(second);
    const flushed = publisher.flush();
    const seen: number[] = [];
    await waitUntil('the second labels through the endpoint', async () => {
      seen.push(await labelCount());
      return seen[seen.length - 1] === total;
    }, 120_000);
    await flushed;
    expect(seen.every((n, i) => n >= firstLabels && n <= total && (i === 0 || n >= (seen[i - 1] as number)))).toBe(true);
    expect(new Set(seen).size).toBeGreaterThan(1);

    // Bound parameters, as URL parameters and as a multipart body.
    const team = first[0]!.dispatch.team;
    const byTeam = [...first, ...second].filter((j) => j.dispatch.team === team && j.outcome.status !== 'CANCELLED').length;
    const query = 'SELECT count() AS n FROM relevance_labels FINAL WHERE team = {team:String}';
    const viaUrl = await client.query({ query, query_params: { team }, format: 'JSONEachRow' });
    expect(Number(((await viaUrl.json()) as Array<{ n: string }>)[0]?.n)).toBe(byTeam);
    const multipart = createClient({ url: service.sqlUrl, username: USER, password: PASSWORD, database: config.clickhouse.database, use_multipart_params: true, log: QUIET });
    const viaBody = await multipart.query({ query, query_params: { team: "x' OR 1=1 --" }, format: 'JSONEachRow' });
    expect(Number(((await viaBody.json()) as Array<{ n: string }>)[0]?.n)).toBe(0);
    await multipart.close();

    // FORMAT in the query, default_format, and the database parameter; the views work.
    const auth = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
    const csv = await fetch(`${service.sqlUrl}/?database=${config.clickhouse.database}&query=${encodeURIComponent('SELECT count() FROM label_daily FORMAT CSVWithNames')}`, { headers: auth });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('x-clickhouse-format')).toBe('CSVWithNames');
    expect((await csv.text()).split('\n')[0]).toBe('"count()"');
    const tsv = await fetch(`${service.sqlUrl}/?default_format=TSV`, { method: 'POST', body: `SELECT ${total} = (SELECT count() FROM ${config.clickhouse.database}.relevance_labels FINAL)`, headers: auth });
    expect(await tsv.text()).toBe('1\n');
    expect(await (await fetch(`${service.sqlUrl}/ping`)).text()).toBe('Ok.\n');
  });

  it('refuses every write, with the engine\'s READONLY error, and changes nothing', async () => {
    const before = await labelCount();
    const writes: Array<[string, () => Promise<unknown>]> = [
      ['INSERT', () => client.command({ query: "INSERT INTO relevance_labels (event_id, job_id) VALUES ('x', 'x')" })],
      ['insert()', () => client.insert({ table: 'relevance_labels', values: [{ event_id: 'y', job_id: 'y' }], format: 'JSONEachRow' })],
      ['CREATE TABLE', () => client.command({ query: 'CREATE TABLE intruder (x UInt8) ENGINE = MergeTree ORDER BY x' })],
      ['DROP TABLE', () => client.command({ query: 'DROP TABLE relevance_labels' })],
      ['ALTER DELETE', () => client.command({ query: 'ALTER TABLE relevance_labels DELETE WHERE 1' })],
      ['TRUNCATE', () => client.command({ query: 'TRUNCATE TABLE relevance_labels' })],
      ['readonly=0', () => client.query({ query: 'SELECT 1', clickhouse_settings: { readonly: '0' } })],
      ['SETTINGS readonly=0', () => client.query({ query: 'SELECT 1 SETTINGS readonly = 0' })],
    ];
    for (const [what, write] of writes) {
      const err = await write().then(
        () => null,
        (e: unknown) => e as { code?: string; type?: string; message: string },
      );
      expect(err, `${what} was accepted`).not.toBeNull();
      expect(err?.type, `${what}: ${err?.message}`).toBe('READONLY');
    }
    expect(await labelCount()).toBe(before);
    const tables = await client.query({ query: "SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'intruder'", format: 'JSONEachRow' });
    expect(Number(((await tables.json()) as Array<{ n: string }>)[0]?.n)).toBe(0);
  });

  it("refuses what would reach the service's host: its files, the network, INTO OUTFILE, several statements, KILL", async () => {
    const refused: Array<[string, string]> = [
      ["SELECT * FROM file('/etc/hostname', 'LineAsString')", 'ACCESS_DENIED'],
      ["SELECT file('/etc/hostname')", 'ACCESS_DENIED'],
      ["SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')", 'ACCESS_DENIED'],
      ["SELECT 1 INTO OUTFILE '/tmp/artenic-endpoint-outfile'", 'ACCESS_DENIED'],
      ['SELECT 1; SELECT 2', 'SYNTAX_ERROR'],
      ['KILL QUERY WHERE 1', 'ACCESS_DENIED'],
    ];
    for (const [query, type] of refused) {
      const err = await client.query({ query }).then(
        () => null,
        (e: unknown) => e as { type?: string; message: string },
      );
      expect(err?.type, `${query}: ${err?.message}`).toBe(type);
    }
    expect(await labelCount()).toBeGreaterThan(0);
  });

  it("answers the client Grafana's ClickHouse data source is built on (clickhouse-go, HTTP, Native)", async () => {
    const host = new URL(service.sqlUrl).host;
    const db = config.clickhouse.database;
    const team = first[0]!.dispatch.team;
    // Strings, LowCardinality, Nullable, DateTime64, arrays and integers, as Native for its protocol version.
    const select = (param: string) =>
      `SELECT job_id, label, status, metric, event_time, [team, workload_model_family] AS names, toUInt64(label) * 2 AS twice
       FROM relevance_labels FINAL WHERE team = ${param} ORDER BY job_id LIMIT 20`;
    const go = await goClickHouseQuery(host, db, USER, PASSWORD, select('?'), [team]);
    expect(go.code, go.stderr).toBe(0);
    const viaGo = go.stdout.trim().split('\n').map((l) => JSON.parse(l) as { job_id: string; label: number; status: string; metric: number | null; event_time: string; names: string[]; twice: number });
    const viaJs = (await (await client.query({ query: select('{team:String}'), query_params: { team }, format: 'JSONEachRow' })).json()) as Array<{ job_id: string; label: number; status: string; metric: number | null; event_time: string; names: string[]; twice: string }>;
    expect(viaGo.length).toBeGreaterThan(0);
    expect(viaGo.map((r) => ({ ...r, event_time: Date.parse(r.event_time) }))).toEqual(
      viaJs.map((r) => ({ ...r, event_time: Date.parse(`${r.event_time.replace(' ', 'T')}Z`), twice: Number(r.twice) })),
    );
    const write = await goClickHouseQuery(host, db, USER, PASSWORD, 'CREATE TABLE intruder (x UInt8) ENGINE = Memory');
    expect(write.code).toBe(1);
    expect(write.stderr).toContain('READONLY');
    const denied = await goClickHouseQuery(host, db, USER, 'wrong', 'SELECT 1');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('AUTHENTICATION_FAILED');
  });

  it('asks for the configured password', async () => {
    const anonymous = createClient({ url: service.sqlUrl, log: QUIET });
    const err = await anonymous.query({ query: 'SELECT 1' }).then(
      () => null,
      (e: unknown) => e as { type?: string },
    );
    expect(err?.type).toBe('AUTHENTICATION_FAILED');
    const wrong = await fetch(`${service.sqlUrl}/?query=SELECT%201`, { headers: { 'x-clickhouse-user': USER, 'x-clickhouse-key': 'wrong' } });
    expect(wrong.status).toBe(401);
    await anonymous.close();
  });
});
