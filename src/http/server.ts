import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { HealthReport } from './health.js';

export interface VersionInfo {
  readonly env: string;
  readonly version: string;
  readonly gitSha: string | null;
  readonly buildTime: string | null;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly health: () => Promise<HealthReport>;
  readonly version: () => VersionInfo;
  /** POST /webhooks/telegram; absent when the bot long-polls. */
  readonly telegramWebhook?: RequestHandler;
  /** POST /webhooks/github; absent without GITHUB_WEBHOOK_SECRET. */
  readonly githubWebhook?: RequestHandler;
  /** GET /metrics in Prometheus' text format; with a token, only for `Authorization: Bearer <token>`. */
  readonly metrics?: {
    render(): Promise<{ readonly contentType: string; readonly body: string }>;
    readonly token?: string;
  };
}

export interface HttpServer {
  readonly server: Server;
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting connections and waits for requests in flight. */
  close(): Promise<void>;
}

/** Whether the request carries the bearer token (compared in constant time). */
function bearerMatches(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(json);
}

/** The HTTP server of one instance: health, version, metrics and webhooks. */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { logger } = options;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (req.method === 'GET' && url.pathname === '/healthz') {
        const report = await options.health();
        sendJson(res, report.status === 'ok' ? 200 : 503, report);
      } else if (req.method === 'GET' && url.pathname === '/version') {
        sendJson(res, 200, options.version());
      } else if (req.method === 'GET' && url.pathname === '/metrics' && options.metrics) {
        const { token } = options.metrics;
        if (token && !bearerMatches(req, token)) {
          res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' });
          res.end('send Authorization: Bearer <METRICS_TOKEN>\n');
        } else {
          const { contentType, body } = await options.metrics.render();
          res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
          res.end(body);
        }
      } else if (url.pathname === '/webhooks/telegram' && options.telegramWebhook) {
        if (req.method !== 'POST') sendJson(res, 405, { error: 'use POST' });
        else await options.telegramWebhook(req, res);
      } else if (url.pathname === '/webhooks/github' && options.githubWebhook) {
        if (req.method !== 'POST') sendJson(res, 405, { error: 'use POST' });
        else await options.githubWebhook(req, res);
      } else {
        sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
      }
    } catch (error) {
      logger.error({ err: error, path: url.pathname }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    }
  });
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 10_000;
  return {
    server,
    listen: (port, host = '0.0.0.0') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
