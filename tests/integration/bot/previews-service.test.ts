// /previews against the real preview service (previews/preview-service.ts) and its store on
// real Postgres, through the Telegram stand-in: what the chat shows is what the previews
// table holds (a running preview, a fork waiting for an admin as the service records it),
// a tear-down from chat stops the row and queues its stop job with the admin named, a
// refusal of the service reaches the chat in its words, and /status counts them. The
// service's Docker side and queue are recording stand-ins here (the jobs are tested by
// their own engineer on real Docker); what is under test is the chat over the service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { secretsOf } from '../../../src/config/index.js';
import type { Forge, PullSummary } from '../../../src/forge/forge.js';
import { createLogger } from '../../../src/logger.js';
import type { PreviewRuntime } from '../../../src/previews/preview.js';
import { FORK_WAITS } from '../../../src/previews/preview-plan.js';
import type { PreviewJobData } from '../../../src/previews/preview-queue.js';
import { createPreviewService } from '../../../src/previews/preview-service.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createStatusService } from '../../../src/status/status-service.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { buttonOffers } from '../../../src/store/button-offers.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createPreviewStore } from '../../../src/store/previews.js';
import { ADMIN_ID, instanceConfig } from '../../helpers/instance-env.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const TOKEN = '5550071:AAStagingTokenForPreviewsService_abc';
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const sha = (c: string) => c.repeat(40);
const NAMESPACE = `t-chat-${Math.random().toString(36).slice(2, 8)}`;

describe('/previews over the real preview service', () => {
  let tg: Awaited<ReturnType<typeof startTelegramStandIn>>;
  let db: TestDatabase;
  let pool: Pool;
  let runtime: TelegramRuntime;
  const queued: PreviewJobData[] = [];
  let chat = 0;
  const nextGroup = () => -(71_000 + ++chat);
  // What GitHub says of each pull request now (a test pushes by changing headSha).
  const pulls = new Map<number, PullSummary>();
  const pull = (n: number, headSha: string, fork: boolean): PullSummary => ({
    number: n,
    url: `https://github.com/acme/app/pull/${n}`,
    state: 'open',
    merged: false,
    headSha,
    headRef: `branch-${n}`,
    baseRef: 'develop',
    author: fork ? 'mallory' : 'octocat',
    fork,
    updatedAt: new Date(),
  });
  // Only what starting from chat reads; anything else the service asks fails loudly.
  const forge = new Proxy({} as Forge, {
    get: (_t, name) =>
      name === 'pullSummary'
        ? async (n: number) => {
            const found = pulls.get(n);
            if (!found) throw new Error(`no pull request #${n} in this test`);
            return found;
          }
        : name === 'then'
          ? undefined
          : async () => {
              throw new Error(`forge.${String(name)} is not in this test`);
            },
  });

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db = await createTestDatabase('staging_lugh');
    const config = instanceConfig({
      databaseUrl: db.url,
      apiRoot: tg.apiRoot,
      token: TOKEN,
      extra: { FEATURE_PREVIEWS: 'on', PREVIEW_URL_TEMPLATE: 'https://pr-{n}.preview.example.com/' },
    });
    const logger = createLogger({
      level: 'warn',
      secrets: secretsOf(config),
      destination: { write: () => {} },
    });
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'previews-service-chat-test');
    const store = createPreviewStore(pool, NAMESPACE);
    const redact = createRedactor(secretsOf(config));
    const docker: PreviewRuntime = {
      replace: async () => {
        throw new Error('not in this test');
      },
      migrate: async () => 'none',
      remove: async () => {},
      health: async (names) => (names.pr === 7 ? 'healthy' : 'missing'),
      logs: async () => ['listening on 8080'],
      list: async () => [],
      pruneImages: async () => [],
    };
    const service = createPreviewService({
      settings: config.previews,
      namespace: NAMESPACE,
      store,
      forge,
      runtime: docker,
      builder: {
        ensure: async () => {
          throw new Error('not in this test');
        },
      },
      imageRepository: 'lugh-preview-chat-test',
      hostRoom: async () => ({ freeMemoryBytes: 2 ** 40, freeDiskBytes: 2 ** 40 }),
      logger,
      redact,
      healthDeadlineMs: 1_000,
      migrateTimeoutMs: 1_000,
      queue: {
        add: async (data: PreviewJobData) => {
          queued.push(data);
        },
        close: async () => {},
      },
      base: 'develop',
    });
    // A running preview and a fork's waiting for an admin, as the service's jobs leave them.
    const running = await store.request(
      { pr: 7, headSha: sha('a'), headRef: 'feature-7', author: 'octocat', fork: false },
      'queued',
      null,
      new Date(Date.now() - 2 * 3_600_000),
    );
    await store.advance(7, running.generation, {
      state: 'running',
      runningSha: sha('a'),
      url: 'https://pr-7.preview.example.com/',
    });
    await store.request(
      { pr: 8, headSha: sha('b'), headRef: 'fork-8', author: 'mallory', fork: true },
      'stopped',
      FORK_WAITS,
      new Date(),
    );
    const status = createStatusService({
      env: 'staging',
      own: async () => ({
        env: 'staging',
        startedAt: new Date().toISOString(),
        container: 'lugh-staging-app',
        health: { status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' },
        at: new Date().toISOString(),
      }),
      ownContainer: 'lugh-staging-app',
      other: async () => undefined,
      container: async (name) => ({ name, state: 'running' }),
      previews: () => service.counts(),
    });
    const { bot } = createBot({
      config,
      logger,
      audit: createAuditLog(pool, 'staging'),
      redact,
      previews: service,
      offers: buttonOffers(pool),
      status,
    });
    runtime = startTelegramRuntime(bot, { logger, backoff: { initialMs: 50, maxMs: 200 } });
    await runtime.ready;
  });

  afterAll(async () => {
    await runtime?.stop();
    await pool?.end();
    await tg?.close();
    await db?.drop();
  });

  async function say(text: string, chatId: number) {
    const sent = tg.sendText({
      token: TOKEN,
      chat: { id: chatId, type: 'group', title: 'Ops' },
      from: admin,
      text,
    });
    return tg.waitForBotMessage(TOKEN, chatId, (m) => m.message_id > sent.message_id, { timeoutMs: 10_000 });
  }
  type Keyed = { reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string }>> } };
  const dataOf = (m: Keyed | undefined, text: string) =>
    (m?.reply_markup?.inline_keyboard ?? []).flat().find((b) => b.text.startsWith(text))?.callback_data;
  const messageOf = (chatId: number, id: number) => {
    const m = tg.transcript(TOKEN, chatId).find((e) => e.kind === 'bot_message' && e.message_id === id);
    return m && m.kind === 'bot_message' ? m : undefined;
  };
  const press = (chatId: number, messageId: number, data: string) =>
    tg.pressButton({ token: TOKEN, chatId, messageId, data, from: admin });

  it('lists what the previews table holds: a running preview, and a fork waiting for an admin with Start', async () => {
    const list = await say('/previews', nextGroup());
    expect(list.text).toContain('#7 by octocat');
    expect(list.text).toContain('running, healthy');
    expect(list.text).toContain('#8 by mallory (fork)');
    expect(list.text).toContain('waiting for an admin');
    expect(dataOf(list, '▶️ Start #8 (fork: untrusted code)')).toBeDefined();
  });

  it('/status counts them', async () => {
    const m = await say('/status', nextGroup());
    expect(m.text).toMatch(/Previews: 1 running, 1 starting or stopped \(max 3\)/);
  });

  it('a fork’s Start asks to confirm its head; a push before Yes is refused (the head moved), nothing is started', async () => {
    pulls.set(8, pull(8, sha('b'), true));
    const group = nextGroup();
    const list = await say('/previews', group);
    press(group, list.message_id, dataOf(list, '▶️ Start #8')!);
    const question = await tg.waitForBotMessage(TOKEN, group, (m) => m.message_id > list.message_id, {
      timeoutMs: 10_000,
    });
    expect(question.text).toContain(sha('b').slice(0, 7));
    // Pushed meanwhile: Yes approved the commit shown, not this one.
    pulls.set(8, pull(8, sha('c'), true));
    const before = queued.length;
    press(group, question.message_id, dataOf(question, 'Yes, start #8')!);
    await expect
      .poll(() => messageOf(group, question.message_id)?.text ?? '')
      .toMatch(
        /#8: its head moved from bbbbbbb to ccccccc since it was shown: nothing was started\. Send \/previews again/,
      );
    expect(queued.length).toBe(before);
    expect((await createPreviewStore(pool, NAMESPACE).get(8))?.approvedSha ?? null).toBeNull();
  });

  it('a fork’s Yes on the head shown starts that head, approved', async () => {
    pulls.set(8, pull(8, sha('d'), true));
    const group = nextGroup();
    const question = await say('/previews start 8', group);
    expect(question.text).toContain(sha('d').slice(0, 7));
    press(group, question.message_id, dataOf(question, 'Yes, start #8')!);
    await expect
      .poll(() => messageOf(group, question.message_id)?.text ?? '')
      .toMatch(/Start of the preview of #8 queued by @ada/);
    expect(await createPreviewStore(pool, NAMESPACE).get(8)).toMatchObject({ approvedSha: sha('d') });
  });

  it('/previews start of a fork with no preview yet asks to confirm, by what GitHub says (not the table)', async () => {
    pulls.set(9, pull(9, sha('e'), true));
    const group = nextGroup();
    const before = queued.length;
    const question = await say('/previews start 9', group);
    expect(question.text).toMatch(/Start the preview of #9 from a fork by mallory\?/);
    expect(question.text).toContain(sha('e').slice(0, 7));
    expect(dataOf(question, 'Yes, start #9')).toBeDefined();
    expect(queued.length).toBe(before);
    expect(await createPreviewStore(pool, NAMESPACE).get(9)).toBeUndefined();
  });

  it('Redeploy of a fork whose head moved past the approved one asks to confirm the new head', async () => {
    // #8 was approved at d (above); pushed to f since.
    pulls.set(8, pull(8, sha('f'), true));
    const group = nextGroup();
    const list = await say('/previews', group);
    const before = queued.length;
    const redeploy = (list.reply_markup?.inline_keyboard ?? [])
      .flat()
      .find((b) => b.text === 'Redeploy' && b.callback_data?.endsWith(':8'))?.callback_data;
    press(group, list.message_id, redeploy!);
    const question = await tg.waitForBotMessage(TOKEN, group, (m) => m.message_id > list.message_id, {
      timeoutMs: 10_000,
    });
    expect(question.text).toMatch(/Start the preview of #8 from a fork by mallory\?/);
    expect(question.text).toContain(sha('f').slice(0, 7));
    expect(queued.length).toBe(before);
    expect(await createPreviewStore(pool, NAMESPACE).get(8)).toMatchObject({ approvedSha: sha('d') });
  });

  it('a tear-down confirmed in chat stops the row, names the admin, and queues its stop job with its data dropped', async () => {
    const group = nextGroup();
    const list = await say('/previews', group);
    press(group, list.message_id, dataOf(list, 'Tear down')!);
    const question = await tg.waitForBotMessage(TOKEN, group, (m) => m.message_id > list.message_id, {
      timeoutMs: 10_000,
    });
    const before = queued.length;
    press(group, question.message_id, dataOf(question, 'Yes, tear down #7')!);
    await expect
      .poll(() => messageOf(group, question.message_id)?.text ?? '')
      .toMatch(/Tear-down of the preview of #7 queued by @ada/);
    expect(queued.slice(before)).toEqual([expect.objectContaining({ kind: 'stop', pr: 7, dropData: true })]);
    const row = await createPreviewStore(pool, NAMESPACE).get(7);
    expect(row).toMatchObject({ state: 'stopped', reason: 'torn down by @ada from chat' });
    // The list now says so, and offers Start again.
    const after = await say('/previews', group);
    expect(after.text).toContain('stopped: torn down by @ada from chat');
    expect(dataOf(after, 'Start #7')).toBeDefined();
  });
});
