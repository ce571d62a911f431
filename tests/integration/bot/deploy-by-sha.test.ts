// /deploy <env> <sha>: a short or full SHA is resolved on GitHub (the stand-in, over a real
// git repository) when it is asked for, and refused with what to send instead when GitHub
// knows no single commit by it. Telegram stand-in, real Postgres.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { secretsOf } from '../../../src/config/index.js';
import { createDeployControl } from '../../../src/deploys/deploy-control.js';
import { createLogger } from '../../../src/logger.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { ADMIN_ID, instanceConfig } from '../../helpers/instance-env.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

type StandIn = Awaited<ReturnType<typeof startTelegramStandIn>>;

const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const TOKEN = '5550031:AAStagingTokenForDeployBySha_abcdefgh';

/** `count` commits on a side branch in one git fast-import: enough that two share a 4-character prefix. */
async function manyCommits(repoDir: string, count: number): Promise<void> {
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    lines.push(`commit refs/heads/noise\nmark :${i}\n`);
    lines.push(`committer Sandbox Developer <dev@acme.example> ${1_767_600_000 + i} +0000\n`);
    lines.push(data(`Noise ${i}`));
    if (i > 1) lines.push(`from :${i - 1}\n`);
  }
  const child = spawn('git', ['-C', repoDir, 'fast-import', '--quiet'], {
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  child.stdin.end(lines.join(''));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`git fast-import exited ${code}`);
}

async function git(repoDir: string, ...args: string[]): Promise<string> {
  const child = spawn('git', ['-C', repoDir, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  await new Promise((resolve) => child.on('close', resolve));
  return out.trim();
}

describe('/deploy by SHA, resolved on the GitHub stand-in', () => {
  let tg: StandIn;
  let github: Awaited<ReturnType<typeof startSeededGitHub>>;
  let db: TestDatabase;
  let pool: Pool;
  let runtime: TelegramRuntime;
  let deployments: ReturnType<typeof createDeploymentStore>;
  const enqueued: number[] = [];

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    github = await startSeededGitHub();
    db = await createTestDatabase('staging_lugh');
    const config = instanceConfig({
      appEnv: 'staging',
      databaseUrl: db.url,
      apiRoot: tg.apiRoot,
      token: TOKEN,
    });
    const logger = createLogger({
      level: 'warn',
      secrets: secretsOf(config),
      destination: { write: () => {} },
    });
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'deploy-by-sha-test');
    const audit = createAuditLog(pool, 'staging');
    deployments = createDeploymentStore(pool);
    const deploys = createDeployControl({
      env: 'staging',
      deployments,
      locks: createLockStore(pool),
      audit,
      forge: github.forge,
      enqueue: async (id) => {
        enqueued.push(id);
        return `job-${id}`;
      },
      containerLogs: async () => [],
      confirmMs: 60_000,
    });
    const { bot } = createBot({ config, logger, audit, redact: createRedactor(secretsOf(config)), deploys });
    runtime = startTelegramRuntime(bot, { logger, backoff: { initialMs: 50, maxMs: 200 } });
    await runtime.ready;
  });

  afterAll(async () => {
    await runtime?.stop();
    await pool?.end();
    await tg?.close();
    await github?.gh.close();
    if (github) await rm(path.dirname(github.repoDir), { recursive: true, force: true });
    await db?.drop();
  });

  async function say(text: string) {
    const sent = tg.sendText({ token: TOKEN, chat: { id: admin.id, type: 'private' }, from: admin, text });
    return tg.waitForBotMessage(TOKEN, admin.id, (m) => m.message_id > sent.message_id, {
      timeoutMs: 10_000,
    });
  }

  it('a short SHA deploys that commit: the deployment records the full SHA GitHub resolved', async () => {
    const full = github.seeded.mainSha;
    const before = enqueued.length;
    const reply = await say(`/deploy staging ${full.slice(0, 7)}`);
    expect(reply.text).toMatch(/is queued/);
    expect(enqueued.length).toBe(before + 1);
    const made = await deployments.get(enqueued.at(-1)!);
    expect(made?.sha).toBe(full);
  });

  it('a full SHA deploys that commit', async () => {
    const full = github.seeded.developSha;
    const before = enqueued.length;
    const reply = await say(`/deploy staging ${full}`);
    expect(reply.text).toMatch(/is queued/);
    expect(enqueued.length).toBe(before + 1);
    expect((await deployments.get(enqueued.at(-1)!))?.sha).toBe(full);
  });

  it('a SHA GitHub does not know is refused, saying what to send instead, and nothing is queued', async () => {
    const before = enqueued.length;
    const reply = await say('/deploy staging 0123456789abcdef');
    expect(reply.text).toContain('0123456789abcdef');
    expect(reply.text).toMatch(/no branch or single commit/);
    expect(reply.text).toMatch(/all 40 characters/);
    expect(enqueued.length).toBe(before);
  });

  it('a short SHA that names two commits is refused, asking for more of it, and nothing is queued', async () => {
    await manyCommits(github.repoDir, 1500);
    const shas = (await git(github.repoDir, 'rev-list', 'noise')).split('\n');
    const seen = new Map<string, string>();
    let prefix: string | undefined;
    for (const s of shas) {
      const p = s.slice(0, 4);
      if (seen.has(p)) {
        prefix = p;
        break;
      }
      seen.set(p, s);
    }
    expect(prefix).toBeDefined();
    const before = enqueued.length;
    const reply = await say(`/deploy staging ${prefix}`);
    expect(reply.text).toMatch(/no branch or single commit/);
    expect(reply.text).toMatch(/too short to name one commit/);
    expect(enqueued.length).toBe(before);
  });

  it('GitHub failing while a SHA is resolved: the reply says so and what to do, and nothing is queued', async () => {
    github.gh.injectFault({ route: 'GET /repos/{owner}/{repo}/commits/{ref}', kind: '5xx', times: 1 });
    const before = enqueued.length;
    const reply = await say(`/deploy staging ${github.seeded.mainSha.slice(0, 7)}`);
    expect(reply.text).toMatch(/could not ask GitHub/i);
    expect(reply.text).toMatch(/try again/i);
    expect(enqueued.length).toBe(before);
  });
});
