// The Dockerfile builds an image that runs as staging against real Postgres and Redis and
// a Bot API stand-in, and that Docker itself reports healthy.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMigrationReport } from '../../src/deployer/migration-report.js';
import { BASE_IMAGE, ensureBaseImage, REPO_ROOT, testDocker, uniqueName } from '../helpers/docker.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../helpers/services.js';

const execFileAsync = promisify(execFile);
const { docker, engine } = await testDocker();

const TOKEN = '1234567:AAtestTokenForLughImageTestxxxxxxxxxxx';
const GIT_SHA = 'c0ffee0000000000000000000000000000000000';

/** Enough of the Bot API for `lugh start` to come up: getMe, long polling, and "ok" for the rest. */
function startBotApiStandIn(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const match = /^\/bot([^/]+)\/(\w+)/.exec(req.url ?? '');
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (!match || match[1] !== TOKEN) {
        reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
        return;
      }
      const method = match[2];
      if (method === 'getMe') {
        reply(200, {
          ok: true,
          result: {
            id: 1,
            is_bot: true,
            first_name: 'Lugh Dev',
            username: 'LughDevBot',
            can_join_groups: true,
            can_read_all_group_messages: false,
            supports_inline_queries: false,
          },
        });
      } else if (method === 'getUpdates') {
        let timeout = 0;
        try {
          timeout = Number(JSON.parse(body || '{}').timeout ?? 0);
        } catch {
          timeout = Number(new URLSearchParams(body).get('timeout') ?? 0);
        }
        setTimeout(() => reply(200, { ok: true, result: [] }), Math.min(timeout, 1) * 1000);
      } else {
        reply(200, { ok: true, result: true });
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function logsOf(name: string): Promise<string> {
  const logs = await docker
    .getContainer(name)
    .logs({ stdout: true, stderr: true, tail: 60 })
    .catch((error: unknown) => Buffer.from(String(error)));
  return demux(logs);
}

/** Docker's multiplexed log stream: 8-byte frame headers (stream, 0, 0, 0, size32be). */
function demux(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

describe.skipIf(!engine)('the lugh image (needs a Docker engine)', () => {
  const id = uniqueName('t').slice(2);
  const tag = `lugh-test:image-${id}`;
  const containers: string[] = [];
  let botApi: Server | undefined;
  let database: TestDatabase | undefined;
  let env: string[] = [];
  let port = 0;

  beforeAll(async () => {
    await ensureBaseImage(docker);
    try {
      const { stdout } = await execFileAsync(
        'docker',
        [
          'build',
          '--build-arg',
          `BASE_IMAGE=${BASE_IMAGE}`,
          '--build-arg',
          `GIT_SHA=${GIT_SHA}`,
          '--build-arg',
          'BUILD_TIME=2026-01-01T00:00:00Z',
          '--label',
          `lugh.test=${id}`,
          '-t',
          tag,
          '.',
        ],
        {
          cwd: REPO_ROOT,
          // The classic builder: this engine has no BuildKit/buildx here.
          env: { ...process.env, DOCKER_BUILDKIT: '0' },
          maxBuffer: 64 * 1024 * 1024,
          timeout: 540_000,
        },
      );
      expect(stdout).toContain(`Successfully tagged ${tag}`);
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`docker build failed:\n${stdout.slice(-6000)}\n${stderr.slice(-4000)}`);
    }

    botApi = await startBotApiStandIn();
    database = await createTestDatabase('staging_lugh');
    port = await freePort();
    env = [
      'APP_ENV=staging',
      `TELEGRAM_BOT_TOKEN=${TOKEN}`,
      `DATABASE_URL=${database.url}`,
      `REDIS_URL=${redisUrl()}`,
      `REDIS_PREFIX=staging:t${id}`,
      'LUGH_HOME=/tmp/.lugh-staging',
      `PORT=${port}`,
      'ADMIN_IDS=1',
      `TELEGRAM_API_ROOT=http://127.0.0.1:${(botApi.address() as AddressInfo).port}`,
      'LOG_LEVEL=info',
    ];
  }, 600_000);

  afterAll(async () => {
    for (const name of containers)
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => {});
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => {});
    await new Promise((resolve) => (botApi ? botApi.close(resolve) : resolve(undefined)));
    await database?.drop();
  }, 120_000);

  /** Runs the image with host networking (it reaches the test's Postgres, Redis and stand-in on 127.0.0.1). */
  async function run(args: string[], options: { wait: boolean; entrypoint?: string[] }) {
    const name = uniqueName(`lugh-test-${args[0]}`);
    containers.push(name);
    const container = await docker.createContainer({
      name,
      Image: tag,
      Cmd: args,
      ...(options.entrypoint ? { Entrypoint: options.entrypoint } : {}),
      Env: env,
      Labels: { 'lugh.test': id },
      HostConfig: { NetworkMode: 'host', Init: true },
    });
    await container.start();
    if (options.wait) {
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      return { name, container, exitCode: StatusCode };
    }
    return { name, container, exitCode: undefined };
  }

  it('runs as a non-root user with a health check, entrypoint and build info', async () => {
    const info = await docker.getImage(tag).inspect();
    expect(info.Config.User).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(info.Config.Healthcheck?.Test).toEqual(['CMD', 'node', 'dist/cli.js', 'healthcheck']);
    expect(info.Config.Entrypoint).toEqual(['node', 'dist/cli.js']);
    expect(info.Config.Cmd).toEqual(['start']);
    expect((info.Config as { StopSignal?: string }).StopSignal).toBe('SIGTERM');
    expect(info.Config.Env).toEqual(
      expect.arrayContaining([
        'NODE_ENV=production',
        'NODE_OPTIONS=--max-semi-space-size=8',
        `GIT_SHA=${GIT_SHA}`,
        'BUILD_TIME=2026-01-01T00:00:00Z',
      ]),
    );
  });

  it('holds no sandbox: no stand-in code, no chat page, no PGlite; `lugh sandbox` says so', async () => {
    // Every file under /app whose path names the sandbox or PGlite, and any bundle chunk holding
    // sandbox code, found by node inside the image
    // (npm prune leaves the emptied @electric-sql scope folder behind: files are what count).
    const walk = `
      const fs = require('node:fs'), path = require('node:path');
      const found = [];
      const visit = (dir) => { for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isFile() && /\\/sandbox\\/|@electric-sql|\\/pglite|stand-in|chat-page/.test(p)) found.push(p);
        if (e.isDirectory()) visit(p);
      } };
      visit('/app');
      // The bundle names each module it holds in a comment: none of the sandbox's.
      for (const f of fs.readdirSync('/app/dist'))
        if (f.endsWith('.js') && fs.readFileSync(path.join('/app/dist', f), 'utf8').includes('// src/sandbox/'))
          found.push(path.join('/app/dist', f) + ' (holds src/sandbox/)');
      console.log(JSON.stringify(found));`;
    const listing = await run(['-e', walk], { wait: true, entrypoint: ['node'] });
    expect(listing.exitCode).toBe(0);
    const found = JSON.parse((await logsOf(listing.name)).trim()) as string[];
    expect(found).toEqual([]);

    const sandbox = await run(['sandbox'], { wait: true });
    expect(sandbox.exitCode).toBe(2);
    expect(await logsOf(sandbox.name)).toContain('the sandbox is not part of this build');
  }, 120_000);

  it('migrates the staging database, and tells the deploy what it applied as its last line', async () => {
    const { name, exitCode } = await run(['migrate'], { wait: true });
    const logs = await logsOf(name);
    if (exitCode !== 0) throw new Error(`lugh migrate exited ${exitCode}:\n${logs}`);
    // What the deploy's migrate step reads from the container's last lines.
    const report = parseMigrationReport(
      logs
        .split('\n')
        .filter((l) => l.trim())
        .slice(-20),
    );
    expect(report?.applied).toContain('0009_deployment_migrations');
    expect(report?.irreversible.map((m) => m.name)).toEqual(['0005_deployments_without_promotion']);
  }, 120_000);

  it('becomes healthy as staging, answers /healthz, and stops promptly on SIGTERM', async () => {
    const { name, container } = await run(['start'], { wait: false });
    const deadline = Date.now() + 90_000;
    let status = 'starting';
    while (Date.now() < deadline) {
      const info = await container.inspect();
      if (!info.State.Running) {
        throw new Error(`container exited (${info.State.ExitCode}):\n${await logsOf(name)}`);
      }
      status = info.State.Health?.Status ?? 'none';
      if (status === 'healthy' || status === 'unhealthy') break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    if (status !== 'healthy') throw new Error(`health status ${status}:\n${await logsOf(name)}`);

    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(response.status).toBe(200);

    const started = Date.now();
    await container.stop({ t: 10 });
    // Well under the 10 s grace: the app handles SIGTERM instead of waiting for SIGKILL.
    expect(Date.now() - started).toBeLessThan(8_000);
  }, 150_000);
});
