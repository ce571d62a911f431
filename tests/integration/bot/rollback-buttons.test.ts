// The /rollback picker's buttons, like /deploy's: a tap asks to confirm (naming the release
// that will run and the one running now), the buttons answer only the admin who asked, they
// expire, and a confirmation tapped twice (or answered from two processes) deploys once.
// Telegram stand-in, real Postgres.
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
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

type StandIn = Awaited<ReturnType<typeof startTelegramStandIn>>;

const SECOND_ADMIN_ID = 3004;
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const secondAdmin = { id: SECOND_ADMIN_ID, first_name: 'Bo', username: 'bo' };
const TOKEN = '5550041:AAProdTokenForRollbackButtons_abcdefg';
const sha = (c: string) => c.repeat(40);

describe('/rollback buttons over the Telegram stand-in', () => {
  let tg: StandIn;
  let db: TestDatabase;
  let pool: Pool;
  let otherPool: Pool;
  let runtime: TelegramRuntime;
  let deployments: ReturnType<typeof createDeploymentStore>;
  const enqueued: number[] = [];
  let release: { id: number };
  let chat = 0;
  const nextGroup = () => -(40_000 + ++chat);

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughBot', firstName: 'Lugh' });
    db = await createTestDatabase('prod_lugh');
    const config = instanceConfig({
      appEnv: 'production',
      databaseUrl: db.url,
      apiRoot: tg.apiRoot,
      token: TOKEN,
      extra: { ADMIN_IDS: `${ADMIN_ID},${SECOND_ADMIN_ID}` },
    });
    const logger = createLogger({
      level: 'warn',
      secrets: secretsOf(config),
      destination: { write: () => {} },
    });
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'rollback-buttons-test');
    otherPool = createPool(db.url, 'rollback-buttons-other');
    const audit = createAuditLog(pool, 'production');
    deployments = createDeploymentStore(pool);
    const deploys = createDeployControl({
      env: 'production',
      deployments,
      locks: createLockStore(pool),
      audit,
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

    release = await deployments.create({ env: 'production', ref: 'main', sha: sha('a'), trigger: 'manual' });
    await deployments.finish(release.id, { status: 'succeeded', sha: sha('a') });
    const current = await deployments.create({
      env: 'production',
      ref: 'main',
      sha: sha('b'),
      trigger: 'manual',
    });
    await deployments.finish(current.id, { status: 'succeeded', sha: sha('b') });
  });

  afterAll(async () => {
    await runtime?.stop();
    await pool?.end();
    await otherPool?.end();
    await tg?.close();
    await db?.drop();
  });

  async function say(from: typeof admin, text: string, chatId: number) {
    const sent = tg.sendText({ token: TOKEN, chat: { id: chatId, type: 'group', title: 'Ops' }, from, text });
    return tg.waitForBotMessage(TOKEN, chatId, (m) => m.message_id > sent.message_id, { timeoutMs: 10_000 });
  }
  const press = (chatId: number, messageId: number, data: string, from = admin) =>
    tg.pressButton({ token: TOKEN, chatId, messageId, data, from });
  const answerOf = (chatId: number, id: string) =>
    tg.transcript(TOKEN, chatId).find((e) => e.kind === 'callback_answer' && e.callback_query_id === id);
  const messageOf = (chatId: number, id: number) => {
    const m = tg.transcript(TOKEN, chatId).find((e) => e.kind === 'bot_message' && e.message_id === id);
    return m && m.kind === 'bot_message' ? m : undefined;
  };
  const buttonsOf = (
    m: { reply_markup?: { inline_keyboard: Array<Array<{ callback_data?: string }>> } } | undefined,
  ) => (m?.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.callback_data);
  const rollbacks = async () =>
    (await deployments.recent('production', 50)).filter((d) => d.trigger === 'rollback');

  it('a release button asks to confirm, naming the release that will run and the one running now; nothing is queued before Yes', async () => {
    const group = nextGroup();
    const picker = await say(admin, '/rollback production', group);
    expect(picker.text).toMatch(/expire/);
    const before = enqueued.length;
    const tap = press(group, picker.message_id, buttonsOf(picker)[0]!);
    await expect.poll(() => answerOf(group, tap)).toBeTruthy();
    // The picker's text starts the same way: the confirmation is there once its buttons are.
    await expect
      .poll(() => buttonsOf(messageOf(group, picker.message_id)).some((d) => d?.startsWith('rollback:yes:')))
      .toBe(true);
    const confirm = messageOf(group, picker.message_id);
    expect(confirm?.text).toContain('aaaaaaa');
    expect(confirm?.text).toMatch(/runs <?c?o?d?e?>?bbbbbbb|runs bbbbbbb/);
    expect(confirm?.text).toMatch(/expire/);
    expect(enqueued.length).toBe(before);

    const yes = buttonsOf(confirm).find((d) => d?.startsWith('rollback:yes:'));
    expect(yes).toBeDefined();
    press(group, picker.message_id, yes!);
    await expect.poll(() => messageOf(group, picker.message_id)?.text ?? '').toMatch(/is queued/);
    expect(enqueued.length).toBe(before + 1);
    const [made] = await rollbacks();
    expect(made?.sha).toBe(sha('a'));
    await deployments.finish(made!.id, { status: 'failed', error: 'test' });
  });

  it('the buttons answer only the admin who asked: another admin’s tap is refused and queues nothing', async () => {
    const group = nextGroup();
    const picker = await say(admin, '/rollback production', group);
    const before = enqueued.length;
    const count = (await rollbacks()).length;
    const tap = press(group, picker.message_id, buttonsOf(picker)[0]!, secondAdmin);
    await expect
      .poll(() => answerOf(group, tap))
      .toMatchObject({ show_alert: true, text: expect.stringContaining('Only @ada') });
    expect(enqueued.length).toBe(before);
    expect((await rollbacks()).length).toBe(count);

    // The confirmation, too, is the asker's alone.
    press(group, picker.message_id, buttonsOf(picker)[0]!);
    // The picker's text starts the same way: the confirmation is there once its buttons are.
    await expect
      .poll(() => buttonsOf(messageOf(group, picker.message_id)).some((d) => d?.startsWith('rollback:yes:')))
      .toBe(true);
    const yes = buttonsOf(messageOf(group, picker.message_id)).find((d) => d?.startsWith('rollback:yes:'))!;
    const other = press(group, picker.message_id, yes, secondAdmin);
    await expect.poll(() => answerOf(group, other)).toMatchObject({ show_alert: true });
    expect(enqueued.length).toBe(before);
    press(
      group,
      picker.message_id,
      buttonsOf(messageOf(group, picker.message_id)).find((d) => d?.startsWith('rollback:no:'))!,
    );
    await expect
      .poll(() => messageOf(group, picker.message_id)?.text ?? '')
      .toMatch(/cancelled; nothing was deployed/);
    expect(enqueued.length).toBe(before);
  });

  it('an expired picker’s button deploys nothing and says to send /rollback again', async () => {
    const group = nextGroup();
    const picker = await say(admin, '/rollback production', group);
    const before = enqueued.length;
    // The picker's time is up (as if it had waited past its expiry).
    await pool.query(`UPDATE button_offers SET expires_at = now() - interval '1 second'`);
    const tap = press(group, picker.message_id, buttonsOf(picker)[0]!);
    await expect
      .poll(() => answerOf(group, tap))
      .toMatchObject({ show_alert: true, text: expect.stringContaining('/rollback') });
    await expect.poll(() => messageOf(group, picker.message_id)?.text ?? '').toMatch(/expired/);
    expect(enqueued.length).toBe(before);
  });

  it('a confirmation tapped twice queues one deploy, and the second tap is told which', async () => {
    const group = nextGroup();
    const picker = await say(admin, '/rollback production', group);
    press(group, picker.message_id, buttonsOf(picker)[0]!);
    // The picker's text starts the same way: the confirmation is there once its buttons are.
    await expect
      .poll(() => buttonsOf(messageOf(group, picker.message_id)).some((d) => d?.startsWith('rollback:yes:')))
      .toBe(true);
    const yes = buttonsOf(messageOf(group, picker.message_id)).find((d) => d?.startsWith('rollback:yes:'))!;
    const before = enqueued.length;
    const first = press(group, picker.message_id, yes);
    const second = press(group, picker.message_id, yes);
    await expect.poll(() => answerOf(group, first) && answerOf(group, second)).toBeTruthy();
    expect(enqueued.length).toBe(before + 1);
    const id = enqueued.at(-1)!;
    const answers = [answerOf(group, first), answerOf(group, second)].map((a) =>
      a && a.kind === 'callback_answer' ? (a.text ?? '') : '',
    );
    expect(answers.some((t) => t.includes(`#${id}`))).toBe(true);
    await deployments.finish(id, { status: 'failed', error: 'test' });
  });

  it('two processes answering one confirmation at once: exactly one of them queues it (the database decides)', async () => {
    const other = createDeploymentStore(otherPool);
    const made = await deployments.createRollback({
      env: 'production',
      sha: sha('a'),
      requestKey: `two-processes-${Date.now()}`,
      requestedBy: ADMIN_ID,
      confirmMs: 60_000,
    });
    const results = await Promise.all([
      deployments.answerConfirmation(made.deployment.id, ADMIN_ID, 'confirm'),
      other.answerConfirmation(made.deployment.id, ADMIN_ID, 'confirm'),
    ]);
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'answered')).toHaveLength(1);
    expect((await deployments.get(made.deployment.id))?.status).toBe('queued');
  });
});
