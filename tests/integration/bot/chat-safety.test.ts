// The holes a careless or hostile chat finds: anonymous admins and channels, a rollback
// button tapped twice, and user text full of HTML metacharacters in every command.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { type Config, secretsOf } from '../../../src/config/index.js';
import { createDeployControl } from '../../../src/deploys/deploy-control.js';
import { createLogger } from '../../../src/logger.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { ADMIN_ID, instanceConfig, STRANGER_ID } from '../../helpers/instance-env.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

type StandIn = Awaited<ReturnType<typeof startTelegramStandIn>>;

const SECOND_ADMIN_ID = 3003;
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const secondAdmin = { id: SECOND_ADMIN_ID, first_name: 'Bo', username: 'bo' };
// No username: the name people see is the first and last name, markup and all.
const oddAdmin = { id: SECOND_ADMIN_ID, first_name: '<b>Bo</b> & "Co"', last_name: "<O'Brien>" };
const stranger = { id: STRANGER_ID, first_name: '<i>Sam</i>' };
const TOKEN = '5550011:AAStagingTokenForChatSafety_abcdefgh';
const GROUP_ANONYMOUS_BOT_ID = 1087968824;
const CHANNEL_BOT_ID = 136817688;

const sha = (c: string) => c.repeat(40);

describe('chat safety over the Telegram stand-in', () => {
  let tg: StandIn;
  let db: TestDatabase;
  let pool: Pool;
  let config: Config;
  let runtime: TelegramRuntime;
  const lines: string[] = [];
  const enqueued: number[] = [];
  let audit: ReturnType<typeof createAuditLog>;
  let deployments: ReturnType<typeof createDeploymentStore>;
  let chat = 0;
  const nextGroup = () => -(20_000 + ++chat);

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db = await createTestDatabase('staging_lugh');
    config = instanceConfig({
      appEnv: 'staging',
      databaseUrl: db.url,
      apiRoot: tg.apiRoot,
      token: TOKEN,
      extra: { ADMIN_IDS: `${ADMIN_ID},${SECOND_ADMIN_ID}` },
    });
    const logger = createLogger({
      level: 'debug',
      secrets: secretsOf(config),
      destination: { write: (line: string) => lines.push(line) },
    });
    await runMigrations({ databaseUrl: config.databaseUrl, logger });
    pool = createPool(config.databaseUrl, 'chat-safety-test');
    audit = createAuditLog(pool, 'staging');
    deployments = createDeploymentStore(pool);
    const deploys = createDeployControl({
      env: 'staging',
      deployments,
      locks: createLockStore(pool),
      audit,
      enqueue: async (id) => {
        enqueued.push(id);
        return `job-${id}`;
      },
      containerLogs: async (n) => Array.from({ length: Math.min(n, 3) }, (_, i) => `<line ${i}> & "so"`),
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
    await db?.drop();
  });

  async function say(
    from: { id: number; first_name: string; last_name?: string; username?: string },
    text: string,
    chatId: number = from.id,
    sendAs?: 'group' | { id: number; title: string },
  ) {
    const type = chatId < 0 ? 'group' : 'private';
    const sent = tg.sendText({ token: TOKEN, chat: { id: chatId, type }, from, text, sendAs });
    return tg.waitForBotMessage(TOKEN, chatId, (m) => m.message_id > sent.message_id, { timeoutMs: 10_000 });
  }

  const failures = () => lines.filter((l) => l.includes('update failed'));

  describe('anonymous admins and channels', () => {
    it('the stand-in sends a command written as the group, or as a channel, as the Bot API does', async () => {
      const group = nextGroup();
      const asGroup = tg.sendText({
        token: TOKEN,
        chat: { id: group, type: 'group' },
        from: admin,
        text: '/whoami',
        sendAs: 'group',
      });
      expect(asGroup.from).toMatchObject({
        id: GROUP_ANONYMOUS_BOT_ID,
        is_bot: true,
        username: 'GroupAnonymousBot',
      });
      expect(asGroup.sender_chat).toMatchObject({ id: group, type: 'group' });
      const asChannel = tg.sendText({
        token: TOKEN,
        chat: { id: group, type: 'group' },
        from: admin,
        text: '/whoami',
        sendAs: { id: -1009999, title: 'News' },
      });
      expect(asChannel.from).toMatchObject({ id: CHANNEL_BOT_ID, is_bot: true, username: 'Channel_Bot' });
      expect(asChannel.sender_chat).toEqual({ id: -1009999, type: 'channel', title: 'News' });
      expect(JSON.stringify([asGroup, asChannel])).not.toContain(String(ADMIN_ID));
      expect(() =>
        tg.sendText({
          token: TOKEN,
          chat: { id: admin.id, type: 'private' },
          from: admin,
          text: '/x',
          sendAs: 'group',
        }),
      ).toThrow(/only in a group/);
    });

    it('refuses a privileged command sent as an anonymous group admin, says to turn off "Remain anonymous", never to add the id', async () => {
      const group = nextGroup();
      const reply = await say(admin, '/deploy staging', group, 'group');
      expect(reply.text).toContain('Remain anonymous');
      expect(reply.text).not.toContain(String(GROUP_ANONYMOUS_BOT_ID));
      expect(reply.text).not.toContain('ADMIN_IDS');
      expect(enqueued).toEqual([]);
      const [last] = await audit.recent(1);
      expect(last).toMatchObject({ action: '/deploy', outcome: 'refused' });
      expect(last?.details).toMatchObject({ reason: 'anonymous sender' });
    });

    it('refuses a command sent on behalf of a channel: write from your own account', async () => {
      const group = nextGroup();
      const reply = await say(admin, '/flags', group, { id: -1004242, title: 'Ops news' });
      expect(reply.text).toContain('your own account');
      expect(reply.text).not.toContain(String(CHANNEL_BOT_ID));
      expect(reply.text).not.toContain('ADMIN_IDS');
    });

    it('/whoami and /start do not present the anonymous bot’s id as the user’s', async () => {
      const group = nextGroup();
      const who = await say(admin, '/whoami', group, 'group');
      expect(who.text).not.toContain(String(GROUP_ANONYMOUS_BOT_ID));
      expect(who.text).toContain('Remain anonymous');
      const start = await say(admin, '/start', group, { id: -1004243, title: 'News' });
      expect(start.text).not.toContain(String(CHANNEL_BOT_ID));
    });
  });

  describe('a rollback button', () => {
    it('answers only the admin who asked; its confirmation tapped twice deploys once; another picker is told the release is under way', async () => {
      const older = await deployments.create({
        env: 'staging',
        ref: 'develop',
        sha: sha('a'),
        trigger: 'manual',
      });
      await deployments.finish(older.id, { status: 'succeeded', sha: sha('a') });
      const current = await deployments.create({
        env: 'staging',
        ref: 'develop',
        sha: sha('b'),
        trigger: 'manual',
      });
      await deployments.finish(current.id, { status: 'succeeded', sha: sha('b') });

      const group = nextGroup();
      const picker = await say(admin, '/rollback staging', group);
      const data = picker.reply_markup?.inline_keyboard[0]?.[0]?.callback_data;
      expect(data).toMatch(new RegExp(`^rollback:\\d+:${older.id}$`));
      const before = enqueued.length;
      const answerOf = (id: string) =>
        tg.transcript(TOKEN, group).find((e) => e.kind === 'callback_answer' && e.callback_query_id === id);
      const pickerNow = () => {
        const m = tg
          .transcript(TOKEN, group)
          .find((e) => e.kind === 'bot_message' && e.message_id === picker.message_id);
        return m && m.kind === 'bot_message' ? m : undefined;
      };
      const press = (d: string, from: typeof admin) =>
        tg.pressButton({ token: TOKEN, chatId: group, messageId: picker.message_id, data: d, from });
      // Both taps are queued before the bot sees either: the second admin's is refused.
      const first = press(data!, admin);
      const second = press(data!, secondAdmin);
      await expect.poll(() => answerOf(first) && answerOf(second)).toBeTruthy();
      expect(answerOf(second)).toMatchObject({
        show_alert: true,
        text: expect.stringContaining('Only @ada can use these buttons'),
      });
      expect(enqueued.length - before).toBe(0);
      await expect
        .poll(() =>
          (pickerNow()?.reply_markup?.inline_keyboard ?? [])
            .flat()
            .map((b) => b.callback_data)
            .find((d) => d?.startsWith('rollback:yes:')),
        )
        .toBeTruthy();
      const yes = (pickerNow()?.reply_markup?.inline_keyboard ?? [])
        .flat()
        .map((b) => b.callback_data)
        .find((d) => d?.startsWith('rollback:yes:'))!;
      // The confirmation tapped twice, both taps queued before the bot sees either.
      const third = press(yes, admin);
      const fourth = press(yes, admin);
      await expect.poll(() => answerOf(third) && answerOf(fourth)).toBeTruthy();
      expect(enqueued.length - before).toBe(1);
      const rollbacks = (await deployments.recent('staging', 20)).filter((d) => d.trigger === 'rollback');
      expect(rollbacks).toHaveLength(1);
      const [made] = rollbacks;
      expect(answerOf(fourth)).toMatchObject({
        show_alert: true,
        text: expect.stringContaining(`Deploy #${made!.id} is already under way for this release`),
      });

      // Another /rollback message, in another chat: the same release is under way already.
      const other = await say(secondAdmin, '/rollback staging');
      const otherData = other.reply_markup?.inline_keyboard[0]?.[0]?.callback_data;
      const fifth = tg.pressButton({
        token: TOKEN,
        chatId: secondAdmin.id,
        messageId: other.message_id,
        data: otherData!,
        from: secondAdmin,
      });
      await expect
        .poll(() =>
          tg
            .transcript(TOKEN, secondAdmin.id)
            .find((e) => e.kind === 'callback_answer' && e.callback_query_id === fifth),
        )
        .toMatchObject({ text: expect.stringContaining(`Deploy #${made!.id} is already under way`) });
      expect(enqueued.length - before).toBe(1);
      const refused = (await audit.recent(5)).find(
        (a) => a.action === '/rollback' && a.outcome === 'refused',
      );
      expect(refused?.details).toMatchObject({ reason: 'already requested', deploymentId: made!.id });

      expect(failures()).toEqual([]);
    });
  });

  describe('user text with HTML metacharacters', () => {
    const nasty = `<b>x</b> & "q" 'a' <x`;
    const long = `${'<&>"'.repeat(300)}${'y'.repeat(1500)}`;
    // Each command with arguments full of markup; the reply must be accepted by the
    // stand-in's parser (the real server's rules) and show the text as typed.
    const cases: Array<{ text: string; shows?: string }> = [
      { text: '/deploy <x', shows: '<x' },
      { text: `/deploy staging ${nasty}` },
      { text: '/deploy staging <script>', shows: '<script>' },
      { text: `/deploy ${long}` },
      { text: '/rollback <x>', shows: '<x>' },
      { text: '/rollback staging & <b>' },
      { text: '/history "<prod>"', shows: '"<prod>"' },
      { text: '/delivery <x', shows: '<x' },
      { text: `/delivery 7 ${long}` },
      { text: '/logs <x', shows: '<x' },
      { text: '/logs staging <5>' },
      { text: '/logs staging 3', shows: '<line 0> & "so"' },
      { text: '/unlock <staging>', shows: '<staging>' },
      { text: `/lock ${nasty}` },
      { text: `/lock staging ${nasty} 2h`, shows: `“${nasty}”` },
      { text: `/lock staging ${long}` },
      // The same admin locking again renews the lock with the new reason, cut at 200 characters.
      { text: '/unlock staging', shows: `“${'<&>"'.repeat(50)}”` },
      { text: `/flags ${nasty}` },
      { text: `/help ${nasty}` },
      { text: `/start ${nasty}` },
      { text: `/whoami ${nasty}` },
      { text: `/version ${nasty}` },
      { text: `/status ${nasty}` },
      { text: `/promote ${nasty}` },
      { text: `/cancel ${nasty}` },
      { text: `/doctor ${nasty}` },
      { text: `/nosuchcommand ${nasty}` },
      { text: nasty },
    ];

    for (const c of cases) {
      it(`${c.text.slice(0, 40)}${c.text.length > 40 ? '…' : ''}`, async () => {
        const reply = await say(admin, c.text);
        expect(reply.text).not.toMatch(/Something went wrong/);
        if (c.shows) expect(reply.text).toContain(c.shows);
        expect(failures()).toEqual([]);
      });
    }

    it('names of people with markup: the lock owner, /whoami and a stranger’s refusal', async () => {
      const locked = await say(oddAdmin, '/lock staging maintenance');
      expect(locked.text).toContain('is locked until');
      const again = await say(admin, '/lock staging mine');
      expect(again.text).toContain(`<b>Bo</b> & "Co" <O'Brien> (${SECOND_ADMIN_ID})`);
      const unlocked = await say(admin, '/unlock staging');
      expect(unlocked.text).toContain(`<b>Bo</b> & "Co" <O'Brien>`);
      const who = await say(stranger, '/whoami');
      expect(who.text).toContain('User: <i>Sam</i>');
      const refused = await say(stranger, `/deploy staging ${nasty}`);
      expect(refused.text).toContain('/deploy is for lugh admins only');
      expect(failures()).toEqual([]);
    });
  });
});
