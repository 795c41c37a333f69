/**
 * The messages between the service and the child process that owns the embedded ClickHouse
 * engine (`engineHost.ts`), over Node's IPC channel with the `advanced` (structured clone)
 * serialization, so that Buffers cross as bytes.
 *
 * Every request carries an id; every answer names the id it answers. A session (`sid`) is one
 * chdb connection in the child: the service's, or a read-only one per SQL endpoint request.
 * Bodies and results cross in chunks of at most CHUNK_BYTES, so that neither side serializes
 * one huge message while its event loop waits.
 *
 * This file holds types and constants only: the child (run by Node's type stripping) imports
 * nothing else of the project.
 */

/** The largest piece of an insert body or a result in one message. */
export const CHUNK_BYTES = 1024 * 1024;

/** What a request without a body asks; `params` are the connection parameters less streams and signals. */
export type EngineOp = 'query' | 'exec' | 'command' | 'insert' | 'ping';

export interface WireParams {
  query?: string;
  clickhouse_settings?: Record<string, unknown>;
  query_params?: Record<string, unknown>;
  query_id?: string;
  select?: boolean;
}

export type ToEngine =
  /** Opens a session: a fresh chdb connection, made read-only (`SET readonly = 2` and the settings) before anything else runs on it. */
  | { t: 'open'; sid: number; readOnly: boolean; settings: Record<string, string | number> }
  | { t: 'close'; id: number; sid: number }
  /** A statement; `body: true` when chunks of its insert or exec body follow, up to `bodyEnd`. */
  | { t: 'run'; id: number; sid: number; op: EngineOp; params: WireParams; body: boolean }
  | { t: 'body'; id: number; data: Uint8Array }
  | { t: 'bodyEnd'; id: number }
  /** The caller aborted (its abort signal fired): the child aborts the engine's query. */
  | { t: 'cancel'; id: number }
  /** Close every session and exit. */
  | { t: 'shutdown' };

export interface WireError {
  name: string;
  message: string;
  /** ClickHouse's numeric code (as a string, as @clickhouse/client has it) or this project's code. */
  code?: string;
  type?: string;
  stack?: string;
}

export type FromEngine =
  /** The engine's data directory is bound (the child has its lock). */
  | { t: 'ready'; pid: number }
  /** The engine could not open its directory; `locked` when another process holds it. */
  | { t: 'failed'; error: WireError; locked: boolean }
  /** A statement ran; `chunks: true` when its result follows in `chunk` messages up to `end`. */
  | { t: 'result'; id: number; meta: Record<string, unknown>; chunks: boolean }
  | { t: 'chunk'; id: number; data: Uint8Array }
  | { t: 'end'; id: number }
  | { t: 'error'; id: number; error: WireError };
