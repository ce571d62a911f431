import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './free-port.js';

/** The name of the HTTP server in the sandbox's Caddy whose routes lugh manages (one per preview). */
export const CADDY_PREVIEW_SERVER = 'previews';

export interface LocalCaddy {
  /** Its admin API, e.g. http://127.0.0.1:43121 (PREVIEW_PROXY_ADMIN_URL). */
  readonly adminUrl: string;
  /** The loopback port its HTTP server listens on (the previews' URLs). */
  readonly httpPort: number;
  stop(): Promise<void>;
}

/** True when `caddy` runs from PATH. */
export function caddyOnPath(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('caddy', ['version'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/**
 * Starts a private Caddy from PATH: its admin API and one HTTP server (no routes yet, no
 * HTTPS) on free loopback ports; its state under `dir` (never the user's ~/.config/caddy),
 * its configuration never saved. lugh adds a route per preview through the admin API.
 */
export async function startLocalCaddy(dir: string): Promise<LocalCaddy> {
  mkdirSync(dir, { recursive: true });
  const [adminPort, httpPort] = [await freePort(), await freePort()];
  const configFile = path.join(dir, 'caddy.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      admin: { listen: `127.0.0.1:${adminPort}`, config: { persist: false } },
      apps: {
        http: {
          servers: {
            [CADDY_PREVIEW_SERVER]: {
              listen: [`127.0.0.1:${httpPort}`],
              routes: [],
              automatic_https: { disable: true },
            },
          },
        },
      },
    }),
  );
  const child: ChildProcess = spawn('caddy', ['run', '--config', configFile], {
    // Its own process group, as the sandbox's redis-server: the sandbox stops it after lugh.
    detached: true,
    stdio: 'ignore',
    env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error('caddy was not found on PATH (Debian/Ubuntu: sudo apt-get install caddy)')
          : error,
      ),
    );
    child.once('exit', (code) =>
      reject(new Error(`caddy exited at start (code ${code}); try: caddy run --config ${configFile}`)),
    );
  });
  failed.catch(() => {});
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  try {
    await Promise.race([answers(`${adminUrl}/config/`), failed]);
  } catch (error) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    throw error;
  }
  return {
    adminUrl,
    httpPort,
    stop: () =>
      new Promise<void>((resolve) => {
        process.off('exit', killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function answers(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`caddy's admin API did not answer at ${url} within 10 s`);
}
