import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LughProcess, spawnLugh } from '../../helpers/lugh-process.js';

async function banner(p: LughProcess, deadlineMs = 60_000): Promise<string> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (p.stdout().includes('Press Ctrl-C')) return p.stdout();
    if (p.child.exitCode !== null) throw new Error(`sandbox exited ${p.child.exitCode}: ${p.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no banner within ${deadlineMs} ms: ${p.stdout()} ${p.stderr()}`);
}

describe('lugh sandbox', () => {
  const started: LughProcess[] = [];
  afterAll(() => {
    for (const p of started) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });

  it('starts both instances on embedded Postgres and its own redis-server, healthy, and stops everything on Ctrl-C', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lugh-sandbox-test-'));
    const sandbox = spawnLugh(['sandbox', '--port', '0', '--dir', dir], { LOG_LEVEL: 'warn' });
    started.push(sandbox);
    const text = await banner(sandbox);
    const page = text.match(/chat page\s+(http:\/\/127\.0\.0\.1:\d+)\//)?.[1];
    const health = [...text.matchAll(/health (http:\/\/127\.0\.0\.1:\d+\/healthz)/g)].map((m) => m[1]!);
    const redisUrl = text.match(/redis-server at (redis:\/\/127\.0\.0\.1:\d+)/)?.[1];
    // Staging's previews: through a Caddy of the sandbox's own when caddy is installed (.ci/run installs it).
    const caddyAdmin = text.match(/through caddy \(admin API (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
    expect(text).toMatch(/Previews {5}staging's: one per pull request into develop/);
    if (spawnSync('caddy', ['version']).status === 0) {
      expect(caddyAdmin, text).toBeDefined();
      expect((await fetch(`${caddyAdmin}/config/`)).status).toBe(200);
    }
    expect(page).toBeDefined();
    expect(health).toHaveLength(2);
    expect(text).toContain('embedded (PGlite)');
    // The banner comes once both instances run; each bot's first call to the Telegram
    // stand-in may still be under way ("telegram: down: connecting") on a loaded machine.
    for (const url of health) {
      await expect
        .poll(async () => (await fetch(url)).json(), { timeout: 20_000, interval: 250 })
        .toEqual({ status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' });
    }
    const bots = await (await fetch(`${page}/_sandbox/bots`)).text();
    expect(bots).not.toMatch(/\d{8,}:AA/); // the page API never hands out tokens

    sandbox.child.kill('SIGINT');
    expect(await sandbox.exited).toBe(0);
    // The redis-server it started is gone, and so is its Caddy.
    const ports = [
      Number(new URL(redisUrl!).port),
      ...(caddyAdmin ? [Number(new URL(caddyAdmin).port)] : []),
    ];
    const { createConnection } = await import('node:net');
    for (const port of ports) {
      const stillThere = await new Promise<boolean>((resolve) => {
        const s = createConnection({ port, host: '127.0.0.1' });
        s.once('connect', () => {
          s.end();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      expect({ port, stillThere }).toEqual({ port, stillThere: false });
    }
    expect(existsSync(path.join(dir, 'postgres', 'staging_lugh'))).toBe(true);
  }, 90_000);

  it('says how to install redis-server when it is not on PATH', async () => {
    // A PATH holding node alone: no redis-server to find.
    const bin = mkdtempSync(path.join(tmpdir(), 'lugh-path-'));
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const sandbox = spawnLugh(['sandbox', '--port', '0'], { PATH: bin, LOG_LEVEL: 'warn' });
    started.push(sandbox);
    expect(await sandbox.exited).toBe(1);
    expect(sandbox.stderr()).toContain('redis-server was not found on PATH');
    expect(sandbox.stderr()).toContain('apt-get install redis-server');
  }, 60_000);

  it('serves the GitHub stand-in alone over a repository it seeds, and prints what to set', async () => {
    const repo = path.join(mkdtempSync(path.join(tmpdir(), 'lugh-gh-alone-')), 'repo.git');
    const github = spawnLugh(['sandbox', 'github', '--port', '0', '--repo', repo], {});
    started.push(github);
    await expect.poll(() => github.stdout(), { timeout: 30_000 }).toContain('Press Ctrl-C');
    const apiUrl = github.stdout().match(/GITHUB_API_URL=(\S+)/)?.[1];
    const token = github.stdout().match(/GITHUB_TOKEN=(\S+)/)?.[1];
    expect(github.stdout()).toContain('GITHUB_REPO=acme/app (seeded now in');
    const res = await fetch(`${apiUrl}/repos/acme/app/compare/main...develop`, {
      headers: { authorization: `token ${token}` },
    });
    const body = (await res.json()) as { status: string; ahead_by: number };
    // The sandbox's develop: three commits on the one service, then the set (lugh.yml, a worker).
    expect({ status: body.status, ahead: body.ahead_by }).toEqual({ status: 'ahead', ahead: 4 });
    const file = await fetch(`${apiUrl}/repos/acme/app/contents/lugh.yml?ref=develop`, {
      headers: { authorization: `token ${token}`, accept: 'application/vnd.github.raw' },
    });
    expect(await file.text()).toContain('image_of: app');
    github.child.kill('SIGINT');
    expect(await github.exited).toBe(0);
  }, 60_000);

  it('says what is missing for the GitHub stand-in alone', async () => {
    const result = spawnLugh(['sandbox', 'github'], {});
    started.push(result);
    expect(await result.exited).toBe(2);
    expect(result.stderr()).toContain('--repo DIR is required');
  });

  it('says which port is taken and what to do', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const sandbox = spawnLugh(['sandbox', '--port', String(port)], { LOG_LEVEL: 'warn' });
      started.push(sandbox);
      expect(await sandbox.exited).toBe(1);
      expect(sandbox.stderr()).toContain(`port ${port} is in use: pass another with --port P`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);
});
