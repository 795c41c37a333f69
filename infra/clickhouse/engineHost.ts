/**
 * The child process that owns the embedded ClickHouse engine (chdb) for one data directory.
 * `engineProxy.ts` forks it and talks to it with the messages of `engineProtocol.ts`; the
 * engine's work (parsing, inserting, merging, reading) and its native memory live here, off
 * the service's event loop and out of its heap.
 *
 * Run directly by Node (type stripping): it imports only chdb and types. It exits when told
 * to (`shutdown`) or when its parent goes away (the IPC channel closes).
 */
import { PassThrough, type Readable } from 'node:stream';
import { createChdbConnection, type ChdbConnection } from 'chdb/connection';
import type { EngineOp, FromEngine, ToEngine, WireError, WireParams } from './engineProtocol.ts';
import { CHUNK_BYTES } from './engineProtocol.ts';

const path = process.argv[2];
if (!path || !process.send) {
  console.error('engineHost: run by engineProxy with the data directory as its argument');
  process.exit(2);
}

function send(message: FromEngine): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, undefined, () => resolve());
  });
}

function wireError(err: unknown): WireError {
  const e = err as { name?: string; message?: string; code?: unknown; type?: unknown; stack?: string };
  return {
    name: e?.name ?? 'Error',
    message: e?.message ?? String(err),
    ...(e?.code !== undefined ? { code: String(e.code) } : {}),
    ...(typeof e?.type === 'string' ? { type: e.type } : {}),
    ...(e?.stack ? { stack: e.stack } : {}),
  };
}

function settingName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a setting name: ${name}`);
  return name;
}

// The first connection binds the directory and takes its lock; sessions are connections beside it.
let root: ChdbConnection;
try {
  root = createChdbConnection({ path });
} catch (err) {
  const message = (err as Error).message ?? '';
  await send({ t: 'failed', error: wireError(err), locked: /Cannot lock file/.test(message) });
  process.exit(3);
}

const sessions = new Map<number, Promise<ChdbConnection>>();
const bodies = new Map<number, PassThrough>();
const aborts = new Map<number, AbortController>();
let closing = false;

async function openSession(readOnly: boolean, settings: Record<string, string | number>): Promise<ChdbConnection> {
  const connection = createChdbConnection({ path });
  if (readOnly) {
    // Nothing reaches the session before this: the engine, not this code, refuses writes from here on.
    const setup = ['SET readonly = 2', ...Object.entries(settings).map(([k, v]) => `SET ${settingName(k)} = ${typeof v === 'number' ? v : `'${v.replace(/'/g, "''")}'`}`)];
    for (const query of setup) await connection.command({ query });
  }
  return connection;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

async function run(id: number, sid: number, op: EngineOp, params: WireParams, body: PassThrough | undefined): Promise<void> {
  const abort = new AbortController();
  aborts.set(id, abort);
  try {
    const session = sessions.get(sid);
    if (!session) throw new Error(`no engine session ${sid}`);
    const connection = await session;
    const base = { ...params, query: params.query ?? '', abort_signal: abort.signal } as Parameters<ChdbConnection['query']>[0];
    if (op === 'ping') {
      const r = await connection.ping({ select: params.select ?? true });
      await send({ t: 'result', id, meta: r.success ? { success: true } : { success: false, error: wireError(r.error) }, chunks: false });
      return;
    }
    if (op === 'command' || op === 'insert') {
      const r = op === 'command' ? await connection.command(base) : await connection.insert({ ...base, values: body ?? '' });
      await send({ t: 'result', id, meta: r as unknown as Record<string, unknown>, chunks: false });
      return;
    }
    const r = op === 'query' ? await connection.query(base) : await connection.exec({ ...base, ...(body ? { values: body } : {}) });
    const { stream, ...meta } = r as unknown as { stream: Readable } & Record<string, unknown>;
    const bytes = await readAll(stream);
    await send({ t: 'result', id, meta, chunks: true });
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
      if (abort.signal.aborted) break;
      await send({ t: 'chunk', id, data: bytes.subarray(at, Math.min(bytes.length, at + CHUNK_BYTES)) });
    }
    await send({ t: 'end', id });
  } catch (err) {
    body?.destroy();
    await send({ t: 'error', id, error: wireError(err) });
  } finally {
    aborts.delete(id);
    bodies.delete(id);
  }
}

async function shutdown(code: number): Promise<never> {
  if (!closing) {
    closing = true;
    for (const s of sessions.values()) await s.then((c) => c.close()).catch(() => undefined);
    await root.close().catch(() => undefined);
  }
  process.exit(code);
}

process.on('message', (message: ToEngine) => {
  switch (message.t) {
    case 'open': {
      const opened = openSession(message.readOnly, message.settings);
      opened.catch(() => undefined);
      sessions.set(message.sid, opened);
      return;
    }
    case 'run': {
      let body: PassThrough | undefined;
      if (message.body) {
        body = new PassThrough();
        body.on('error', () => undefined);
        bodies.set(message.id, body);
      }
      void run(message.id, message.sid, message.op, message.params, body);
      return;
    }
    case 'body':
      bodies.get(message.id)?.write(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength));
      return;
    case 'bodyEnd':
      bodies.get(message.id)?.end();
      return;
    case 'cancel':
      aborts.get(message.id)?.abort();
      return;
    case 'close': {
      const s = sessions.get(message.sid);
      sessions.delete(message.sid);
      void (async () => {
        await s?.then((c) => c.close()).catch(() => undefined);
        await send({ t: 'result', id: message.id, meta: {}, chunks: false });
      })();
      return;
    }
    case 'shutdown':
      void shutdown(0);
      return;
  }
});
// The parent went away (it exited or crashed): nobody is left to serve.
process.on('disconnect', () => void shutdown(0));

await send({ t: 'ready', pid: process.pid });
