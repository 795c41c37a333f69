/**
 * The SQL endpoint's guard, on the engine itself: reads of the engine's own data pass (with
 * table functions that stay inside it, parameters, FORMAT and SETTINGS); the host's files, the
 * network, INTO OUTFILE, several statements in one and KILL are refused before anything runs.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../../infra/clickhouse/client.ts';
import { checkStatement, StatementRefused } from '../../../infra/clickhouse/statementGuard.ts';

const dir = mkdtempSync(join(tmpdir(), 'guard-'));
const client = createClickHouse({ url: null, username: 'default', password: null, database: 'default', dataDir: dir }, { readOnly: true });
afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

const refusal = (sql: string, params: Record<string, unknown> = {}) =>
  checkStatement(client, sql, params).then(
    () => null,
    (err: unknown) => err,
  );

describe('SQL endpoint statement guard', () => {
  it('lets reads of the engine through', async () => {
    for (const sql of [
      'SELECT count() FROM system.tables',
      'SELECT * FROM numbers(3) AS n JOIN (SELECT number FROM zeros(2)) USING number',
      'SELECT {x:UInt8} + 1 AS y FORMAT JSON',
      'SELECT 1 SETTINGS max_threads = 1',
      'WITH t AS (SELECT * FROM view(SELECT 1 AS a)) SELECT * FROM t',
      "SELECT fileName, 'file(/etc/passwd)' AS not_a_call FROM (SELECT 'x' AS fileName)",
      'SHOW TABLES FROM system',
      'DESCRIBE TABLE system.one',
      'SET max_threads = 2',
      'EXPLAIN SELECT 1',
    ]) {
      expect(await refusal(sql, { x: 1 }), sql).toBeNull();
    }
  });

  it("refuses the host's files, the network and programs, wherever they hide in the statement", async () => {
    const cases: Array<[string, RegExp]> = [
      ["SELECT * FROM file('/etc/hostname', 'LineAsString')", /table function file is not allowed/],
      ["select * from FILE('/etc/hostname')", /table function FILE is not allowed/],
      ["SELECT file('/etc/hostname')", /function file is not allowed/],
      ["SELECT `file`('/etc/hostname')", /function file is not allowed/],
      ["SELECT * FROM url('http://127.0.0.1:9/x', 'LineAsString')", /table function url/],
      ["SELECT * FROM numbers(1) WHERE number IN (SELECT * FROM s3('http://x/y', 'CSV', 'a UInt64'))", /table function s3/],
      ["WITH t AS (SELECT * FROM view(SELECT * FROM remote('h', system.one))) SELECT * FROM t", /table function remote/],
      ["SELECT * FROM executable('x.sh', 'TSV', 'a String')", /table function executable/],
      ["DESCRIBE TABLE file('/etc/hostname')", /table function file/],
      ["EXPLAIN PIPELINE SELECT * FROM file('/etc/hostname')", /table function file/],
      ["SELECT 1 INTO OUTFILE '/tmp/written-by-the-endpoint'", /INTO OUTFILE is not allowed/],
      ['SELECT 1; SELECT 2', /Multi-statements are not allowed/],
      ['KILL QUERY WHERE 1', /KILL is not allowed/],
    ];
    for (const [sql, message] of cases) {
      const err = await refusal(sql);
      expect(err, sql).toBeInstanceOf(StatementRefused);
      expect((err as Error).message, sql).toMatch(message);
    }
    expect(existsSync('/tmp/written-by-the-endpoint')).toBe(false);
  });

  it('refuses an INSERT as the write it is (READONLY), without running it', async () => {
    for (const sql of ['INSERT INTO t VALUES (1)', '/* c */ insert into t FORMAT JSONEachRow {"x":1}', "INSERT INTO t SELECT * FROM file('/etc/hostname')"]) {
      const err = await refusal(sql);
      expect(err, sql).toBeInstanceOf(StatementRefused);
      expect((err as StatementRefused).type).toBe('READONLY');
    }
  });

  it("passes the engine's own errors through", async () => {
    const err = await refusal('SELEC 1');
    expect(err).not.toBeInstanceOf(StatementRefused);
    expect((err as { type?: string }).type).toBe('SYNTAX_ERROR');
  });
});
