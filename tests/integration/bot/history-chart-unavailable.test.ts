// /history chart where resvg's native binding cannot load (the local base image has no
// librt.so.1): the bot still starts, /history still answers, and the chart is refused with
// what is wrong and what to do.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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

const TOKEN = '5550015:AAHistoryChartMissingLibToken_abcdefg';

// What Node says when the binding's shared library is missing.
vi.mock('@resvg/resvg-js', () => {
  throw new Error('librt.so.1: cannot open shared object file: No such file or directory');
});
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };

describe('/history chart without resvg’s native library', () => {
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

  it('the chart is refused with why and what to do; the list still comes', async () => {
    const ask = async (text: string) => {
      const sent = tg.sendText({ token: TOKEN, chat: { id: admin.id, type: 'private' }, from: admin, text });
      return tg.waitForBotMessage(TOKEN, admin.id, (m) => m.message_id > sent.message_id, {
        timeoutMs: 10_000,
      });
    };
    const refused = await ask('/history chart');
    expect(refused.photo).toBeUndefined();
    expect(refused.text).toBe(
      'The chart cannot be drawn here: librt.so.1: cannot open shared object file: No such file or directory. ' +
        'The image lacks a system library that @resvg/resvg-js needs (see README, /history chart); /history gives the list.',
    );
    expect((await ask('/history')).text).toContain('production');
  });
});
