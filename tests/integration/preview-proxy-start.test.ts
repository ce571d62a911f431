// deploy/preview-proxy/start.sh with Debian's caddy: the admin API listens only on the
// address its alias resolves to, accepts only the origins staging's app uses, and lugh's
// routes come back after a restart (Caddy's autosave, the admin API moved to this start's
// address). The alias is `localhost` here, as `preview-proxy` is on the compose network.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, waitFor } from '../helpers/docker.js';

const caddy = await promisify(execFile)('caddy', ['version']).then(
  () => true,
  (error: unknown) => {
    // .ci/run installs caddy: in CI its absence is a failure, not a skip.
    if (process.env.CI) throw new Error(`CI needs caddy: ${String(error)}`);
    return false;
  },
);

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe.skipIf(!caddy)('the preview proxy’s start script (needs caddy)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-preview-proxy-'));
  let proxy: ChildProcess | undefined;
  afterAll(() => {
    proxy?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (port: number) => {
    proxy = spawn('sh', [path.join(REPO_ROOT, 'deploy/preview-proxy/start.sh')], {
      env: {
        PATH: process.env.PATH,
        PREVIEW_PROXY_ALIAS: 'localhost',
        PREVIEW_PROXY_ADMIN_PORT: String(port),
        XDG_CONFIG_HOME: dir,
        XDG_DATA_HOME: dir,
        TMPDIR: dir,
      },
      stdio: 'ignore',
    });
  };
  const stop = async () => {
    const exited = new Promise((resolve) => proxy?.once('exit', resolve));
    proxy?.kill('SIGTERM');
    await exited;
  };
  /** One request to the admin API with the Host header staging's app sends (fetch may not set Host). */
  const admin = (
    port: number,
    pathname: string,
    options: { method?: string; body?: string; host?: string } = {},
  ) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: pathname,
          method: options.method ?? 'GET',
          headers: { host: options.host ?? `lugh-preview-proxy:${port}`, 'content-type': 'application/json' },
          timeout: 5_000,
        },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });

  it('serves the admin API to staging’s origin only, and keeps lugh’s routes across a restart', async () => {
    const [port, http] = [await freePort(), await freePort()];
    start(port);
    await waitFor('the admin API', async () => (await admin(port, '/config/')).status === 200, 20_000);
    expect((await admin(port, '/config/', { host: `evil.example:${port}` })).status).toBe(403);
    const route = { '@id': 'lugh-preview-pr-1', handle: [{ handler: 'static_response', body: 'preview 1' }] };
    const put = await admin(port, '/config/apps', {
      method: 'POST',
      body: JSON.stringify({
        http: { servers: { 'lugh-previews': { listen: [`:${http}`], routes: [route] } } },
      }),
    });
    expect(put.status, put.text).toBe(200);
    const page = () =>
      fetch(`http://127.0.0.1:${http}/`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.text());
    expect(await page()).toBe('preview 1');

    await stop();
    start(port);
    await waitFor('the route back after the restart', async () => (await page()) === 'preview 1', 20_000);
    expect((await admin(port, '/id/lugh-preview-pr-1')).status).toBe(200);
    expect((await admin(port, '/config/', { host: `evil.example:${port}` })).status).toBe(403);
    await stop();
  }, 90_000);
});
