/**
 * The running service's SQL endpoint: a read-only subset of ClickHouse's HTTP interface over
 * the engine, on a port of its own, so that `@clickhouse/client`, Grafana's ClickHouse data
 * source (HTTP mode), curl and the CLI query the live data while the service writes it.
 *
 * What it speaks (https://clickhouse.com/docs/interfaces/http):
 * - `GET /?query=…`, `POST /` with the query in the body, or the start of it in `query=` and
 *   the rest in the body (concatenated as ClickHouse does), or `multipart/form-data` with a
 *   `query` part and `param_*` parts (what @clickhouse/client sends when parameters are long);
 * - `param_<name>` bound parameters for `{name:Type}` placeholders;
 * - `FORMAT` in the query, else `default_format` (or the `X-ClickHouse-Format` header), else
 *   TabSeparated; `database` (or `X-ClickHouse-Database`), else the service's database;
 * - any other URL parameter is a setting for that query, as in ClickHouse;
 * - basic auth (`Authorization: Basic`, `X-ClickHouse-User`/`X-ClickHouse-Key`, or `user`/
 *   `password` parameters) when a username and password are configured;
 * - Native output for the client's `client_protocol_version` (block info, custom-serialization
 *   flags), as clickhouse-go and so Grafana's data source read it (nativeFormat.ts);
 * - HTTP compression of the response (`enable_http_compression=1` with `Accept-Encoding`) and
 *   of the request body (`Content-Encoding`); not ClickHouse's own block compression (`compress=1`);
 * - `GET /ping` answers `Ok.`; errors come back as ClickHouse's `Code: N. DB::Exception: … (TYPE)`
 *   text with `X-ClickHouse-Exception-Code`, which clients parse.
 *
 * Every request gets a fresh read-only session (`openSession`): the engine itself refuses
 * writes, DDL and `readonly = 0`, and no request's settings or `USE` outlive it. What the
 * engine would still do for a query beyond reading its own data (the host's files, the network,
 * several statements in one, KILL) is refused first (statementGuard.ts). At most
 * `maxConcurrentQueries` run at once; the others wait their turn.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { Logger } from '../../common/logger.ts';
import type { ClickHouseClient } from './client.ts';
import { NativeFormatError, toProtocol } from './nativeFormat.ts';
import { checkStatement, StatementRefused } from './statementGuard.ts';

export interface SqlEndpointOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Basic auth; both null: no password asked (the endpoint binds loopback by default). */
  username: string | null;
  password: string | null;
  maxConcurrentQueries: number;
  /** The database of a request that names none (ClickHouse's would be the user's default database). */
  defaultDatabase: string;
  /** A fresh read-only session of the engine, for one request; closed after it. */
  openSession(): ClickHouseClient;
  logger: Logger;
}

export interface SqlEndpoint {
  url: string;
  close(): Promise<void>;
}

/** URL parameters that are part of the protocol, not settings of the query. */
const PROTOCOL_PARAMS = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'session_id',
  'session_timeout',
  'session_check',
  'user',
  'password',
  'quota_key',
  'compress',
  'decompress',
  'buffer_size',
  'wait_end_of_query',
  'role',
  'add_http_cors_header',
  'client_protocol_version',
  'enable_http_compression',
  'http_zlib_compression_level',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'http_native_compression_disable_checksumming_on_decompress',
]);

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** An error in ClickHouse's own shape: its code, its type name and the HTTP status ClickHouse would use. */
class ProtocolError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_OF_TYPE: Record<string, number> = {
  AUTHENTICATION_FAILED: 401,
  REQUIRED_PASSWORD: 401,
  READONLY: 403,
  ACCESS_DENIED: 403,
  UNKNOWN_TABLE: 404,
  UNKNOWN_DATABASE: 404,
  SYNTAX_ERROR: 400,
  UNKNOWN_IDENTIFIER: 400,
  UNKNOWN_QUERY_PARAMETER: 400,
  BAD_QUERY_PARAMETER: 400,
  UNKNOWN_SETTING: 400,
  UNKNOWN_FORMAT: 400,
  TYPE_MISMATCH: 400,
  ILLEGAL_TYPE_OF_ARGUMENT: 400,
  NUMBER_OF_ARGUMENTS_DOESNT_MATCH: 400,
  UNKNOWN_FUNCTION: 400,
  CANNOT_PARSE_TEXT: 400,
  QUERY_IS_TOO_LARGE: 413,
  NOT_IMPLEMENTED: 501,
};

function contentTypeOf(format: string): string {
  const f = format.toLowerCase();
  if (f.startsWith('json')) return 'application/json; charset=UTF-8';
  if (f.startsWith('csv')) return 'text/csv; charset=UTF-8';
  if (f.startsWith('tabseparated') || f.startsWith('tsv')) return 'text/tab-separated-values; charset=UTF-8';
  if (/^(native|rowbinary|parquet|arrow|orc|avro|protobuf|msgpack)/.test(f)) return 'application/octet-stream';
  return 'text/plain; charset=UTF-8';
}

/** The FORMAT clause at the end of a query, if any (for the response's headers only: the engine decides). */
function formatClause(sql: string): string | null {
  return /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$/i.exec(sql)?.[1] ?? null;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function credentials(req: IncomingMessage, params: URLSearchParams): { user: string; password: string } {
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  return { user: header('x-clickhouse-user') ?? params.get('user') ?? 'default', password: header('x-clickhouse-key') ?? params.get('password') ?? '' };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ProtocolError(202, 'QUERY_IS_TOO_LARGE', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks);
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
  try {
    if (encoding === 'gzip') return zlib.gunzipSync(raw);
    if (encoding === 'deflate') return zlib.inflateSync(raw);
    if (encoding === 'br') return zlib.brotliDecompressSync(raw);
    if (encoding === 'zstd' && 'zstdDecompressSync' in zlib) return (zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer }).zstdDecompressSync(raw);
  } catch (err) {
    throw new ProtocolError(27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', `cannot decompress the request body (${encoding}): ${(err as Error).message}`);
  }
  if (encoding && encoding !== 'identity') throw new ProtocolError(48, 'NOT_IMPLEMENTED', `request Content-Encoding ${encoding} is not supported`);
  return raw;
}

/** The fields of a multipart/form-data body (only text fields matter here: `query` and `param_*`). */
function multipartFields(body: Buffer, contentType: string): Map<string, string> {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw new ProtocolError(27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'multipart body without a boundary');
  const fields = new Map<string, string>();
  for (const part of body.toString('utf8').split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const name = /name="([^"]*)"/i.exec(part.slice(0, split))?.[1];
    if (name === undefined) continue;
    fields.set(name, part.slice(split + 4).replace(/\r\n$/, ''));
  }
  return fields;
}

function compressor(req: IncomingMessage, params: URLSearchParams): { encoding: string; stream: Transform } | null {
  if (params.get('enable_http_compression') !== '1') return null;
  const accepted = (req.headers['accept-encoding'] ?? '').toLowerCase();
  if (/\bgzip\b/.test(accepted)) return { encoding: 'gzip', stream: zlib.createGzip() };
  if (/\bbr\b/.test(accepted)) return { encoding: 'br', stream: zlib.createBrotliCompress() };
  if (/\bdeflate\b/.test(accepted)) return { encoding: 'deflate', stream: zlib.createDeflate() };
  if (/\bzstd\b/.test(accepted) && 'createZstdCompress' in zlib) {
    return { encoding: 'zstd', stream: (zlib as unknown as { createZstdCompress(): Transform }).createZstdCompress() };
  }
  return null;
}

export async function startSqlEndpoint(options: SqlEndpointOptions): Promise<SqlEndpoint> {
  const { logger } = options;
  const expected = options.username !== null && options.password !== null ? { user: digest(options.username), password: digest(options.password) } : null;
  let running = 0;
  const waiting: Array<() => void> = [];
  const acquire = async () => {
    if (running >= options.maxConcurrentQueries) await new Promise<void>((r) => waiting.push(r));
    running++;
  };
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  let version = '';

  const fail = (res: ServerResponse, err: unknown, queryId: string) => {
    const e = err as { code?: string | number; type?: string; message?: string };
    const code = err instanceof ProtocolError || err instanceof StatementRefused ? err.code : err instanceof NativeFormatError ? 48 : Number(e.code) || 1001;
    const type = err instanceof ProtocolError || err instanceof StatementRefused ? err.type : err instanceof NativeFormatError ? 'NOT_IMPLEMENTED' : (e.type ?? 'STD_EXCEPTION');
    const message = (e.message ?? String(err)).trim();
    if (res.headersSent) {
      // The result had started: ClickHouse appends the exception to the body the same way.
      res.end(`\nCode: ${code}. DB::Exception: ${message} (${type})\n`);
      return;
    }
    res.writeHead(STATUS_OF_TYPE[type] ?? 500, {
      'content-type': 'text/plain; charset=UTF-8',
      'x-clickhouse-exception-code': String(code),
      'x-clickhouse-query-id': queryId,
      ...(type === 'AUTHENTICATION_FAILED' || type === 'REQUIRED_PASSWORD' ? { 'www-authenticate': 'Basic realm="ClickHouse"' } : {}),
    });
    res.end(`Code: ${code}. DB::Exception: ${message} (${type})${version ? ` (version ${version})` : ''}\n`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const params = url.searchParams;
    const queryId = params.get('query_id') || randomUUID();
    if (url.pathname === '/ping' || url.pathname === '/replicas_status') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' });
      return res.end('Ok.\n');
    }
    if (url.pathname !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=UTF-8' });
      return res.end(`There is no handle ${url.pathname}\n\nUse / or /ping\n`);
    }
    if (req.method !== 'GET' && req.method !== 'POST') throw new ProtocolError(48, 'NOT_IMPLEMENTED', `HTTP method ${req.method} is not supported`);
    if (expected) {
      const given = credentials(req, params);
      const ok = timingSafeEqual(digest(given.user), expected.user) && timingSafeEqual(digest(given.password), expected.password);
      if (!ok) throw new ProtocolError(516, 'AUTHENTICATION_FAILED', `${given.user}: Authentication failed: password is incorrect, or there is no user with such name`);
    }
    if (params.get('compress') === '1' || params.get('decompress') === '1') {
      throw new ProtocolError(48, 'NOT_IMPLEMENTED', 'ClickHouse block compression (compress/decompress=1) is not supported here; use HTTP compression (enable_http_compression=1)');
    }
    const queryParams: Record<string, string> = {};
    const settings: Record<string, string> = {};
    for (const [key, value] of params) {
      if (key.startsWith('param_')) queryParams[key.slice(6)] = value;
      else if (key === 'readonly' && value !== '0') continue; // already read-only; 0 is left to the engine to refuse
      else if (!PROTOCOL_PARAMS.has(key)) settings[key] = value;
    }
    let sql = params.get('query') ?? '';
    if (req.method === 'POST') {
      const body = await readBody(req);
      const contentType = req.headers['content-type'] ?? '';
      if (/^multipart\/form-data/i.test(contentType)) {
        for (const [name, value] of multipartFields(body, contentType)) {
          if (name === 'query') sql += value;
          else if (name.startsWith('param_')) queryParams[name.slice(6)] = value;
        }
      } else {
        sql += body.toString('utf8');
      }
    }
    if (!sql.trim()) throw new ProtocolError(62, 'SYNTAX_ERROR', 'Empty query');
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const defaultFormat = params.get('default_format') ?? header('x-clickhouse-format') ?? 'TabSeparated';
    const protocol = Number(params.get('client_protocol_version') ?? 0);
    const database = params.get('database') || header('x-clickhouse-database') || options.defaultDatabase;
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    await acquire();
    let session: ClickHouseClient | undefined;
    const started = Date.now();
    try {
      session = options.openSession();
      if (!version) {
        const r = await session.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
        version = ((await r.json()) as Array<{ v: string }>)[0]?.v ?? '';
      }
      await session.command({ query: `USE \`${database.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\`` });
      await checkStatement(session, sql, queryParams);
      const result = await session.exec({ query: sql, query_params: queryParams, clickhouse_settings: { ...settings, default_format: defaultFormat as 'TabSeparated' }, query_id: queryId, abort_signal: abort.signal });
      const format = formatClause(sql) ?? defaultFormat;
      let stream = result.stream as Readable;
      if (format.toLowerCase() === 'native' && protocol > 0) {
        // Native for the client's protocol revision (clickhouse-go, hence Grafana, names one).
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
        stream = Readable.from([toProtocol(Buffer.concat(chunks), protocol)]);
      }
      const compress = compressor(req, params);
      res.writeHead(200, {
        'content-type': contentTypeOf(format),
        'x-clickhouse-format': format,
        'x-clickhouse-query-id': queryId,
        'x-clickhouse-timezone': 'UTC',
        'x-clickhouse-server-display-name': 'artenic-optimizer',
        'x-clickhouse-summary': JSON.stringify((result as { summary?: unknown }).summary ?? {}),
        ...(compress ? { 'content-encoding': compress.encoding } : {}),
      });
      if (compress) await pipeline(stream, compress.stream, res);
      else await pipeline(stream, res);
      logger.debug({ queryId, ms: Date.now() - started }, 'SQL endpoint query');
    } finally {
      await session?.close().catch(() => undefined);
      release();
    }
  };

  // ClickHouse accepts URLs up to 1 MiB (http_max_uri_size): long `param_*` values travel there.
  const server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.writableEnded) fail(res, err, String(new URL(req.url ?? '/', 'http://localhost').searchParams.get('query_id') ?? ''));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const url = `http://${options.host}:${typeof address === 'object' && address ? address.port : options.port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
