// /history chart: the last 30 days of deploys as a PNG drawn in the process (resvg), sent
// with sendPhoto to the Telegram stand-in, which reads the image as the Bot API does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { secretsOf } from '../../../src/config/index.js';
import { createDeployControl } from '../../../src/deploys/deploy-control.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { ADMIN_ID, instanceConfig } from '../../helpers/instance-env.js';
import { silentLogger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const TOKEN = '5550014:AAHistoryChartTestsToken_abcdefghijk';
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };

describe('/history chart', () => {
  let tg: TelegramStandIn;
  let db: TestDatabase;
  let pool: Pool;
  let runtime: TelegramRuntime;

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughBot', firstName: 'Lugh' });
    db = await createTestDatabase('prod_lugh');
    const config = instanceConfig({
      appEnv: 'production',
      databaseUrl: db.url,
      apiRoot: tg.apiRoot,
      token: TOKEN,
    });
    await runMigrations({ databaseUrl: db.url, logger: silentLogger });
    pool = createPool(db.url, 'history-chart-test');
    const audit = createAuditLog(pool, 'production');
    const deployments = createDeploymentStore(pool);
    // Three finished deploys over the month (one failed), one older than 30 days.
    for (const [daysAgo, minutes, status] of [
      [2, 3, 'succeeded'],
      [9, 5, 'failed'],
      [20, 2, 'succeeded'],
      [45, 4, 'succeeded'],
    ] as const) {
      const d = await deployments.create({ env: 'production', ref: 'main', trigger: 'manual' });
      await deployments.finish(d.id, { status, sha: 'a'.repeat(40), message: status } as never);
      await pool.query(
        `UPDATE deployments SET created_at = now() - ($2 || ' days')::interval - ($3 || ' minutes')::interval,
           started_at = now() - ($2 || ' days')::interval - ($3 || ' minutes')::interval,
           finished_at = now() - ($2 || ' days')::interval WHERE id = $1`,
        [d.id, daysAgo, minutes],
      );
    }
    const { bot } = createBot({
      config,
      logger: silentLogger,
      audit,
      redact: createRedactor(secretsOf(config)),
      deploys: createDeployControl({
        env: 'production',
        deployments,
        locks: createLockStore(pool),
        audit,
        enqueue: async () => {},
        containerLogs: async () => [],
        confirmMs: 60_000,
      } as never),
    });
    runtime = startTelegramRuntime(bot, { logger: silentLogger, backoff: { initialMs: 50, maxMs: 200 } });
    await runtime.ready;
  });

  afterAll(async () => {
    await runtime?.stop();
    await pool?.end();
    await tg?.close();
    await db?.drop();
  });

  it('answers with a PNG of the last 30 days and a caption that says it in words', async () => {
    const sent = tg.sendText({
      token: TOKEN,
      chat: { id: admin.id, type: 'private' },
      from: admin,
      text: '/history chart',
    });
    const reply = await tg.waitForBotMessage(TOKEN, admin.id, (m) => m.message_id > sent.message_id, {
      timeoutMs: 10_000,
    });
    expect(reply.photo).toMatchObject([{ width: 960, height: 560 }]);
    expect(reply.caption).toBe(
      '📈 production: 3 deploys in 30 days, 1 not succeeded; the longest took 5 min (a bar’s height is how long it took).',
    );
    const entry = tg.transcript(TOKEN, admin.id).find((e) => e.kind === 'bot_message' && e.photo);
    const png = entry?.kind === 'bot_message' ? entry.photo?.content : undefined;
    expect(png?.subarray(1, 4).toString()).toBe('PNG');
  });

  it('/history answers in text with a Chart button; the button is answered at once, then the chart comes', async () => {
    const sent = tg.sendText({
      token: TOKEN,
      chat: { id: admin.id, type: 'private' },
      from: admin,
      text: '/history',
    });
    const reply = await tg.waitForBotMessage(TOKEN, admin.id, (m) => m.message_id > sent.message_id, {
      timeoutMs: 10_000,
    });
    expect(reply.photo).toBeUndefined();
    expect(reply.text).toContain('production');
    const button = reply.reply_markup?.inline_keyboard[0]?.[0];
    expect(button?.text).toBe('Chart, 30 days');
    tg.pressButton({
      token: TOKEN,
      chatId: admin.id,
      messageId: reply.message_id,
      data: button!.callback_data!,
      from: admin,
    });
    const chart = await tg.waitForBotMessage(TOKEN, admin.id, (m) => m.message_id > reply.message_id, {
      timeoutMs: 10_000,
    });
    expect(chart.photo).toMatchObject([{ width: 960, height: 560 }]);
    const transcript = tg.transcript(TOKEN, admin.id);
    const answered = transcript.findIndex((e) => e.kind === 'callback_answer');
    const photo = transcript.findIndex((e) => e.kind === 'bot_message' && e.message_id === chart.message_id);
    expect(answered).toBeGreaterThanOrEqual(0);
    expect(answered).toBeLessThan(photo);
  });
});
