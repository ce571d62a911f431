// A real Caddy (Debian's `caddy` package, 2.6) in front of previews, as an operator runs it:
// `caddy run` with a JSON config, its admin API on a free 127.0.0.1 port (lugh's
// PREVIEW_PROXY_ADMIN_URL) and, unless told otherwise, one http server on another free port
// (the previews' URLs). Own ports, own temp dir (Caddy's data and config dirs), own process:
// stop it after the file.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/sandbox/free-port.js';

export interface RunningCaddy {
  /** PREVIEW_PROXY_ADMIN_URL. */
  readonly adminUrl: string;
  /** The port its http server listens on (127.0.0.1), or the one left free for lugh to make it on. */
  readonly port: number;
  /** Its whole config now, as the admin API gives it. */
  config(): Promise<unknown>;
  /** How many times its config changed (each change a reload: Caddy autosaves it). */
  changes(): number;
  close(): Promise<void>;
}

export const caddyInstalled = (): boolean => spawnSync('caddy', ['version']).status === 0;

/** Caddy with its admin API and, when `server` is true (the default), an empty http server `previews`. */
export async function startCaddy(options: { server?: boolean } = {}): Promise<RunningCaddy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-caddy-'));
  const [adminPort, port] = [await freePort(), await freePort()];
  const config = {
    admin: { listen: `127.0.0.1:${adminPort}` },
    ...(options.server === false
      ? {}
      : {
          apps: {
            http: {
              servers: {
                previews: { listen: [`127.0.0.1:${port}`], routes: [], automatic_https: { disable: true } },
              },
            },
          },
        }),
  };
  const file = path.join(dir, 'caddy.json');
  writeFileSync(file, JSON.stringify(config));
  const child: ChildProcess = spawn('caddy', ['run', '--config', file], {
    env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let changes = 0;
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    changes += text.split('autosaved config').length - 1;
    stderr = (stderr + text).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const until = Date.now() + 20_000;
  for (;;) {
    const up = await fetch(`${adminUrl}/config/`)
      .then((r) => r.ok)
      .catch(() => false);
    if (up) break;
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`caddy did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    adminUrl,
    port,
    config: () => fetch(`${adminUrl}/config/`).then((r) => r.json()),
    changes: () => changes,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GET `path` from 127.0.0.1:`port` with the Host header `host` (a `*.localhost` name no resolver here knows). */
export function getVia(
  port: number,
  host: string,
  requestPath = '/',
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: requestPath, headers: { host }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer from 127.0.0.1:${port}${requestPath}`)));
    req.on('error', reject);
  });
}

/**
 * A client asking `url` every `intervalMs` until stopped, counting failed requests (no answer,
 * or not 200). `keepAlive`: requests reuse connections, and a GET whose reused connection
 * was closed before any answer is sent again once on a new one, as browsers, curl and Go's
 * client do and as Node's documentation recommends (`request.reusedSocket`): Caddy closes
 * its idle keep-alive connections at each config change, and such a request was never
 * seen by it. Without `keepAlive`: a new connection per request, nothing retried.
 */
export function pollThrough(url: string, options: { keepAlive: boolean; intervalMs?: number }) {
  const agent = new http.Agent({ keepAlive: options.keepAlive, maxSockets: 4 });
  let sent = 0;
  let failed = 0;
  let resent = 0;
  const why = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const once = (retry: boolean) =>
    new Promise<void>((resolve) => {
      // The one resend goes on a connection of its own, not another idle one Caddy is closing.
      const req = http.get(url, { agent: retry ? agent : new http.Agent({ keepAlive: false }) }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) {
            failed++;
            why.add(`HTTP ${res.statusCode}`);
          }
          resolve();
        });
      });
      req.setTimeout(2_000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (error: Error & { code?: string }) => {
        if (retry && req.reusedSocket && ['ECONNRESET', 'EPIPE'].includes(error.code ?? '')) {
          resent++;
          void once(false).then(resolve);
          return;
        }
        failed++;
        why.add(error.code ?? error.message);
        resolve();
      });
    });
  const ask = () => {
    sent++;
    const request = once(options.keepAlive).finally(() => inFlight.delete(request));
    inFlight.add(request);
  };
  const timer = setInterval(ask, options.intervalMs ?? 20);
  ask();
  return {
    async stop(): Promise<{ sent: number; failed: number; resent: number; why: string[] }> {
      clearInterval(timer);
      await Promise.all(inFlight);
      agent.destroy();
      return { sent, failed, resent, why: [...why] };
    },
  };
}
