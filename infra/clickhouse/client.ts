/**
 * One way to reach ClickHouse for the whole service: @clickhouse/client, either against a
 * server by URL or against the engine embedded in this process through chdb. Same client,
 * same SQL. Statements take values only through bound parameters (`{name:Type}`).
 *
 * Every use of the engine goes through a client made here, never through chdb directly: the
 * service's client, the read-only sessions behind the SQL endpoint (`readOnly`) and the CLI's.
 * The embedded engine runs in a child process (`engineProxy.ts`, `engineHost.ts`), so that its
 * work is off the event loop and its native memory out of the service's RSS: a client's
 * `connection` is the only thing that differs.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { engineFor } from './engineProxy.ts';
import { ROW_JSON } from './rowStream.ts';
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

/** The ClickHouse settings; the engine's restart limits may be left out (defaults 3 within 60 s). */
export type ClickHouseConfig = Omit<Config['clickhouse'], 'engineMaxRestarts' | 'engineRestartWindowMs'> & Partial<Pick<Config['clickhouse'], 'engineMaxRestarts' | 'engineRestartWindowMs'>>;

/** True when the configuration uses the embedded engine rather than a server. */
export function isEmbedded(config: ClickHouseConfig): boolean {
  return !config.url;
}

export function createClickHouse(config: ClickHouseConfig, options: ClickHouseOptions = {}): ClickHouseClient {
  if (config.url) {
    return createClient({
      url: config.url,
      username: config.username,
      password: config.password ?? '',
      request_timeout: 30_000,
      // Failures reach the caller as errors; the client's own console logging would print them twice.
      log: { level: ClickHouseLogLevel.OFF },
      json: ROW_JSON,
      clickhouse_settings: { date_time_input_format: 'best_effort', ...(options.readOnly ? { readonly: '2' } : {}) },
    });
  }
  const path = resolve(config.dataDir);
  mkdirSync(path, { recursive: true });
  // A directory another process holds is refused here, before a child is started for it.
  const holder = engineHolder(path);
  if (holder !== null) throw new EngineLockedError(path, holder);
  const engine = engineFor(path, { maxRestarts: config.engineMaxRestarts ?? 3, restartWindowMs: config.engineRestartWindowMs ?? 60_000 }, engineHolder, orphanEngine);
  const connection = engine.openSession({ readOnly: options.readOnly ?? false, settings: options.readOnly ? (options.sessionSettings ?? {}) : {} });
  return createClient({ connection, json: ROW_JSON, log: { level: ClickHouseLogLevel.OFF } } as Parameters<typeof createClient>[0]);
}

/**
 * The process that holds the engine's data directory, if another live one does. The engine
 * writes its PID into `<dir>/status` and locks that file while it runs (and removes it on a
 * clean close; a crash leaves it, unlocked, with a dead PID). The engine runs in a child process
 * of the service (`engineHost.ts`): the process named is the service that owns that child, and
 * this process's own engine is nobody else's.
 */
export function engineHolder(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(path, 'status'), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(/^PID:\s*(\d+)/m.exec(text)?.[1]);
  if (!Number.isInteger(pid) || pid === process.pid || !alive(pid)) return null;
  const owner = engineOwner(pid);
  // An engine whose service died (SIGKILL) is closing on its own: not a holder (see orphanEngine).
  if (owner === process.pid || owner === 0) return null;
  return owner !== null && alive(owner) ? owner : pid;
}

/**
 * The engine host still holding `path` although its service is gone (killed: the engine saw its
 * channel close and is shutting down), if there is one. A new engine on the directory waits for
 * it (engineProxy).
 */
export function orphanEngine(path: string): number | null {
  try {
    const pid = Number(/^PID:\s*(\d+)/m.exec(readFileSync(join(path, 'status'), 'utf8'))?.[1]);
    return Number.isInteger(pid) && pid !== process.pid && alive(pid) && engineOwner(pid) === 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The service of an engine host process (Linux's /proc): its parent; 0 when the service is gone
 * (the host was re-parented, or its parent is dead) or the process itself is exiting; null for
 * any other process or where /proc says nothing.
 */
function engineOwner(pid: number): number | null {
  try {
    // Exiting or a zombie: going away, as an orphaned engine does once it has closed; waited
    // for, not reported as a holder.
    if (exiting(pid)) return 0;
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('engineHost')) return null;
    const ppid = Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    if (!Number.isInteger(ppid)) return null;
    // Re-parented to init or to a subreaper that is no engine's service, or its service is
    // exiting (SIGKILLed a moment ago): its service died.
    return ppid > 1 && alive(ppid) && !exiting(ppid) && ppidIsService(pid, ppid) ? ppid : 0;
  } catch {
    return null;
  }
}

/** A process whose memory (its command line with it) is already released, or a zombie: it is exiting. */
function exiting(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === '' || /^State:\s*[ZX]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true; // gone meanwhile
  }
}

/** The engine host's environment names the service that started it (ARTENIC_ENGINE_OWNER): a subreaper that adopted it is not that service. */
function ppidIsService(pid: number, ppid: number): boolean {
  try {
    const owner = /(?:^|\0)ARTENIC_ENGINE_OWNER=(\d+)/.exec(readFileSync(`/proc/${pid}/environ`, 'utf8'))?.[1];
    return owner === undefined || Number(owner) === ppid;
  } catch {
    return true;
  }
}

/** `db.table`, for the insert API which takes a table name rather than SQL. The database is validated as an identifier by the config schema. */
export function qualified(database: string, table: string): string {
  return `${database}.${table}`;
}

export async function queryRows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return (await result.json()) as T[];
}
