/**
 * The service's HTTP endpoints, on `http.host` (loopback by default) and `http.port`:
 * `/` the status page (rendered by the application, with its data), `/fragment` the page's
 * body alone (what the page's script refreshes), `/api/status` its data as JSON, `/metrics`
 * Prometheus, `/healthz` (the process answers) and `/readyz` (the topology and the sink run:
 * 200, else 503 naming what is not ready). The page's URL parameters reach the application as they are.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/logger.ts';

export interface HttpEndpoints {
  registry: Registry;
  /** What keeps the instance from being ready, by component name; empty when ready. */
  notReady(): readonly string[];
  status(params: URLSearchParams): Promise<unknown>;
  /** The status page, whole (`fragment` false) or its body alone. */
  page(params: URLSearchParams, fragment: boolean): Promise<string>;
  /** The page to show when `page` fails. */
  unavailable(message: string): string;
}

export async function startHttpServer(host: string, port: number, endpoints: HttpEndpoints, logger: Logger): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const send = (code: number, type: string, body: string | Buffer) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/':
      case '/index.html':
      case '/fragment':
        endpoints.page(url.searchParams, path === '/fragment').then(
          (html) => send(200, 'text/html; charset=utf-8', html),
          (err: Error) => {
            logger.warn({ err: err.message }, 'status page query failed');
            send(503, 'text/html; charset=utf-8', path === '/fragment' ? '' : endpoints.unavailable(err.message));
          },
        );
        return;
      case '/healthz':
        return send(200, 'text/plain', 'ok\n');
      case '/readyz': {
        const problems = endpoints.notReady();
        return problems.length === 0 ? send(200, 'text/plain', 'ready\n') : send(503, 'text/plain', `not ready: ${problems.join(', ')}\n`);
      }
      case '/metrics':
        endpoints.registry.metrics().then(
          (text) => send(200, endpoints.registry.contentType, text),
          (err: Error) => send(500, 'text/plain', `${err.message}\n`),
        );
        return;
      case '/api/status':
        endpoints.status(url.searchParams).then(
          (data) => send(200, 'application/json', JSON.stringify(data)),
          (err: Error) => {
            logger.warn({ err: err.message }, 'status query failed');
            send(503, 'application/json', JSON.stringify({ error: 'status unavailable' }));
          },
        );
        return;
      default:
        return send(404, 'text/plain', 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}`;
  return { server, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}
