/**
 * One way to reach ClickHouse for the whole service: @clickhouse/client, either against a
 * server by URL or against the engine embedded in this process through chdb. Same client,
 * same SQL. Statements take values only through bound parameters (`{name:Type}`).
 *
 * Every use of the engine goes through a client made here, never through chdb directly: the
 * service's client, the read-only sessions behind the SQL endpoint (`readOnly`) and the CLI's.
 * Where the engine runs (this thread today; a worker thread later, so that its work leaves the
 * event loop) is this file's business alone: a client's `connection` is the only thing that
 * would change.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection, type Connection } from 'chdb/connection';
import type { Config } from '../../config/options.ts';
import { EngineLockedError } from '../../common/errors.ts';

export type { ClickHouseClient };

export interface ClickHouseOptions {
  /**
   * A session that only reads, enforced by the engine (`readonly = 2`: reads, and settings
   * changes for the session, but no write, no DDL, and no way back to `readonly = 0`). On the
   * embedded engine each such client is a session of its own beside the service's, which
   * keeps writing.
   */
  readOnly?: boolean;
  /** Settings applied to every query of a read-only session (limits, for instance). */
  sessionSettings?: Record<string, string | number>;
}

/** True when the configuration uses the embedded engine rather than a server. */
export function isEmbedded(config: Config['clickhouse']): boolean {
  return !config.url;
}

export function createClickHouse(config: Config['clickhouse'], options: ClickHouseOptions = {}): ClickHouseClient {
  if (config.url) {
    return createClient({
      url: config.url,
      username: config.username,
      password: config.password ?? '',
      request_timeout: 30_000,
      // Failures reach the caller as errors; the client's own console logging would print them twice.
      log: { level: ClickHouseLogLevel.OFF },
      clickhouse_settings: { date_time_input_format: 'best_effort', ...(options.readOnly ? { readonly: '2' } : {}) },
    });
  }
  const path = resolve(config.dataDir);
  mkdirSync(path, { recursive: true });
  const connection = options.readOnly ? readOnlyConnection(openEngine(path), options.sessionSettings ?? {}) : openEngine(path);
  return createClient({ connection, log: { level: ClickHouseLogLevel.OFF } } as Parameters<typeof createClient>[0]);
}

/**
 * The process that holds the engine's data directory, if another live one does. The engine
 * writes its PID into `<dir>/status` and locks that file while it runs (and removes it on a
 * clean close; a crash leaves it, unlocked, with a dead PID).
 */
export function engineHolder(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(path, 'status'), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(/^PID:\s*(\d+)/m.exec(text)?.[1]);
  if (!Number.isInteger(pid) || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

/**
 * A session of the embedded engine on `path`. A directory another process holds is refused
 * before the engine tries (it would print its own lock error on stderr) with an EngineLockedError.
 */
function openEngine(path: string): Connection<Readable> {
  const holder = engineHolder(path);
  if (holder !== null) throw new EngineLockedError(path, holder);
  try {
    return createChdbConnection({ path }) as unknown as Connection<Readable>;
  } catch (err) {
    if (engineHolder(path) !== null || /Cannot lock file/.test((err as Error).message)) throw new EngineLockedError(path, engineHolder(path), { cause: err });
    throw err;
  }
}

/**
 * Wraps a fresh engine session so that nothing reaches it before `SET readonly = 2` (and the
 * session settings) did: the engine, not this code, refuses writes from then on.
 */
function readOnlyConnection(inner: Connection<Readable>, sessionSettings: Record<string, string | number>): Connection<Readable> {
  const setup = ['SET readonly = 2', ...Object.entries(sessionSettings).map(([k, v]) => `SET ${settingName(k)} = ${typeof v === 'number' ? v : `'${v.replace(/'/g, "''")}'`}`)];
  let ready: Promise<void> | undefined;
  const init = () => (ready ??= (async () => {
    for (const query of setup) await inner.command({ query });
  })());
  return {
    query: async (p) => (await init(), inner.query(p)),
    exec: async (p) => (await init(), inner.exec(p)),
    command: async (p) => (await init(), inner.command(p)),
    insert: async (p) => (await init(), inner.insert(p)),
    ping: async (p) => inner.ping(p),
    close: async () => inner.close(),
  } as Connection<Readable>;
}

function settingName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a setting name: ${name}`);
  return name;
}

/** `db.table`, for the insert API which takes a table name rather than SQL. The database is validated as an identifier by the config schema. */
export function qualified(database: string, table: string): string {
  return `${database}.${table}`;
}

export async function queryRows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return (await result.json()) as T[];
}
