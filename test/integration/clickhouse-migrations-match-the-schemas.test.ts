/**
 * The embedded ClickHouse engine: migrations apply once and in order, the tables match the
 * columns derived from the .avsc files, and hostile input in a bound parameter stays data.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse, queryRows } from '../../infra/clickhouse/client.ts';
import { columnsOfRole, META_COLUMNS, TABLE_OF_ROLE, toRow } from '../../infra/clickhouse/flatten.ts';
import { loadMigrations, migrate } from '../../infra/clickhouse/migrate.ts';
import { TOPIC_ROLES } from '../../schemas/catalog.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { testConfig } from '../helpers/testConfig.ts';

describe('ClickHouse migrations', () => {
  const config = testConfig();
  const client = createClickHouse(config.clickhouse);
  const db = config.clickhouse.database;
  afterAll(() => client.close());

  it('apply once, in order', async () => {
    const first = await migrate(client, db);
    expect(first).toEqual(loadMigrations().map((m) => m.name));
    expect(await migrate(client, db)).toEqual([]);
  });

  it('create one table per topic whose columns are the schema-derived ones', async () => {
    for (const role of TOPIC_ROLES) {
      const described = await queryRows<{ name: string; type: string }>(client, 'SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position', {
        db,
        t: TABLE_OF_ROLE(role),
      });
      const expected = [...columnsOfRole(role).map((c) => ({ name: c.name, type: c.type })), ...META_COLUMNS.map((name) => ({ name }))];
      expect(described.slice(0, expected.length).map((c) => c.name), role).toEqual(expected.map((c) => c.name));
      for (const [i, c] of columnsOfRole(role).entries()) expect(described[i]?.type, `${role}.${c.name}`).toBe(c.type);
    }
  });

  it('keeps hostile input in bound parameters as data', async () => {
    const g = new EventGenerator({ seed: 1, runId: 'sql' });
    const job = g.job(Date.UTC(2026, 0, 1));
    const hostile = `x'); DROP TABLE ${db}.job_dispatch; --`;
    await client.insert({
      table: `${db}.job_dispatch`,
      values: [toRow('job-dispatch', { ...job.dispatch, team: hostile } as unknown as Record<string, unknown>, { topic: 't', partition: 0, offset: '0' })],
      format: 'JSONEachRow',
    });
    const rows = await queryRows<{ team: string }>(client, `SELECT team FROM ${db}.job_dispatch WHERE team = {team:String}`, { team: hostile });
    expect(rows).toEqual([{ team: hostile }]);
    const [count] = await queryRows<{ n: string }>(client, `SELECT count() AS n FROM ${db}.job_dispatch`);
    expect(Number(count?.n)).toBe(1);
  });
});
