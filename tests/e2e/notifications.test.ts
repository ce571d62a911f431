// Notifications as `lugh start` wires them: the instance's watch and outbox sender run with
// it, write to NOTIFY_CHAT_ID, stop with it, and a restarted instance on the same database
// announces nothing twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Instance, startInstance } from '../../src/app/instance.js';
import { createConfig } from '../../src/config/index.js';
import { freePort } from '../../src/sandbox/free-port.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { createLockStore } from '../../src/store/locks.js';
import { createPool, type Pool } from '../../src/store/pool.js';
import { createPromotionStore } from '../../src/store/promotions.js';
import { ADMIN_ID, instanceEnv } from '../helpers/instance-env.js';
import { silentLogger } from '../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

const TOKEN = '7008001:AANotifyE2EStagingToken_abcdefghijkl';
const GROUP = -1008001;
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };

describe('notifications in a running instance', () => {
  let tg: TelegramStandIn;
  let db: TestDatabase;
  let pool: Pool;
  const running: Instance[] = [];
  const sub = `n${Date.now().toString(36).slice(-6)}`;

  const start = async () => {
    const config = createConfig(
      instanceEnv({
        appEnv: 'staging',
        databaseUrl: db.url,
        apiRoot: tg.apiRoot,
        token: TOKEN,
        port: await freePort(),
        redisSub: sub,
        extra: { NOTIFY_CHAT_ID: String(GROUP), NOTIFY_HEALTH_INTERVAL_SECONDS: '1', LOG_LEVEL: 'warn' },
      }),
    );
    expect(config.notify.chatId).toBe(GROUP);
    const instance = await startInstance(config, silentLogger);
    running.push(instance);
    await instance.telegram.ready;
    return instance;
  };
  const groupTexts = () =>
    tg.transcript(TOKEN, GROUP).flatMap((e) => (e.kind === 'bot_message' && e.text ? [e.text] : []));

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    // The bot can write to the group once someone has written there.
    tg.sendText({ token: TOKEN, chat: { id: GROUP, type: 'group', title: 'ops' }, from: admin, text: 'hi' });
    db = await createTestDatabase('staging_lugh');
  });
  afterAll(async () => {
    for (const instance of running) await instance.stop().catch(() => {});
    await pool?.end();
    await tg?.close();
    await db?.drop();
  });

  it('an expired lock and a failed promotion reach NOTIFY_CHAT_ID once, before and after a restart', async () => {
    const first = await start();
    pool = createPool(db.url, 'notifications-e2e');
    await createLockStore(pool).acquire({
      name: 'deploy:staging',
      owner: 'Ada (1001)',
      reason: 'migrating the database',
      ttlMs: 300,
    });
    const promotions = createPromotionStore(pool, 'staging');
    const p = await promotions.start({
      requestedBy: ADMIN_ID,
      chatId: ADMIN_ID,
      baseRef: 'main',
      headRef: 'develop',
    });
    await promotions.transition(p.id, ['pending'], { status: 'failed', reason: 'CI failed' });

    await tg.waitForBotMessage(TOKEN, GROUP, (m) => /lock held by Ada/.test(m.text ?? ''), {
      timeoutMs: 10_000,
    });
    await tg.waitForBotMessage(
      TOKEN,
      GROUP,
      (m) => /promotion #\d+ .* failed: CI failed/.test(m.text ?? ''),
      {
        timeoutMs: 10_000,
      },
    );
    await first.stop();

    await start();
    // A lock that runs out after the restart. Once its notice is in the chat, the restarted
    // watch has looked at the old events again in that round (promotions first, then locks
    // by expiry), and the sender, which sends rows in the order they were queued, would
    // have sent any second notice of them before this one.
    await createLockStore(pool).acquire({
      name: 'maintenance:staging',
      owner: 'Bob (1002)',
      reason: 'after the restart',
      ttlMs: 60_000,
    });
    await pool.query(
      `UPDATE locks SET acquired_at = now() - interval '1 minute', expires_at = now()
       WHERE name = 'maintenance:staging'`,
    );
    await tg.waitForBotMessage(TOKEN, GROUP, (m) => /lock held by Bob/.test(m.text ?? ''), {
      timeoutMs: 10_000,
    });
    const texts = groupTexts();
    expect(texts.filter((t) => t.includes('lock held by Ada'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes(`promotion #${p.id} `))).toHaveLength(1);
    expect(texts.every((t) => t.startsWith('🧪 STAGING · '))).toBe(true);
    for (const t of texts) expect(t).not.toContain(TOKEN.split(':')[1]);
  }, 60_000);
});
