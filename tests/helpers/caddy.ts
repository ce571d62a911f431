// A real Caddy (Debian's `caddy` package, `apt-get install -y caddy`) in front of an app
// container, as an operator runs it: it owns the public port, and its `reverse_proxy`
// carries `@id` = the app container's name, which lugh's switch re-points through the
// admin API (src/deployer/proxy/caddy-proxy.ts). Own ports, own temp dir, own process.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/sandbox/free-port.js';

export interface RunningCaddy {
  /** DEPLOY_PROXY_ADMIN_URL. */
  readonly adminUrl: string;
  /** The app's public address, through Caddy. */
  readonly url: string;
  close(): Promise<void>;
}

export const caddyInstalled = (): boolean => spawnSync('caddy', ['version']).status === 0;

/** Caddy proxying a fresh port to `dial` (`host:port`), its handler `@id` = `containerName`. */
export async function startCaddy(containerName: string, dial: string): Promise<RunningCaddy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-caddy-'));
  const [adminPort, port] = [await freePort(), await freePort()];
  const config = {
    admin: { listen: `127.0.0.1:${adminPort}` },
    apps: {
      http: {
        servers: {
          app: {
            listen: [`127.0.0.1:${port}`],
            automatic_https: { disable: true },
            routes: [{ handle: [{ '@id': containerName, handler: 'reverse_proxy', upstreams: [{ dial }] }] }],
          },
        },
      },
    },
  };
  const file = path.join(dir, 'caddy.json');
  writeFileSync(file, JSON.stringify(config));
  const child: ChildProcess = spawn('caddy', ['run', '--config', file], {
    env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
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
      throw new Error(`caddy did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    adminUrl,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
