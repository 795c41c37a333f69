/**
 * The embedded engine in its child process, through the same client as before: results (large
 * ones in chunks), the engine's errors with their codes, read-only sessions, a child that dies
 * restarted with its sessions, one that keeps dying given up with a clear error, and a data
 * directory another process holds refused with that process's PID.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ClickHouseError } from '@clickhouse/client';
import { createClickHouse, engineHolder, queryRows } from '../../../infra/clickhouse/client.ts';
import { engineFor } from '../../../infra/clickhouse/engineProxy.ts';
import { rowStream } from '../../../infra/clickhouse/rowStream.ts';
import { EngineCrashedError, EngineLockedError } from '../../../common/errors.ts';

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-'));
  dirs.push(dir);
  return dir;
};
const configOf = (dataDir: string, engineMaxRestarts = 3) => ({ url: null, username: 'default', password: null, database: 'default', dataDir, engineMaxRestarts, engineRestartWindowMs: 60_000 });
const limitsOf = (n: number) => ({ maxRestarts: n, restartWindowMs: 60_000 });
/** The live processes whose arguments name `dir` (engine hosts on it), from /proc. */
function enginesOn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the embedded engine in a child process', () => {
  it('answers queries and inserts, streams a large result in pieces, and keeps the engine errors', async () => {
    const dir = fresh();
    const client = createClickHouse(configOf(dir));
    try {
      const engine = engineFor(resolve(dir), limitsOf(3), engineHolder);
      expect(await queryRows<{ n: string }>(client, 'SELECT 1 + {x:UInt8} AS n', { x: 2 })).toEqual([{ n: 3 }]);
      expect(engine.pid).not.toBeNull();
      expect(engine.pid).not.toBe(process.pid);
      await client.command({ query: 'CREATE TABLE t (id UInt32, s String) ENGINE = MergeTree ORDER BY id' });
      const rows = Array.from({ length: 20_000 }, (_, i) => ({ id: i, s: `row ${i} ${'x'.repeat(80)}` }));
      await client.insert({ table: 't', values: rows.slice(0, 12_000), format: 'JSONEachRow' });
      // The sink's way: a stream of rows, encoded as the engine's connection reads it.
      await client.insert({ table: 't', values: rowStream(rows.slice(12_000)), format: 'JSONEachRow' });
      // About 2 MiB of TSV: more than one piece crosses.
      const result = await client.query({ query: 'SELECT id, s FROM t ORDER BY id', format: 'TabSeparated' });
      let pieces = 0;
      let text = '';
      for await (const chunk of result.stream()) {
        pieces++;
        for (const row of chunk as Array<{ text: string }>) text += row.text + '\n';
      }
      expect(pieces).toBeGreaterThan(1);
      expect(text.split('\n').filter(Boolean)).toHaveLength(20_000);
      const err = await client.query({ query: 'SELEC 1' }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ClickHouseError);
      expect(err).toMatchObject({ code: '62', type: 'SYNTAX_ERROR' });
    } finally {
      await client.close();
    }
  }, 30_000);

  it('a read-only session is refused writes by the engine, beside a session that writes', async () => {
    const dir = fresh();
    const writer = createClickHouse(configOf(dir));
    const reader = createClickHouse(configOf(dir), { readOnly: true, sessionSettings: { max_result_rows: 5, result_overflow_mode: 'throw' } });
    try {
      await writer.command({ query: 'CREATE TABLE w (x UInt8) ENGINE = MergeTree ORDER BY x' });
      const refused = await reader.command({ query: 'INSERT INTO w VALUES (1)' }).then(() => null, (e: unknown) => e);
      expect(refused).toMatchObject({ type: 'READONLY' });
      await writer.command({ query: 'INSERT INTO w VALUES (1)' });
      expect(await queryRows(reader, 'SELECT x FROM w')).toEqual([{ x: 1 }]);
      const tooMany = await queryRows(reader, 'SELECT number FROM numbers(10)').then(() => null, (e: unknown) => e);
      expect(tooMany).toMatchObject({ type: 'TOO_MANY_ROWS_OR_BYTES' });
    } finally {
      await reader.close();
      await writer.close();
    }
  }, 30_000);

  it('a child that dies fails what was in flight as retriable, comes back with its data, and is given up after too many deaths', async () => {
    const dir = fresh();
    const client = createClickHouse(configOf(dir, 2));
    const reader = createClickHouse(configOf(dir, 2), { readOnly: true });
    const engine = engineFor(resolve(dir), limitsOf(2), engineHolder);
    const deaths: boolean[] = [];
    engine.onDeath = (d) => deaths.push(d.respawn);
    try {
      await client.command({ query: 'CREATE TABLE k (x UInt8) ENGINE = MergeTree ORDER BY x' });
      await client.command({ query: 'INSERT INTO k VALUES (7)' });
      const first = engine.pid;
      const inFlight = queryRows(client, 'SELECT sleep(2)').then(() => null, (e: unknown) => e);
      await new Promise((r) => setTimeout(r, 300));
      engine.kill();
      const err = await inFlight;
      expect(err).toBeInstanceOf(EngineCrashedError);
      expect((err as EngineCrashedError).retriable).toBe(true);
      // Respawned: the data is there, and the read-only session is read-only again.
      expect(await queryRows(client, 'SELECT x FROM k')).toEqual([{ x: 7 }]);
      expect(engine.pid).not.toBe(first);
      expect(await reader.command({ query: 'INSERT INTO k VALUES (1)' }).then(() => null, (e: unknown) => e)).toMatchObject({ type: 'READONLY' });
      // Two more deaths within the window: past maxRestarts = 2.
      for (let i = 0; i < 2; i++) {
        await queryRows(client, 'SELECT 1');
        const exited = new Promise<void>((r) => {
          const before = deaths.length;
          const poll = setInterval(() => deaths.length > before && (clearInterval(poll), r()), 20);
        });
        engine.kill();
        await exited;
      }
      expect(deaths).toEqual([true, true, false]);
      const gaveUp = await queryRows(client, 'SELECT 1').then(() => null, (e: unknown) => e);
      expect(gaveUp).toBeInstanceOf(EngineCrashedError);
      expect((gaveUp as EngineCrashedError).retriable).toBe(false);
      expect((gaveUp as Error).message).toMatch(/died 3 times within 60000 ms/);
    } finally {
      await reader.close();
      await client.close();
    }
  }, 30_000);

  it('a respawned child that dies before it opened the directory fails the statements waiting for it as retriable, within the limit', async () => {
    const dir = fresh();
    const client = createClickHouse(configOf(dir, 3));
    const engine = engineFor(resolve(dir), limitsOf(3), engineHolder);
    try {
      await client.command({ query: 'CREATE TABLE k (x UInt8) ENGINE = MergeTree ORDER BY x' });
      const first = engine.pid;
      const died = new Promise<void>((r) => (engine.onDeath = () => r()));
      engine.kill();
      await died;
      // Sent while the respawn starts: it waits for the new child, which is killed before it is ready.
      const waiting = queryRows(client, 'SELECT 1').then(() => null, (e: unknown) => e);
      const deadline = Date.now() + 10_000;
      while ((engine.pid === null || engine.pid === first) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      expect(engine.pid).not.toBeNull();
      engine.kill();
      const err = await waiting;
      expect(err).toBeInstanceOf(EngineCrashedError);
      expect((err as Error).message).toMatch(/exited before it opened/);
      // Two deaths of the three allowed: not given up, so a caller retries, and it comes back.
      expect((err as EngineCrashedError).retriable).toBe(true);
      expect(await queryRows(client, 'SELECT count() AS n FROM k')).toEqual([{ n: 0 }]);
      // One child for the directory, the one the proxy tracks (no second one started beside the respawn).
      expect(enginesOn(resolve(dir))).toEqual([engine.pid]);
    } finally {
      await client.close();
    }
  }, 30_000);

  it('a directory another process holds is refused with that process PID', async () => {
    const dir = fresh();
    // Another service: a process of its own whose engine child holds the directory.
    const host = fileURLToPath(new URL('../../../infra/clickhouse/engineHost.ts', import.meta.url));
    const other = spawn(process.execPath, ['-e', `const c = require('node:child_process').fork(${JSON.stringify(host)}, [${JSON.stringify(resolve(dir))}], { serialization: 'advanced' }); c.on('message', (m) => m.t === 'ready' && process.send('held')); process.on('disconnect', () => c.kill());`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      await new Promise((r) => other.once('message', r));
      let err: unknown = null;
      try {
        createClickHouse(configOf(dir));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EngineLockedError);
      expect((err as EngineLockedError).holderPid).toBe(other.pid);
      expect((err as Error).message).toContain(`in use by process ${other.pid}`);
    } finally {
      other.kill();
      await new Promise((r) => other.once('exit', r));
    }
  }, 30_000);

  it('the engine of a killed service is waited for, not taken for a holder', async () => {
    const dir = fresh();
    const host = fileURLToPath(new URL('../../../infra/clickhouse/engineHost.ts', import.meta.url));
    const killed = spawn(process.execPath, ['-e', `const c = require('node:child_process').fork(${JSON.stringify(host)}, [${JSON.stringify(resolve(dir))}], { serialization: 'advanced' }); c.on('message', (m) => m.t === 'ready' && process.send('held'));`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise((r) => killed.once('message', r));
    killed.kill('SIGKILL');
    await new Promise((r) => killed.once('exit', r));
    const client = createClickHouse(configOf(dir));
    try {
      expect(await queryRows(client, 'SELECT 1 AS x')).toEqual([{ x: 1 }]);
    } finally {
      await client.close();
    }
  }, 30_000);
});
