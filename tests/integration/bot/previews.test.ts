// /previews through the Telegram stand-in: the listing (states, a fork waiting, empty),
// each button (answered, the service asked with the admin as actor), the tear-down's and a
// fork start's confirmation (the asker's only, refused once expired), a preview since
// closed, non-admins refused, the production bot pointing at staging, the flag off. The
// preview service is a recording stand-in of its interface (Previews): Telegram and the
// chat are what is under test here; real Postgres holds the buttons' offers.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { secretsOf } from '../../../src/config/index.js';
import { createLogger } from '../../../src/logger.js';
import type {
  PreviewActor,
  PreviewRequestOutcome,
  Previews,
  PreviewView,
} from '../../../src/previews/preview.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { buttonOffers } from '../../../src/store/button-offers.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { ADMIN_ID, instanceConfig, STRANGER_ID } from '../../helpers/instance-env.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

type StandIn = Awaited<ReturnType<typeof startTelegramStandIn>>;

const SECOND_ADMIN_ID = 3005;
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const secondAdmin = { id: SECOND_ADMIN_ID, first_name: 'Bo', username: 'bo' };
const stranger = { id: STRANGER_ID, first_name: 'Eve', username: 'eve' };
const STAGING = '5550061:AAStagingTokenForPreviewsChat_abcdefg';
const OFF = '5550062:AAStagingTokenPreviewsOffChat_abcdefgh';
const PRODUCTION = '5550063:AAProdTokenForPreviewsChatTests_abcde';
const sha = (c: string) => c.repeat(40);
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

function view(pr: number, over: Partial<PreviewView> = {}): PreviewView {
  return {
    pr,
    state: 'running',
    health: 'healthy',
    headSha: sha('a'),
    headRef: `feature-${pr}`,
    runningSha: sha('a'),
    author: 'octocat',
    fork: false,
    url: `https://pr-${pr}.preview.example.com/`,
    createdAt: hoursAgo(5),
    lastPushAt: hoursAgo(2),
    updatedAt: hoursAgo(2),
    ...over,
  };
}

/** The preview service as the bot sees it: what it lists, and every request it was asked, with its actor. */
function previewsDouble() {
  const calls: Array<{ what: string; pr: number; by?: PreviewActor; expectedSha?: string }> = [];
  const state = {
    views: [] as PreviewView[],
    refuse: undefined as string | undefined,
    broken: undefined as string | undefined,
    logs: ['listening on 8080', 'GET / 200'] as string[] | undefined,
  };
  const answer = (what: string, pr: number, by: PreviewActor): PreviewRequestOutcome => {
    calls.push({ what, pr, by });
    return state.refuse ? { kind: 'refused', pr, text: state.refuse } : { kind: 'queued', pr };
  };
  const service: Previews = {
    list: async () => {
      if (state.broken) throw new Error(state.broken);
      return state.views;
    },
    // As the service: a fork's head starts only as the commit the admin was shown.
    start: async (pr, by, expectedSha) => {
      const fork = state.views.find((v) => v.pr === pr && v.fork);
      if (fork && !expectedSha) {
        calls.push({ what: 'ask', pr, by });
        return { kind: 'confirm', pr, head: { ...fork, fork: true } };
      }
      calls.push({ what: 'start', pr, by, ...(expectedSha ? { expectedSha } : {}) });
      return state.refuse ? { kind: 'refused', pr, text: state.refuse } : { kind: 'queued', pr };
    },
    redeploy: async (pr, by) => answer('redeploy', pr, by),
    tearDown: async (pr, by) => answer('tearDown', pr, by),
    logs: async (pr) => {
      calls.push({ what: 'logs', pr });
      return state.logs;
    },
    counts: async () => ({
      running: state.views.filter((v) => v.state === 'running').length,
      other: 0,
      max: 3,
    }),
  };
  return { service, calls, state };
}

describe('/previews over the Telegram stand-in', () => {
  let tg: StandIn;
  let db: TestDatabase;
  let prodDb: TestDatabase;
  let pool: Pool;
  const runtimes: TelegramRuntime[] = [];
  const previews = previewsDouble();
  const commandsOf: Record<string, readonly string[]> = {};
  let chat = 0;
  const nextGroup = () => -(61_000 + ++chat);

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: STAGING, username: 'LughDevBot', firstName: 'Lugh Dev' });
    tg.registerBot({ token: OFF, username: 'LughDevOffBot', firstName: 'Lugh Dev Off' });
    tg.registerBot({ token: PRODUCTION, username: 'LughBot', firstName: 'Lugh' });
    db = await createTestDatabase('staging_lugh');
    prodDb = await createTestDatabase('prod_lugh');
    const admins = { ADMIN_IDS: `${ADMIN_ID},${SECOND_ADMIN_ID}` };
    const configs = [
      instanceConfig({
        databaseUrl: db.url,
        apiRoot: tg.apiRoot,
        token: STAGING,
        extra: {
          ...admins,
          FEATURE_PREVIEWS: 'on',
          PREVIEW_URL_TEMPLATE: 'https://pr-{n}.preview.example.com',
        },
      }),
      instanceConfig({
        databaseUrl: db.url,
        apiRoot: tg.apiRoot,
        token: OFF,
        extra: { ...admins, FEATURE_PREVIEWS: 'off' },
      }),
      instanceConfig({
        appEnv: 'production',
        databaseUrl: prodDb.url,
        apiRoot: tg.apiRoot,
        token: PRODUCTION,
        extra: admins,
      }),
    ];
    const logger = createLogger({
      level: 'warn',
      secrets: secretsOf(configs[0]!),
      destination: { write: () => {} },
    });
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'previews-chat-test');
    const offers = buttonOffers(pool);
    for (const config of configs) {
      const { bot, commands } = createBot({
        config,
        logger,
        audit: createAuditLog(pool, config.appEnv),
        redact: createRedactor(secretsOf(config)),
        // What instance.ts gives every bot; only staging's with the flag on lists previews.
        previews: previews.service,
        offers,
      });
      commandsOf[config.telegram.token] = commands.map((c) => c.command);
      const runtime = startTelegramRuntime(bot, { logger, backoff: { initialMs: 50, maxMs: 200 } });
      await runtime.ready;
      runtimes.push(runtime);
    }
  });

  afterAll(async () => {
    for (const r of runtimes) await r.stop();
    await pool?.end();
    await tg?.close();
    await db?.drop();
    await prodDb?.drop();
  });

  beforeEach(() => {
    previews.calls.length = 0;
    previews.state.views = [view(7)];
    previews.state.refuse = undefined;
    previews.state.broken = undefined;
  });

  async function say(from: typeof admin, text: string, chatId: number, token = STAGING) {
    const sent = tg.sendText({ token, chat: { id: chatId, type: 'group', title: 'Ops' }, from, text });
    return tg.waitForBotMessage(token, chatId, (m) => m.message_id > sent.message_id, { timeoutMs: 10_000 });
  }
  const press = (chatId: number, messageId: number, data: string, from = admin, token = STAGING) =>
    tg.pressButton({ token, chatId, messageId, data, from });
  const answerOf = (chatId: number, id: string, token = STAGING) =>
    tg.transcript(token, chatId).find((e) => e.kind === 'callback_answer' && e.callback_query_id === id);
  const messageOf = (chatId: number, id: number) => {
    const m = tg.transcript(STAGING, chatId).find((e) => e.kind === 'bot_message' && e.message_id === id);
    return m && m.kind === 'bot_message' ? m : undefined;
  };
  const botMessages = (chatId: number) =>
    tg.transcript(STAGING, chatId).flatMap((e) => (e.kind === 'bot_message' ? [e] : []));
  type Keyed = {
    reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string; url?: string }>> };
  };
  const buttonsOf = (m: Keyed | undefined) => (m?.reply_markup?.inline_keyboard ?? []).flat();
  const dataOf = (m: Keyed | undefined, text: string) =>
    buttonsOf(m).find((b) => b.text.startsWith(text))?.callback_data;
  /** The bot's next message after `afterId` in the chat. */
  const nextMessage = (chatId: number, afterId: number) =>
    tg.waitForBotMessage(STAGING, chatId, (m) => m.message_id > afterId, { timeoutMs: 10_000 });

  it('lists each preview with its state, health, SHA and URL, and a row of buttons each; a fork waiting offers Start', async () => {
    previews.state.views = [
      view(7),
      view(9, { state: 'failed', reason: 'health check failed after 60 s', runningSha: undefined }),
      view(12, { fork: true, state: 'stopped', runningSha: undefined, url: undefined, author: 'mallory' }),
    ];
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    expect(list.text).toContain('#7 by octocat');
    expect(list.text).toContain('running, healthy');
    expect(list.text).toContain('https://pr-7.preview.example.com/');
    expect(list.text).toContain('#9');
    expect(list.text).toContain('failed to start: health check failed after 60 s');
    expect(list.text).toContain('#12 by mallory (fork)');
    expect(list.text).toContain('waiting for an admin');
    expect(list.text).toContain('pushed 2 h 0 min ago');
    expect(buttonsOf(list).map((b) => b.text)).toEqual([
      'Open #7',
      'Redeploy',
      'Logs',
      'Tear down',
      'Redeploy',
      'Logs',
      'Tear down',
      '▶️ Start #12 (fork: untrusted code)',
    ]);
    expect(buttonsOf(list)[0]!.url).toBe('https://pr-7.preview.example.com/');
  });

  it('an empty list says how previews start', async () => {
    previews.state.views = [];
    const m = await say(admin, '/previews', nextGroup());
    expect(m.text).toMatch(/No previews\. One starts when a pull request into develop is opened/);
  });

  it('Redeploy: the tap is answered, the service asked with the admin as actor, and the chat told', async () => {
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    const tap = press(group, list.message_id, dataOf(list, 'Redeploy')!);
    await expect.poll(() => answerOf(group, tap)).toMatchObject({ text: expect.stringContaining('Queued') });
    const told = await nextMessage(group, list.message_id);
    expect(told.text).toMatch(/Redeploy of the preview of #7 queued by @ada/);
    expect(previews.calls).toEqual([{ what: 'redeploy', pr: 7, by: { userId: ADMIN_ID, name: '@ada' } }]);
  });

  it('a refusal shows the service’s own words', async () => {
    previews.state.refuse = 'the host has less than 512 MiB free: stop a preview first';
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    const tap = press(group, list.message_id, dataOf(list, 'Redeploy')!);
    await expect
      .poll(() => answerOf(group, tap))
      .toMatchObject({ show_alert: true, text: expect.stringContaining('less than 512 MiB free') });
  });

  it('a refusal too long for an alert is cut there and said whole in the chat', async () => {
    previews.state.refuse = `the host is short of room: ${'disk '.repeat(60)}end`;
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    const tap = press(group, list.message_id, dataOf(list, 'Redeploy')!);
    await expect.poll(() => answerOf(group, tap)).toMatchObject({ show_alert: true });
    const answer = answerOf(group, tap);
    expect(answer?.kind === 'callback_answer' && answer.text!.length).toBeLessThanOrEqual(200);
    const whole = await nextMessage(group, list.message_id);
    expect(whole.text).toMatch(/#7: the host is short of room: (disk ){60}end/);
  });

  it('Logs: the last lines in a <pre> block, escaped', async () => {
    previews.state.logs = ['<script>alert(1)</script>', 'GET / 200'];
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    const tap = press(group, list.message_id, dataOf(list, 'Logs')!);
    await expect.poll(() => answerOf(group, tap)).toBeTruthy();
    const logs = await nextMessage(group, list.message_id);
    expect(logs.text).toContain('Last 2 lines of the preview of #7');
    expect(logs.text).toContain('<script>alert(1)</script>\nGET / 200');
    expect(logs.entities?.some((e) => e.type === 'pre')).toBe(true);
    expect(previews.calls).toEqual([{ what: 'logs', pr: 7 }]);
  });

  it('Tear down asks to confirm; No does nothing; Yes tears down with the admin as actor', async () => {
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    press(group, list.message_id, dataOf(list, 'Tear down')!);
    const question = await nextMessage(group, list.message_id);
    expect(question.text).toMatch(
      /Tear down the preview of #7\? Its container, database and Redis keys are removed/,
    );
    expect(previews.calls).toEqual([]);
    press(group, question.message_id, dataOf(question, 'No')!);
    await expect.poll(() => messageOf(group, question.message_id)?.text ?? '').toMatch(/Nothing was done/);
    expect(previews.calls).toEqual([]);

    press(group, list.message_id, dataOf(list, 'Tear down')!);
    const again = await nextMessage(group, question.message_id);
    const yes = press(group, again.message_id, dataOf(again, 'Yes, tear down #7')!);
    await expect.poll(() => answerOf(group, yes)).toMatchObject({ text: expect.stringContaining('Queued') });
    await expect
      .poll(() => messageOf(group, again.message_id)?.text ?? '')
      .toMatch(/Tear-down of the preview of #7 queued by @ada/);
    expect(buttonsOf(messageOf(group, again.message_id))).toEqual([]);
    expect(previews.calls).toEqual([{ what: 'tearDown', pr: 7, by: { userId: ADMIN_ID, name: '@ada' } }]);
  });

  it('a confirmation’s Yes tapped twice tears down once, and the second tap is told so', async () => {
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    press(group, list.message_id, dataOf(list, 'Tear down')!);
    const question = await nextMessage(group, list.message_id);
    const yes = dataOf(question, 'Yes, tear down #7')!;
    const first = press(group, question.message_id, yes);
    const second = press(group, question.message_id, yes);
    await expect.poll(() => [answerOf(group, first), answerOf(group, second)].every(Boolean)).toBe(true);
    const texts = [answerOf(group, first), answerOf(group, second)].map((a) =>
      a?.kind === 'callback_answer' ? (a.text ?? '') : '',
    );
    expect(texts.filter((t) => t.includes('answered already'))).toHaveLength(1);
    expect(previews.calls).toEqual([{ what: 'tearDown', pr: 7, by: { userId: ADMIN_ID, name: '@ada' } }]);
  });

  it('a service that fails: the command and a button say so clearly, and nothing is asked of it', async () => {
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    previews.state.broken = 'the preview store is unreachable';
    const m = await say(admin, '/previews', group);
    expect(m.text).toMatch(
      /The preview service could not answer: the preview store is unreachable\. Nothing was changed/,
    );
    const tap = press(group, list.message_id, dataOf(list, 'Tear down')!);
    await expect
      .poll(() => answerOf(group, tap))
      .toMatchObject({
        show_alert: true,
        text: expect.stringContaining('Nothing was done to #7: the preview store is unreachable'),
      });
    expect(previews.calls).toEqual([]);
  });

  it('a fork’s Start asks to confirm, naming it untrusted, and starts it only on Yes', async () => {
    previews.state.views = [
      view(12, { fork: true, state: 'stopped', runningSha: undefined, author: 'mallory' }),
    ];
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    press(group, list.message_id, dataOf(list, '▶️ Start #12')!);
    const question = await nextMessage(group, list.message_id);
    expect(question.text).toMatch(/Start the preview of #12 from a fork by mallory\?/);
    expect(question.text).toMatch(/code nobody of this repository wrote/);
    expect(previews.calls).toEqual([]);
    press(group, question.message_id, dataOf(question, 'Yes, start #12')!);
    await expect
      .poll(() => messageOf(group, question.message_id)?.text ?? '')
      .toMatch(/Start of the preview of #12 queued/);
    // Yes approves the commit the question showed, nothing else.
    expect(previews.calls).toEqual([
      {
        what: 'start',
        pr: 12,
        by: { userId: ADMIN_ID, name: '@ada' },
        expectedSha: previews.state.views[0]!.headSha,
      },
    ]);
  });

  it('the typed forms: /previews start <n> (a fork’s asks to confirm), /previews logs <n>, and a usage line for anything else', async () => {
    const group = nextGroup();
    const started = await say(admin, '/previews start 7', group);
    expect(started.text).toMatch(/Start of the preview of #7 queued by @ada/);
    expect(previews.calls).toEqual([{ what: 'start', pr: 7, by: { userId: ADMIN_ID, name: '@ada' } }]);
    previews.calls.length = 0;
    previews.state.views = [view(12, { fork: true, state: 'stopped', runningSha: undefined })];
    const fork = await say(admin, '/previews start 12', group);
    expect(fork.text).toMatch(/from a fork/);
    expect(fork.text).toContain(previews.state.views[0]!.headSha.slice(0, 7));
    // Asked (the service says whether it is a fork's), nothing started.
    expect(previews.calls).toEqual([{ what: 'ask', pr: 12, by: { userId: ADMIN_ID, name: '@ada' } }]);
    const logs = await say(admin, '/previews logs 12', group);
    expect(logs.text).toContain('Last 2 lines of the preview of #12');
    const usage = await say(admin, '/previews stop 7', group);
    expect(usage.text).toMatch(/Send \/previews for the list/);
  });

  it('the buttons answer only the admin who asked; another admin is told to send /previews', async () => {
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    const tap = press(group, list.message_id, dataOf(list, 'Redeploy')!, secondAdmin);
    await expect
      .poll(() => answerOf(group, tap))
      .toMatchObject({ show_alert: true, text: expect.stringContaining('Only @ada can use these buttons') });
    expect(previews.calls).toEqual([]);
  });

  it('expired buttons do nothing and say so; an expired confirmation says so in place', async () => {
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    press(group, list.message_id, dataOf(list, 'Tear down')!);
    const question = await nextMessage(group, list.message_id);
    await pool.query(
      `UPDATE button_offers SET expires_at = now() - interval '1 second' WHERE kind = 'preview'`,
    );
    const tap = press(group, list.message_id, dataOf(list, 'Redeploy')!);
    await expect
      .poll(() => answerOf(group, tap))
      .toMatchObject({ show_alert: true, text: expect.stringContaining('expired; nothing was done') });
    press(group, question.message_id, dataOf(question, 'Yes, tear down #7')!);
    await expect
      .poll(() => messageOf(group, question.message_id)?.text ?? '')
      .toMatch(/expired; nothing was done/);
    expect(previews.calls).toEqual([]);
  });

  it('a button of a preview since closed says so and asks nothing of the service', async () => {
    const group = nextGroup();
    const list = await say(admin, '/previews', group);
    previews.state.views = [];
    const tap = press(group, list.message_id, dataOf(list, 'Redeploy')!);
    await expect
      .poll(() => answerOf(group, tap))
      .toMatchObject({ show_alert: true, text: expect.stringContaining('no preview of #7 any more') });
    expect(previews.calls).toEqual([]);
  });

  it('refuses non-admins, the command and a button alike, and asks nothing of the service', async () => {
    const group = nextGroup();
    const refused = await say(stranger, '/previews', group);
    expect(refused.text).toMatch(/\/previews is for lugh admins only/);
    const list = await say(admin, '/previews', group);
    const tap = press(group, list.message_id, dataOf(list, 'Tear down')!, stranger);
    await expect
      .poll(() => answerOf(group, tap))
      .toMatchObject({
        show_alert: true,
        text: expect.stringContaining('Only lugh admins can use this button.'),
      });
    expect(previews.calls).toEqual([]);
    expect(botMessages(group).filter((m) => /Tear down the preview/.test(m.text ?? ''))).toEqual([]);
  });

  it('the production bot points at staging and does not list it (it sends no /previews buttons to press)', async () => {
    const group = nextGroup();
    const m = await say(admin, '/previews', group, PRODUCTION);
    expect(m.text).toMatch(/Previews run on the staging bot: send \/previews there/);
    expect(previews.calls).toEqual([]);
    expect(commandsOf[PRODUCTION]).not.toContain('previews');
    expect(commandsOf[STAGING]).toContain('previews');
  });

  it('with the flag off, staging’s bot does not list it and says how to turn it on', async () => {
    const group = nextGroup();
    const m = await say(admin, '/previews', group, OFF);
    expect(m.text).toMatch(/Previews are off on this bot: set PREVIEW_URL_TEMPLATE/);
    expect(m.text).toMatch(/Preview environments/);
    expect(commandsOf[OFF]).not.toContain('previews');
    expect(previews.calls).toEqual([]);
  });
});
