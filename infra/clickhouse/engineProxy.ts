/**
 * The embedded ClickHouse engine, run in a child process (`engineHost.ts`) and reached through a
 * `Connection` for @clickhouse/client, the same interface chdb's own connection has: the
 * service's client, the SQL endpoint's read-only sessions and the CLI see no difference.
 *
 * Why a child process: chdb's calls run native work (parsing, encoding, merging) and hold
 * native memory (hundreds of MiB under load) inside whoever loads it. In a child, neither is on
 * the service's event loop or in its RSS. (A worker thread would have shared the memory, and
 * chdb 3.4 crashes at exit in one.)
 *
 * One child per data directory per process, shared by every session on it, started with the
 * first session and stopped with the last. A child that dies fails the statements in flight
 * with a retriable EngineCrashedError and is started again at once, its sessions reopened (a
 * read-only one read-only again); after `maxRestarts` deaths within `restartWindowMs`, every
 * statement fails with a non-retriable EngineCrashedError instead.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ClickHouseError } from '@clickhouse/client';
import type { Connection } from '@clickhouse/client-common';
import { EngineCrashedError, EngineLockedError } from '../../common/errors.ts';
import { CHUNK_BYTES, type EngineOp, type FromEngine, type ToEngine, type WireError, type WireParams } from './engineProtocol.ts';

export interface EngineLimits {
  /** Deaths tolerated within the window before the engine is given up. */
  maxRestarts: number;
  restartWindowMs: number;
}

export interface EngineSessionOptions {
  readOnly: boolean;
  settings: Record<string, string | number>;
}

interface Pending {
  resolve(answer: { meta: Record<string, unknown>; stream?: Readable }): void;
  reject(err: Error): void;
  /** Set once the result header came, while its chunks arrive. */
  stream?: Readable;
}

const HOST = fileURLToPath(new URL('./engineHost.ts', import.meta.url));
const engines = new Map<string, EngineProcess>();
/** Engines of this process still closing a directory, which a new one on it waits for. */
const stopping = new Map<string, Promise<void>>();

/** The engine child of `path` in this process, started if need be (sessions share it). */
export function engineFor(path: string, limits: EngineLimits, holderOf: (path: string) => number | null, orphanOf: (path: string) => number | null = () => null): EngineProcess {
  let engine = engines.get(path);
  if (!engine) {
    engine = new EngineProcess(path, limits, holderOf, orphanOf);
    engines.set(path, engine);
  }
  return engine;
}

/** Restores a ClickHouseError (code, type) or another error from its wire form. */
function fromWire(e: WireError): Error {
  const err = e.type !== undefined || /^\d+$/.test(e.code ?? '') ? new ClickHouseError({ message: e.message, code: e.code ?? '', type: e.type }) : Object.assign(new Error(e.message), { name: e.name, ...(e.code ? { code: e.code } : {}) });
  if (e.stack) err.stack = `${err.name}: ${e.message}\n    (in the ClickHouse engine process)\n${e.stack.split('\n').slice(1).join('\n')}`;
  return err;
}

function toBytes(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export class EngineProcess {
  private child: ChildProcess | null = null;
  /** Resolves when the current child has bound the directory. */
  private started: Promise<ChildProcess> | null = null;
  private starting = false;
  private ready = false;
  private readonly sessions = new Map<number, EngineSessionOptions>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextSid = 1;
  private deaths: number[] = [];
  private gaveUp: EngineCrashedError | null = null;
  private stopping: Promise<void> | null = null;
  /** Observer of each death of the child: its exit code or signal, and whether it is respawned. */
  onDeath?: (info: { code: number | null; signal: NodeJS.Signals | null; respawn: boolean }) => void;

  constructor(
    readonly path: string,
    private readonly limits: EngineLimits,
    private readonly holderOf: (path: string) => number | null,
    private readonly orphanOf: (path: string) => number | null = () => null,
  ) {}

  /** The child's PID while it runs. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Opens a session: its own chdb connection in the child, read-only (enforced by the engine) when asked. */
  openSession(options: EngineSessionOptions): Connection<Readable> {
    const sid = this.nextSid++;
    this.sessions.set(sid, options);
    // A child that is up opens it now; one that is starting opens every session once ready.
    if (this.ready) void this.post({ t: 'open', sid, ...options }).catch(() => undefined);
    else void this.start().catch(() => undefined);
    return new ProxyConnection(this, sid);
  }

  private start(): Promise<ChildProcess> {
    if (this.gaveUp) return Promise.reject(this.gaveUp);
    if (!this.started) {
      // Forgotten only while still current: a child that exited early was already respawned by onExit, whose start stays (else a second child would be started beside it).
      const started: Promise<ChildProcess> = this.spawn().catch((err: unknown) => {
        if (this.started === started) this.started = null;
        throw err;
      });
      this.started = started;
    }
    return this.started;
  }

  private async spawn(): Promise<ChildProcess> {
    // A child of this process that is still closing the same directory lets go of it first.
    await stopping.get(this.path);
    await this.outwait();
    const holder = this.holderOf(this.path);
    if (holder !== null) throw new EngineLockedError(this.path, holder);
    const execArgv = (process.features as { typescript?: unknown }).typescript ? [] : ['--experimental-strip-types', '--no-warnings=ExperimentalWarning'];
    const child = fork(HOST, [this.path], { serialization: 'advanced', execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ARTENIC_ENGINE_OWNER: String(process.pid) } });
    this.child = child;
    this.starting = true;
    this.refresh();
    const ready = new Promise<ChildProcess>((resolve, reject) => {
      const onMessage = (m: FromEngine) => {
        if (m.t === 'ready') {
          child.off('exit', onEarlyExit);
          // Only now: the child listens from here on. Sessions open before any statement (the channel keeps order).
          for (const [sid, options] of this.sessions) void this.post({ t: 'open', sid, ...options }).catch(() => undefined);
          this.ready = true;
          this.starting = false;
          this.refresh();
          resolve(child);
        } else if (m.t === 'failed') {
          child.off('exit', onEarlyExit);
          this.starting = false;
          const locked = m.locked || this.holderOf(this.path) !== null;
          reject(locked ? new EngineLockedError(this.path, this.holderOf(this.path), { cause: fromWire(m.error) }) : fromWire(m.error));
        }
      };
      // Retriable like any other death: onExit counts it, and once past the limit start() refuses with the non-retriable give-up.
      const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null) => reject(new EngineCrashedError(`the ClickHouse engine process exited before it opened ${this.path} (code ${code}, signal ${signal})`, { retriable: true }));
      child.on('message', onMessage);
      child.once('exit', onEarlyExit);
    });
    child.on('message', (m: FromEngine) => this.onMessage(m));
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    ready.catch(() => {
      // Refused (a lock) or exited early (counted by onExit already): this child is done.
      if (this.child !== child) return;
      this.child = null;
      this.starting = false;
      child.kill('SIGKILL');
    });
    return ready;
  }

  /**
   * The engine of a service that was killed closes on its own once its channel is gone: wait
   * for it (15 s at most, then SIGKILL it), rather than refuse the directory as held.
   */
  private async outwait(): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (let pid = this.orphanOf(this.path); pid !== null; pid = this.orphanOf(this.path)) {
      if (Date.now() > deadline) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
        await new Promise((r) => setTimeout(r, 500));
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The channel holds the process open only while a statement is in flight or the child starts. */
  private refresh(): void {
    const child = this.child;
    if (!child) return;
    const busy = this.pending.size > 0 || this.starting;
    if (busy) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }

  private post(message: ToEngine): Promise<void> {
    const child = this.child;
    return new Promise((resolve, reject) => {
      if (!child?.connected) return reject(new EngineCrashedError('the ClickHouse engine process is not running', { retriable: true }));
      child.send(message, undefined, undefined, (err) => (err ? reject(err) : resolve()));
    });
  }

  private onMessage(m: FromEngine): void {
    if (m.t === 'ready' || m.t === 'failed') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    switch (m.t) {
      case 'result':
        if (m.chunks) {
          p.stream = new Readable({ read() {} });
          p.resolve({ meta: m.meta, stream: p.stream });
        } else {
          this.settle(m.id);
          p.resolve({ meta: m.meta });
        }
        return;
      case 'chunk':
        p.stream?.push(toBytes(m.data));
        return;
      case 'end':
        this.settle(m.id);
        p.stream?.push(null);
        return;
      case 'error': {
        this.settle(m.id);
        const err = fromWire(m.error);
        if (p.stream) p.stream.destroy(err);
        else p.reject(err);
        return;
      }
    }
  }

  private settle(id: number): void {
    this.pending.delete(id);
    this.refresh();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    this.started = null;
    this.ready = false;
    this.starting = false;
    const expected = this.stopping !== null;
    const now = Date.now();
    if (!expected) {
      this.deaths = [...this.deaths.filter((t) => now - t < this.limits.restartWindowMs), now];
      if (this.deaths.length > this.limits.maxRestarts) {
        this.gaveUp = new EngineCrashedError(
          `the ClickHouse engine process died ${this.deaths.length} times within ${this.limits.restartWindowMs} ms (last: code ${code}, signal ${signal}); not restarting it`,
          { retriable: false },
        );
      }
    }
    const err =
      this.gaveUp ??
      new EngineCrashedError(expected ? 'the ClickHouse engine process was stopped' : `the ClickHouse engine process died (code ${code}, signal ${signal}); restarting it`, { retriable: !expected });
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.stream) p.stream.destroy(err);
      else p.reject(err);
    }
    const respawn = !expected && !this.gaveUp && this.sessions.size > 0;
    if (!expected) this.onDeath?.({ code, signal, respawn });
    if (respawn) void this.start().catch(() => undefined);
  }

  /** Runs one statement on a session; `body` is an insert's or exec's values. */
  async request(sid: number, op: EngineOp, params: WireParams, body?: string | Readable, signal?: AbortSignal): Promise<{ meta: Record<string, unknown>; stream?: Readable }> {
    if (!this.sessions.has(sid)) throw new Error('the ClickHouse session is closed');
    await this.start();
    const id = this.nextId++;
    const answer = new Promise<{ meta: Record<string, unknown>; stream?: Readable }>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.refresh();
    const onAbort = () => void this.post({ t: 'cancel', id }).catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.post({ t: 'run', id, sid, op, params, body: body !== undefined });
      if (body !== undefined) {
        if (typeof body === 'string') {
          // Slices of characters, each encoded on its own: no copy of the whole body at once.
          const step = CHUNK_BYTES / 4;
          for (let at = 0; at < body.length; at += step) await this.post({ t: 'body', id, data: Buffer.from(body.slice(at, at + step)) });
        } else {
          // Pieces of up to CHUNK_BYTES: the client's encoder hands over a row at a time.
          let parts: Buffer[] = [];
          let size = 0;
          const flush = async () => {
            const data = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
            parts = [];
            size = 0;
            for (let at = 0; at < data.length; at += CHUNK_BYTES) await this.post({ t: 'body', id, data: data.subarray(at, at + CHUNK_BYTES) });
          };
          for await (const chunk of body) {
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
            parts.push(bytes);
            size += bytes.length;
            if (size >= CHUNK_BYTES) await flush();
          }
          if (size > 0) await flush();
        }
        await this.post({ t: 'bodyEnd', id });
      }
    } catch (err) {
      // The child died meanwhile (onExit rejected `answer`), or the body stream failed.
      const p = this.pending.get(id);
      if (p) {
        this.settle(id);
        p.reject(err as Error);
      }
    }
    try {
      return await answer;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async closeSession(sid: number): Promise<void> {
    if (!this.sessions.delete(sid)) return;
    if (this.sessions.size > 0) {
      if (this.child?.connected) await this.closeOne(sid);
      return;
    }
    await this.stop();
  }

  private async closeOne(sid: number): Promise<void> {
    const id = this.nextId++;
    const answer = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.refresh();
    await this.post({ t: 'close', id, sid }).catch(() => this.settle(id));
    await answer.catch(() => undefined);
  }

  /** Closes every session and waits for the child to exit (the directory's lock goes with it). */
  stop(): Promise<void> {
    if (engines.get(this.path) === this) engines.delete(this.path);
    this.stopping ??= (async () => {
      const child = this.child;
      if (!child) return;
      await this.started?.catch(() => undefined);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.ref();
      await this.post({ t: 'shutdown' }).catch(() => child.kill('SIGKILL'));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    })();
    const done = this.stopping;
    stopping.set(this.path, done);
    void done.finally(() => {
      if (stopping.get(this.path) === done) stopping.delete(this.path);
    });
    return done;
  }

  /** For tests: kills the child as a crash would. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    return this.child?.kill(signal) ?? false;
  }
}

/** One session, as the `Connection` @clickhouse/client drives. */
class ProxyConnection implements Connection<Readable> {
  private closed = false;

  constructor(
    readonly engine: EngineProcess,
    private readonly sid: number,
  ) {}

  private wire(p: { query?: string; clickhouse_settings?: unknown; query_params?: Record<string, unknown>; query_id?: string }): WireParams {
    return {
      ...(p.query !== undefined ? { query: p.query } : {}),
      ...(p.clickhouse_settings ? { clickhouse_settings: p.clickhouse_settings as Record<string, unknown> } : {}),
      ...(p.query_params && Object.keys(p.query_params).length > 0 ? { query_params: p.query_params } : {}),
      ...(p.query_id ? { query_id: p.query_id } : {}),
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('ClickHouse connection is closed');
  }

  async query(params: Parameters<Connection<Readable>['query']>[0]) {
    this.assertOpen();
    const { meta, stream } = await this.engine.request(this.sid, 'query', this.wire(params), undefined, params.abort_signal);
    return { ...(meta as { query_id: string; response_headers: Record<string, string>; http_status_code: number }), stream: stream ?? Readable.from([]) };
  }

  async exec(params: Parameters<Connection<Readable>['exec']>[0]) {
    this.assertOpen();
    const { meta, stream } = await this.engine.request(this.sid, 'exec', this.wire(params), params.values, params.abort_signal);
    return { ...(meta as unknown as Awaited<ReturnType<Connection<Readable>['exec']>>), stream: stream ?? Readable.from([]) };
  }

  async command(params: Parameters<Connection<Readable>['command']>[0]) {
    this.assertOpen();
    const { meta } = await this.engine.request(this.sid, 'command', this.wire(params), undefined, params.abort_signal);
    return meta as unknown as Awaited<ReturnType<Connection<Readable>['command']>>;
  }

  async insert(params: Parameters<Connection<Readable>['insert']>[0]) {
    this.assertOpen();
    const { meta } = await this.engine.request(this.sid, 'insert', this.wire(params), params.values, params.abort_signal);
    return meta as unknown as Awaited<ReturnType<Connection<Readable>['insert']>>;
  }

  async ping(params: Parameters<Connection<Readable>['ping']>[0]) {
    if (this.closed) return { success: false as const, error: new Error('ClickHouse connection is closed') };
    try {
      const { meta } = await this.engine.request(this.sid, 'ping', { select: params.select });
      return meta.success ? { success: true as const } : { success: false as const, error: fromWire(meta.error as WireError) };
    } catch (err) {
      return { success: false as const, error: err as Error };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.engine.closeSession(this.sid);
  }
}
