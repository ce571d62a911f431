// A real HAProxy (Debian's `haproxy` package, `apt-get install -y haproxy`) in front of an
// app container, as an operator runs it (README, "A switch that drops no request"): it owns
// the public port, its backend is named after the app container with one server `app`, and
// lugh's switch re-points that server through the runtime API
// (src/deployer/proxy/haproxy-proxy.ts). Own ports, own temp dir, own process.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROXY_SERVER } from '../../src/deployer/proxy/haproxy-proxy.js';
import { freePort } from '../../src/sandbox/free-port.js';

export interface RunningHaproxy {
  /** DEPLOY_PROXY_ADMIN_URL: the runtime API. */
  readonly adminUrl: string;
  /** The app's public address, through HAProxy. */
  readonly url: string;
  /** Where HAProxy sends the app's requests now (`ip:port`). */
  upstream(): Promise<string>;
  close(): Promise<void>;
}

export const haproxyInstalled = (): boolean => spawnSync('haproxy', ['-v']).status === 0;

/**
 * More servers than the app's one (a service set: README "Several services"): by backend,
 * each server's name and first address; the app's own backend may be one of them.
 */
export type ExtraServers = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** The configuration README recommends, for the app container `containerName` at `dial`. */
export function haproxyConfig(options: {
  containerName: string;
  dial: string;
  bind: string;
  runtimeApi: string;
  servers?: ExtraServers;
}): string {
  const servers = options.servers ?? {};
  const lines = (backend: string) =>
    Object.entries(servers[backend] ?? {})
      .map(([server, dial]) => `  server ${server} ${dial}\n`)
      .join('');
  const others = Object.keys(servers)
    .filter((b) => b !== options.containerName)
    .map((b) => `backend ${b}\n${lines(b)}`)
    .join('');
  return `global
  stats socket ${options.runtimeApi} level admin
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  option http-server-close
  retries 3
  retry-on conn-failure empty-response
frontend public
  bind ${options.bind}
  default_backend ${options.containerName}
backend ${options.containerName}
  server ${PROXY_SERVER} ${options.dial}
${lines(options.containerName)}${others}`;
}

const ask = (port: number, line: string) =>
  new Promise<string>((resolve, reject) => {
    let out = '';
    const s = net.connect(port, '127.0.0.1', () => s.end(`${line}\n`));
    s.on('data', (d) => {
      out += d;
    });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });

/** HAProxy proxying a fresh port to `dial` (`ip:port`), its backend named `containerName`. */
export async function startHaproxy(
  containerName: string,
  dial: string,
  servers?: ExtraServers,
): Promise<RunningHaproxy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-haproxy-'));
  const [apiPort, port] = [await freePort(), await freePort()];
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    haproxyConfig({
      containerName,
      dial,
      bind: `127.0.0.1:${port}`,
      runtimeApi: `ipv4@127.0.0.1:${apiPort}`,
      servers,
    }),
  );
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const until = Date.now() + 20_000;
  for (;;) {
    const up = await ask(apiPort, 'show info')
      .then((out) => out.includes('Name: HAProxy'))
      .catch(() => false);
    if (up) break;
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    adminUrl: `tcp://127.0.0.1:${apiPort}`,
    url: `http://127.0.0.1:${port}`,
    async upstream() {
      const [header, ...rows] = (await ask(apiPort, 'show stat')).trim().split('\n');
      const columns = header!.replace(/^# /, '').split(',');
      const row = rows.map((r) => r.split(',')).find((r) => r[0] === containerName && r[1] === PROXY_SERVER);
      return row?.[columns.indexOf('addr')] ?? '';
    },
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A client asking `url` every `intervalMs` (each request its own, 1 s at most) until stopped. */
export function pollEvery(url: string, intervalMs = 50) {
  let sent = 0;
  let failed = 0;
  const why = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const ask = () => {
    sent++;
    const request = fetch(url, { signal: AbortSignal.timeout(1_000) })
      .then(async (r) => {
        await r.arrayBuffer();
        if (r.status !== 200) {
          failed++;
          why.add(`HTTP ${r.status}`);
        }
      })
      .catch((error: Error & { cause?: { code?: string } }) => {
        failed++;
        why.add(error.cause?.code ?? error.name);
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };
  const timer = setInterval(ask, intervalMs);
  ask();
  return {
    async stop(): Promise<{ sent: number; failed: number; why: string[] }> {
      clearInterval(timer);
      await Promise.all(inFlight);
      return { sent, failed, why: [...why] };
    },
  };
}
