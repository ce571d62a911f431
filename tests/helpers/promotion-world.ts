// A whole promotion world for tests: the Telegram and GitHub stand-ins (the latter over a
// real seeded git repository), real Postgres and Redis, and a staging lugh instance
// started in-process exactly as `lugh start` starts it.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Instance, startInstance } from '../../src/app/instance.js';
import { BUTTON_LABELS } from '../../src/bot/promotion/notice-text.js';
import { createConfig, secretsOf } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { seedSandboxRepository, startGitHubStandIn } from '../../src/sandbox/github/index.js';
import type { Message } from '../../src/sandbox/telegram/index.js';
import { startTelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { publishDeployLock } from '../../src/store/instance-registry.js';
import { createRedis, keyspace, type Redis } from '../../src/store/redis.js';
import { ADMIN_ID, instanceEnv } from './instance-env.js';
import { createTestDatabase, type TestDatabase } from './services.js';

export const STAGING_TOKEN = '7001002:AAPromotionWorldStagingToken_abcdefghi';
export const GITHUB_TOKEN = 'ghs_promotionWorldToken0123456789abcdef';
export const WEBHOOK_SECRET = 'promotion-world-webhook-secret';
export const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
export const secondAdmin = { id: ADMIN_ID + 1, first_name: 'Bea', username: 'bea' };
export const stranger = { id: 2002, first_name: 'Sam', username: 'sam' };

export type CheckPlan = Parameters<Awaited<ReturnType<typeof startGitHubStandIn>>['setDefaultCheckPlan']>[0];

export const GREEN_CI: CheckPlan = [
  { name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 300 },
  { name: 'ci/lint', kind: 'status', conclusion: 'success', afterMs: 500 },
];

export interface WorldOptions {
  /** GitHub webhooks wake promotions (true) or only the reconciling poll does (false). */
  readonly webhooks?: boolean;
  readonly checks?: CheckPlan;
  readonly env?: Record<string, string>;
  /**
   * lugh's GitHub client as production runs it (retries and throttling on) instead of one
   * that shows every answer as it is; with a short deadline per request and retry pace.
   */
  readonly resilientGitHub?: { readonly timeoutMs: number; readonly retryBaseMs: number };
  /** The Telegram stand-in's clock (callback queries age on it); real time by default. */
  readonly telegramNow?: () => number;
  /** Runs on the stand-ins before lugh starts (what the token's previous owner left behind). */
  readonly beforeStart?: (tg: Awaited<ReturnType<typeof startTelegramStandIn>>) => Promise<void>;
  /** Outside vitest (benchmarks): where databases come from and which Redis to use. */
  readonly services?: {
    readonly createDatabase: (label: string) => Promise<TestDatabase>;
    readonly redisUrl: string;
  };
}

export async function createPromotionWorld(options: WorldOptions = {}) {
  const webhooks = options.webhooks ?? true;
  const repoDir = mkdtempSync(path.join(tmpdir(), 'lugh-world-repo-'));
  const seeded = await seedSandboxRepository(repoDir);
  const tg = await startTelegramStandIn({ now: options.telegramNow });
  tg.registerBot({ token: STAGING_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
  const gh = await startGitHubStandIn({
    repoDir,
    token: GITHUB_TOKEN,
  });
  await gh.setDefaultCheckPlan(options.checks ?? GREEN_CI);
  const db: TestDatabase = await (options.services?.createDatabase ?? createTestDatabase)('staging_lugh');
  const redisSub = randomUUID().slice(0, 8);
  const env = instanceEnv({
    databaseUrl: db.url,
    apiRoot: tg.apiRoot,
    // Any free port, taken by the instance itself; the stand-in's hook follows it (below).
    port: 0,
    token: STAGING_TOKEN,
    redisSub,
    redisUrl: options.services?.redisUrl,
    extra: {
      ADMIN_IDS: `${admin.id},${secondAdmin.id}`,
      GITHUB_TOKEN,
      GITHUB_REPO: `${gh.repo.owner}/${gh.repo.name}`,
      GITHUB_API_URL: gh.apiUrl,
      ...(webhooks ? { GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET } : {}),
      PROMOTE_POLL_SECONDS: webhooks ? '30' : '1',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
  });
  const config = createConfig(env);
  const logLines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    secrets: secretsOf(config),
    destination: { write: (line: string) => logLines.push(line) },
  });
  let clockOffsetMs = 0;
  const now = () => new Date(Date.now() + clockOffsetMs);
  const start = async () => {
    const resilient = options.resilientGitHub;
    const instance = await startInstance(config, logger, {
      resilientGitHub: resilient !== undefined,
      gitHubClient: resilient,
      now,
    });
    if (webhooks) {
      gh.setWebhook({ url: `http://127.0.0.1:${instance.port}/webhooks/github`, secret: WEBHOOK_SECRET });
    }
    await instance.telegram.ready;
    return instance;
  };
  await options.beforeStart?.(tg);
  let instance: Instance = await start();

  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const redis = createRedis(config.redisUrl, { connectionName: 'world-observer' });
  // Where the production instance of this world would publish its deploy lock.
  const productionPrefix = `prod:${redisSub}`;

  const world = {
    tg,
    gh,
    seeded,
    repoDir,
    config,
    logLines,
    pool,
    get instance() {
      return instance;
    },
    /** Moves the promotions' clock forward (CI deadlines, button expiry). */
    advanceClock(ms: number) {
      clockOffsetMs += ms;
    },
    /** Stops the instance as SIGTERM would and starts a new one on the same database and Redis. */
    async restart() {
      await instance.stop();
      instance = await start();
    },
    git(...args: string[]): string {
      return execFileSync('git', ['-C', repoDir, ...args], { encoding: 'utf8' }).trim();
    },
    say(
      from: typeof admin,
      text: string,
      chat: { id: number; type: 'private' | 'group' | 'supergroup'; title?: string } = {
        id: from.id,
        type: 'private',
      },
    ) {
      return tg.sendText({ token: STAGING_TOKEN, chat, from, text });
    },
    /** The next bot message (sent or edited) in a chat after `afterId` that matches. */
    waitFor(chatId: number, predicate: (m: Message) => boolean, timeoutMs = 20_000) {
      return tg.waitForBotMessage(STAGING_TOKEN, chatId, predicate, { timeoutMs });
    },
    /** Presses the prompt's approve ('Yes') or decline ('No') button. */
    press(chatId: number, message: Message, label: 'Yes' | 'No', from: typeof admin) {
      const text = label === 'Yes' ? BUTTON_LABELS.approve : BUTTON_LABELS.decline;
      const button = message.reply_markup?.inline_keyboard.flat().find((b) => b.text === text);
      if (!button?.callback_data) throw new Error(`no ${label} button on message ${message.message_id}`);
      return tg.pressButton({
        token: STAGING_TOKEN,
        chatId,
        messageId: message.message_id,
        data: button.callback_data,
        from,
      });
    },
    callbackAnswer(chatId: number, queryId: string) {
      const entry = tg
        .transcript(STAGING_TOKEN, chatId)
        .find((e) => e.kind === 'callback_answer' && e.callback_query_id === queryId);
      return entry?.kind === 'callback_answer' ? entry : undefined;
    },
    /** The GitHub Deployments handed to production, newest first, as GitHub lists them. */
    async handoffs(): Promise<
      Array<{ id: number; sha: string; environment: string; payload: Record<string, unknown> }>
    > {
      const res = await fetch(
        `${gh.apiUrl}/repos/${gh.repo.owner}/${gh.repo.name}/deployments?environment=production`,
        { headers: { authorization: `token ${GITHUB_TOKEN}` } },
      );
      return (await res.json()) as Array<{
        id: number;
        sha: string;
        environment: string;
        payload: Record<string, unknown>;
      }>;
    },
    /** Production's deploy lock, published as the production instance does. */
    async lockProduction(owner: string, reason: string, ms: number) {
      const acquiredAt = new Date();
      await publishDeployLock(redis, productionPrefix, {
        name: 'deploy:production',
        owner,
        reason,
        acquiredAt,
        expiresAt: new Date(acquiredAt.getTime() + ms),
      });
    },
    /** Which admins the production bot says it cannot write to, as its instance publishes it (chat-reach.ts). */
    async productionReach(unreachableAdmins: readonly number[], botUsername = 'LughBot') {
      await publishProduction(redis, productionPrefix, { env: 'production', botUsername, unreachableAdmins });
    },
    async unlockProduction() {
      await publishDeployLock(redis, productionPrefix, undefined);
    },
    async rows(sql: string, params: unknown[] = []) {
      return (await pool.query(sql, params)).rows;
    },
    async close() {
      await instance.stop().catch(() => {});
      await redis.quit();
      await pool.end();
      await gh.close();
      await tg.close();
      await db.drop();
    },
  };
  return world;
}

/** Production's instance record and reach report, as a started production instance writes them. */
async function publishProduction(
  redis: Redis,
  prefix: string,
  p: { env: 'production'; botUsername: string; unreachableAdmins: readonly number[] },
): Promise<void> {
  const space = keyspace(prefix);
  await redis.set(
    space.key('instance'),
    JSON.stringify({
      env: p.env,
      botId: 7009999,
      botUsername: p.botUsername,
      startedAt: new Date().toISOString(),
    }),
  );
  await redis.set(
    space.key('public', 'reach'),
    JSON.stringify({
      checkedAt: new Date().toISOString(),
      botUsername: p.botUsername,
      unreachableAdmins: p.unreachableAdmins,
      notifyChat: 'ok',
    }),
  );
}

export type PromotionWorld = Awaited<ReturnType<typeof createPromotionWorld>>;

export const isPrompt = (m: Message) =>
  (m.text ?? '').includes('Merge and deploy to production?') && !!m.reply_markup;
