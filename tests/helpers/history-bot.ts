// A production bot with four finished deploys over the last 45 days (one failed), on the
// Telegram stand-in and a real Postgres: what the /history chart tests ask.
import { createBot } from '../../src/bot/create-bot.js';
import { startTelegramRuntime } from '../../src/bot/telegram-runtime.js';
import { secretsOf } from '../../src/config/index.js';
import { createDeployControl } from '../../src/deploys/deploy-control.js';
import { createRedactor } from '../../src/redact.js';
import { startTelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { createAuditLog } from '../../src/store/audit-log.js';
import { createDeploymentStore } from '../../src/store/deployments.js';
import { createLockStore } from '../../src/store/locks.js';
import { runMigrations } from '../../src/store/migrate.js';
import { createPool } from '../../src/store/pool.js';
import { ADMIN_ID, instanceConfig } from './instance-env.js';
import { silentLogger } from './logger.js';
import { createTestDatabase } from './services.js';

export const historyAdmin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };

export async function startHistoryBot(token: string, options: { seed?: boolean } = {}) {
  const tg = await startTelegramStandIn();
  tg.registerBot({ token, username: 'LughBot', firstName: 'Lugh' });
  const db = await createTestDatabase('prod_lugh');
  const config = instanceConfig({ appEnv: 'production', databaseUrl: db.url, apiRoot: tg.apiRoot, token });
  await runMigrations({ databaseUrl: db.url, logger: silentLogger });
  const pool = createPool(db.url, 'history-chart-test');
  const audit = createAuditLog(pool, 'production');
  const deployments = createDeploymentStore(pool);
  // Three finished deploys over the month (one failed), one older than 30 days.
  const seeded = [
    [2, 3, 'succeeded'],
    [9, 5, 'failed'],
    [20, 2, 'succeeded'],
    [45, 4, 'succeeded'],
  ] as const;
  for (const [daysAgo, minutes, status] of options.seed === false ? [] : seeded) {
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
  const runtime = startTelegramRuntime(bot, { logger: silentLogger, backoff: { initialMs: 50, maxMs: 200 } });
  await runtime.ready;
  return {
    tg,
    /** Sends `text` as the admin (or `from`) and waits for the bot's next message in that chat. */
    async ask(text: string, from: { id: number; first_name: string } = historyAdmin) {
      const sent = tg.sendText({
        token,
        chat: { id: from.id, type: 'private' },
        from,
        text,
      });
      return tg.waitForBotMessage(token, from.id, (m) => m.message_id > sent.message_id, {
        timeoutMs: 10_000,
      });
    },
    async close() {
      await runtime.stop();
      await pool.end();
      await tg.close();
      await db.drop();
    },
  };
}
