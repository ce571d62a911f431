// What gets queued for the notify chat, on real Postgres and Redis, sent through the
// Telegram stand-in: debounced health episodes that survive a restart, the other
// environment going silent, failed and abandoned promotions, locks that ran out, and deploy
// results (not doubled in the chat that already hears them).
import { randomUUID } from 'node:crypto';
import { Api } from 'grammy';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployNotifier } from '../../../src/bot/deploys/deploy-notifier.js';
import { createNotificationTexts } from '../../../src/bot/notifications/render.js';
import { createNotificationChat } from '../../../src/bot/notifications/telegram-notification-chat.js';
import { secretsOf } from '../../../src/config/index.js';
import type { Logger } from '../../../src/logger.js';
import { withDeployNotices } from '../../../src/notifications/deploy-notices.js';
import {
  createNotifications,
  type PeerView,
  peerThroughRedis,
  telegramState,
} from '../../../src/notifications/notifications.js';
import { createRedactor } from '../../../src/redact.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { publishStatus, registerInstance } from '../../../src/store/instance-registry.js';
import { createLockStore, deploymentOwner } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createNotificationOutbox } from '../../../src/store/notifications.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createPromotionStore } from '../../../src/store/promotions.js';
import { closeRedis, createRedis, keyspace, type Redis } from '../../../src/store/redis.js';
import { ADMIN_ID } from '../../helpers/instance-env.js';
import { createNotificationWorld, type NotificationWorld, quiet } from '../../helpers/notification-world.js';
import { createTestDatabase, redisUrl, withAdmin } from '../../helpers/services.js';

const TOKEN = '7007002:AAWatchTestsStagingToken_abcdefghijk';
const GROUP = -1007001;

type Sample = { db: string; redis: string };
const OK: Sample = { db: 'ok', redis: 'ok' };
const REDIS_DOWN: Sample = { db: 'ok', redis: `down: connect ECONNREFUSED (token ${TOKEN})` };

describe('notification sources', () => {
  let world: NotificationWorld;
  let redis: Redis;
  beforeAll(async () => {
    world = await createNotificationWorld({ token: TOKEN });
    world.start(ADMIN_ID);
    redis = createRedis(redisUrl(), { connectionName: 'notifications-test' });
  });
  afterAll(async () => {
    if (redis) await closeRedis(redis);
    await world?.close();
  });

  const redact = () => createRedactor(secretsOf(world.config));
  /** One process's notifications: a new pool on the same database, as after a restart. */
  const instance = (
    readiness: () => Promise<Sample>,
    extra: { pool?: Pool; peer?: () => Promise<PeerView>; chatId?: number; logger?: Logger } = {},
  ) => {
    const pool = extra.pool ?? world.pool();
    const { notify } = world.config;
    const notifications = createNotifications({
      config: { appEnv: world.config.appEnv, notify: { ...notify, chatId: extra.chatId ?? notify.chatId } },
      logger: extra.logger ?? quiet,
      pool,
      chat: createNotificationChat(world.config, createRedactor(secretsOf(world.config))),
      texts: createNotificationTexts(redact()),
      redact: redact(),
      locks: createLockStore(pool),
      deployments: createDeploymentStore(pool),
      promotions: createPromotionStore(pool, 'staging'),
      readiness,
      peer: extra.peer,
    });
    return { notifications, pool };
  };
  /** Runs one watch round per sample, then sends what it queued. */
  const feed = async (
    n: ReturnType<typeof createNotifications>,
    samples: Sample[],
    current: { s: Sample },
  ) => {
    for (const s of samples) {
      current.s = s;
      await n.check();
    }
    await n.sender.sendDue();
  };
  const adminTexts = (match: RegExp) => world.botTexts(ADMIN_ID).filter((t) => match.test(t));

  it('health is debounced: one bad sample says nothing, three in a row say "degraded" once, two good ones "recovered" once; no token in either', async () => {
    const current = { s: OK };
    const { notifications } = instance(async () => current.s);
    const degraded = /staging is degraded/;
    const recovered = /staging has recovered/;

    await feed(notifications, [REDIS_DOWN, OK, REDIS_DOWN, REDIS_DOWN, OK], current);
    expect(adminTexts(degraded)).toEqual([]);
    await feed(notifications, [REDIS_DOWN, REDIS_DOWN], current);
    expect(adminTexts(degraded)).toEqual([]);
    await feed(notifications, [REDIS_DOWN], current);
    expect(adminTexts(degraded)).toEqual([
      '🧪 STAGING · 🔴 staging is degraded: Redis down: connect ECONNREFUSED (token [redacted])',
    ]);
    await feed(notifications, [REDIS_DOWN, REDIS_DOWN, OK, REDIS_DOWN, OK], current);
    expect(adminTexts(degraded)).toHaveLength(1);
    expect(adminTexts(recovered)).toEqual([]);
    await feed(notifications, [OK], current);
    expect(adminTexts(recovered)).toHaveLength(1);
    expect(adminTexts(recovered)[0]).toMatch(
      /^🧪 STAGING · 🟢 staging has recovered \(degraded for \d+ s\)\.$/,
    );
    await feed(notifications, [OK, OK, OK], current);
    expect(adminTexts(/staging (is degraded|has recovered)/)).toHaveLength(2);
    for (const text of world.botTexts(ADMIN_ID)) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(TOKEN.split(':')[1]);
    }
  });

  it('a degraded episode that began before a restart is not announced again, and gets exactly one recovery after it', async () => {
    const before = adminTexts(/staging (is degraded|has recovered)/).length;
    const current = { s: OK };
    const first = instance(async () => current.s);
    await feed(first.notifications, [REDIS_DOWN, REDIS_DOWN, REDIS_DOWN, REDIS_DOWN], current);
    await first.pool.end();

    const second = instance(async () => current.s);
    await feed(second.notifications, [REDIS_DOWN, REDIS_DOWN, REDIS_DOWN, REDIS_DOWN, OK], current);
    await second.pool.end();

    const third = instance(async () => current.s);
    await feed(third.notifications, [OK, OK, OK], current);
    const texts = adminTexts(/staging (is degraded|has recovered)/).slice(before);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toContain('🔴 staging is degraded');
    expect(texts[1]).toContain('🟢 staging has recovered');
  });

  it('the other environment: nothing while it never started; "silent" once its status is gone; "recovered" when it publishes again', async () => {
    const otherPrefix = `prod:${randomUUID().slice(0, 8)}`;
    const peer = peerThroughRedis(redis, otherPrefix);
    const current = { s: OK };
    const { notifications } = instance(async () => current.s, { peer });
    const production = /production (is degraded|has recovered)/;
    const status = (telegram: string) => ({ env: 'production', health: { db: 'ok', redis: 'ok', telegram } });

    await feed(notifications, [OK, OK, OK, OK], current);
    expect(adminTexts(production)).toEqual([]);

    await registerInstance(redis, otherPrefix, 'staging:none', {
      env: 'production',
      botId: 7007099,
      botUsername: 'LughBot',
      startedAt: new Date().toISOString(),
    });
    await publishStatus(redis, otherPrefix, status('ok'));
    await feed(notifications, [OK], current);
    // Its status runs out (as after a minute without publishing).
    await redis.del(keyspace(otherPrefix).key('public', 'status'));
    await feed(notifications, [OK, OK], current);
    expect(adminTexts(production)).toEqual([]);
    await feed(notifications, [OK], current);
    expect(adminTexts(production)).toEqual([
      '🧪 STAGING · 🔴 production is degraded: silent: it has published no status for over a minute (seen from the staging bot)',
    ]);

    // Back, but its bot cannot reach Telegram: still the same episode, nothing new.
    await publishStatus(redis, otherPrefix, status('down: rejected: 401 Unauthorized'));
    await feed(notifications, [OK, OK, OK], current);
    expect(adminTexts(production)).toHaveLength(1);
    await publishStatus(redis, otherPrefix, status('ok'));
    await feed(notifications, [OK], current);
    expect(adminTexts(production)).toHaveLength(1);
    await feed(notifications, [OK], current);
    expect(adminTexts(production)).toHaveLength(2);
    expect(adminTexts(production)[1]).toMatch(/🟢 production has recovered/);
  });

  it('a failed or abandoned promotion is announced once, across a restart; one that told the notify chat itself, or a "No", is not', async () => {
    const pool = world.pool();
    const promotions = createPromotionStore(pool, 'staging');
    const end = async (
      chatId: number,
      status: 'failed' | 'expired' | 'cancelled' | 'declined',
      reason: string,
    ) => {
      const p = await promotions.start({
        requestedBy: ADMIN_ID,
        chatId,
        baseRef: 'main',
        headRef: 'develop',
      });
      await promotions.update(p.id, { prNumber: 12, prUrl: 'https://github.com/acme/lugh/pull/12' });
      await promotions.transition(p.id, ['pending'], { status, reason });
      return p.id;
    };
    const failed = await end(GROUP, 'failed', 'CI failed');
    const expired = await end(GROUP, 'expired', 'approval expired');
    await end(ADMIN_ID, 'cancelled', 'pull request closed');
    await end(GROUP, 'declined', 'declined by Ada');

    const current = { s: OK };
    const first = instance(async () => current.s, { pool });
    await feed(first.notifications, [OK, OK], current);
    const second = instance(async () => current.s);
    await feed(second.notifications, [OK, OK], current);
    expect(adminTexts(/promotion #/)).toEqual([
      `🧪 STAGING · ❌ staging: promotion #${failed} of develop → main (#12) failed: CI failed. Nothing was merged.`,
      `🧪 STAGING · ⌛ staging: promotion #${expired} of develop → main (#12) expired: approval expired. Nothing was merged.`,
    ]);
  });

  it('a lock that ran out unreleased is announced once: a person’s, and a running deploy’s as possibly stuck', async () => {
    const pool = world.pool();
    const locks = createLockStore(pool);
    const deployments = createDeploymentStore(pool);
    const current = { s: OK };
    const { notifications } = instance(async () => current.s, { pool });

    /** The lock runs out now: its holder stopped renewing it. */
    const runOut = (owner: string) =>
      pool.query(
        `UPDATE locks SET acquired_at = now() - interval '1 minute', expires_at = now()
         WHERE name = 'deploy:staging' AND owner = $1`,
        [owner],
      );

    await locks.acquire({
      name: 'deploy:staging',
      owner: 'Ada (1001)',
      reason: 'db maintenance',
      ttlMs: 60_000,
    });
    await feed(notifications, [OK], current);
    expect(adminTexts(/lock held by/)).toEqual([]);
    await runOut('Ada (1001)');
    await feed(notifications, [OK, OK], current);
    const [personal] = adminTexts(/lock held by/);
    expect(personal).toMatch(
      /^🧪 STAGING · ⏰ staging: the lock held by Ada \(1001\) \(“db maintenance”\) expired at \d{4}-\d\d-\d\d \d\d:\d\d UTC without being released\. staging is unlocked now: deploys are allowed again\.$/,
    );

    const d = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      requestedBy: ADMIN_ID,
    });
    await deployments.stepStarted(d.id, 'build');
    const taken = await locks.acquire({
      name: 'deploy:staging',
      owner: deploymentOwner(d.id),
      reason: `deploy #${d.id} of develop`,
      ttlMs: 60_000,
    });
    expect(taken.acquired).toBe(true);
    await runOut(deploymentOwner(d.id));
    await feed(notifications, [OK, OK], current);
    const restarted = instance(async () => current.s);
    await feed(restarted.notifications, [OK], current);
    const all = adminTexts(/lock held by/);
    expect(all).toHaveLength(2);
    expect(all[1]).toContain(
      `Deploy #${d.id} is still running at build and stopped renewing it: it may be stuck. staging is unlocked now.`,
    );
  });

  it('a deploy result goes to the notify chat once, and not when the notify chat already hears the deploy', async () => {
    const pool = world.pool();
    const deployments = createDeploymentStore(pool);
    const outbox = createNotificationOutbox(pool);
    world.tg.sendText({
      token: TOKEN,
      chat: { id: GROUP, type: 'group', title: 'ops' },
      from: { id: ADMIN_ID, first_name: 'Ada' },
      text: 'hello',
    });
    const notifier = () =>
      withDeployNotices(
        createDeployNotifier({
          api: () => new Api(TOKEN, { apiRoot: world.tg.apiRoot }),
          deployments,
          logger: quiet,
          redact: redact(),
          fallbackChatId: ADMIN_ID,
          minEditIntervalMs: 0,
        }),
        {
          outbox,
          deployments,
          notifyChatId: ADMIN_ID,
          fallbackChatId: ADMIN_ID,
          texts: createNotificationTexts(redact()),
          logger: quiet,
        },
      );
    const sha = 'c'.repeat(40);
    const inGroup = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      chatId: GROUP,
    });
    await deployments.finish(inGroup.id, { status: 'succeeded', sha });
    const failed = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      chatId: GROUP,
    });
    await deployments.finish(failed.id, { status: 'failed', error: 'boom' });
    const pushed = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'push' });
    const asked = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      chatId: ADMIN_ID,
    });

    const first = notifier();
    await first.finished(inGroup.id, 'staging', { status: 'succeeded', sha, message: `staging runs ${sha}` });
    await first.finished(failed.id, 'staging', {
      status: 'failed',
      step: 'build',
      message: `docker said: bad credentials ${TOKEN}`,
    });
    await first.finished(pushed.id, 'staging', { status: 'succeeded', sha, message: 'ok' });
    await first.finished(asked.id, 'staging', { status: 'succeeded', sha, message: 'ok' });
    await first.flush();
    // The runner reports a finished deployment again after a restart: still one notice.
    const again = notifier();
    await again.finished(inGroup.id, 'staging', { status: 'succeeded', sha, message: `staging runs ${sha}` });
    await again.flush();

    const { notifications } = instance(async () => OK, { pool });
    await notifications.sender.sendDue();
    expect(adminTexts(new RegExp(`deploy #(${inGroup.id}|${failed.id}|${pushed.id}|${asked.id}) `))).toEqual([
      `🧪 STAGING · ✅ staging: deploy #${inGroup.id} of develop done, it runs ccccccc.`,
      `🧪 STAGING · ❌ staging: deploy #${failed.id} of develop failed at build: docker said: bad credentials [redacted]`,
    ]);
    // The group that asked heard its deploys' own final messages; the admin heard the push
    // and the private one once each, from the deploy itself.
    expect(
      world.botTexts(GROUP).filter((t) => /^Deploy #\d+ (done|failed)/.test(t.replace(/^\S+ /, ''))),
    ).toHaveLength(2);
    expect(
      world.botTexts(ADMIN_ID).filter((t) => new RegExp(`Deploy #(${pushed.id}|${asked.id}) done`).test(t)),
    ).toHaveLength(2);
    expect((await outbox.all()).filter((r) => r.dedupKey.startsWith('deploy:'))).toHaveLength(2);
  });

  it('the other bot losing Telegram is named by its state only: a token in its published detail reaches neither the chat, the episode nor the log', async () => {
    const CHAT = 3201;
    world.start(CHAT);
    const otherPrefix = `prod:${randomUUID().slice(0, 8)}`;
    const lines: string[] = [];
    // A logger without this instance's redactor: what is not written cannot leak, whatever the redactor knows.
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const current = { s: OK };
    const { notifications, pool } = instance(async () => current.s, {
      peer: peerThroughRedis(redis, otherPrefix),
      chatId: CHAT,
      logger,
    });
    await registerInstance(redis, otherPrefix, 'staging:none', {
      env: 'production',
      botId: 7007098,
      botUsername: 'LughBot',
      startedAt: new Date().toISOString(),
    });
    const leaky =
      'network error: request to http://127.0.0.1:9/bot123456:AAsecretsecretsecretsecretsecret12/getMe failed';
    await publishStatus(redis, otherPrefix, {
      env: 'production',
      health: { db: 'ok', redis: 'ok', telegram: leaky },
    });
    await feed(notifications, [OK, OK, OK], current);

    const notice =
      '🧪 STAGING · 🔴 production is degraded: its bot cannot reach Telegram (network error) (seen from the staging bot)';
    expect(world.botTexts(CHAT).filter((t) => t.includes('is degraded'))).toEqual([notice]);
    const { rows } = await pool.query(
      `SELECT reason FROM health_episodes WHERE env = 'production' AND subject = 'peer' AND ended_at IS NULL`,
    );
    expect(rows).toEqual([
      { reason: 'its bot cannot reach Telegram (network error) (seen from the staging bot)' },
    ]);
    const queued = (await createNotificationOutbox(pool).all()).filter((r) => r.chatId === CHAT);
    expect(lines.some((l) => l.includes('"msg":"degraded"'))).toBe(true);
    for (const text of [...world.botTexts(CHAT), rows[0].reason, ...queued.map((r) => r.text), ...lines]) {
      expect(text).not.toContain('AAsecret');
      expect(text).not.toContain('127.0.0.1:9');
    }

    // Only a plain state word is ever repeated.
    expect(telegramState('down: unreachable: network error: request to http://x/bot1:AAx/getMe')).toBe(
      'unreachable',
    );
    expect(telegramState('down: rejected: 401 Unauthorized')).toBe('rejected');
    expect(telegramState(leaky)).toBe('network error');
    expect(telegramState('bot123456:AAsecret failed')).toBeUndefined();
    expect(telegramState('Error 500 (x)')).toBeUndefined();
  });

  it('its own Postgres down: "degraded" is sent directly once (nothing can be recorded); once Postgres is back the episode is recorded as sent and one "recovered" follows', async () => {
    const OPS = 3301;
    world.start(OPS);
    const db = await createTestDatabase('staging_lugh');
    const quoted = `"${db.name}"`;
    await runMigrations({ databaseUrl: db.url, logger: quiet });
    const pool = createPool(db.url, 'notifications-outage-test');
    try {
      // Readiness as /healthz words it, without its deadline (no clock in this test).
      const readiness = async (): Promise<Sample> => {
        try {
          await pool.query('SELECT 1');
          return OK;
        } catch (error) {
          return { db: `down: ${(error as Error).message}`, redis: 'ok' };
        }
      };
      const { notifications } = instance(readiness, { pool, chatId: OPS });
      const degraded = () => world.botTexts(OPS).filter((t) => t.includes('staging is degraded'));
      const recovered = () => world.botTexts(OPS).filter((t) => t.includes('staging has recovered'));

      await notifications.check();
      await notifications.check();
      expect(world.botTexts(OPS)).toEqual([]);

      await withAdmin(async (admin) => {
        await admin.query(`ALTER DATABASE ${quoted} ALLOW_CONNECTIONS false`);
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [db.name],
        );
      });
      await notifications.check();
      await notifications.check();
      expect(degraded()).toEqual([]);
      for (let i = 0; i < 4; i++) await notifications.check();
      expect(degraded()).toHaveLength(1);
      expect(degraded()[0]).toMatch(/^🧪 STAGING · 🔴 staging is degraded: Postgres down: /);
      const direct = world.tg.transcript(TOKEN, OPS).findLast((e) => e.kind === 'bot_message');

      await withAdmin((admin) => admin.query(`ALTER DATABASE ${quoted} ALLOW_CONNECTIONS true`));
      for (let i = 0; i < 4; i++) {
        await notifications.check();
        await notifications.sender.sendDue();
      }
      expect(recovered()).toHaveLength(1);
      expect(recovered()[0]).toMatch(/^🧪 STAGING · 🟢 staging has recovered \(degraded for \d+ s\)\.$/);
      expect(degraded()).toHaveLength(1);

      // The outage is on record: its episode, begun before the direct notice and ended,
      // and its "down" key sent once, as that very message.
      const { rows: episodes } = await pool.query('SELECT * FROM health_episodes');
      expect(episodes).toHaveLength(1);
      expect(episodes[0]).toMatchObject({ env: 'staging', subject: 'readiness' });
      expect(episodes[0].reason).toMatch(/^Postgres down: /);
      expect(episodes[0].ended_at).not.toBeNull();
      const outbox = createNotificationOutbox(pool);
      const down = await outbox.get(`health:staging:readiness:down:${episodes[0].id}`);
      expect(down).toMatchObject({ chatId: OPS, gaveUpAt: null });
      expect(down!.sentAt).not.toBeNull();
      expect(direct?.kind === 'bot_message' && direct.message_id).toBe(down!.messageId);
      expect(episodes[0].started_at.getTime()).toBeLessThanOrEqual(down!.sentAt!.getTime());
      expect((await outbox.get(`health:staging:readiness:up:${episodes[0].id}`))!.sentAt).not.toBeNull();
    } finally {
      await pool.end();
      await withAdmin((admin) => admin.query(`ALTER DATABASE ${quoted} ALLOW_CONNECTIONS true`));
      await db.drop();
    }
  });

  it('never looks back before the outbox existed: a lock that ran out or a promotion that failed before the upgrade is not announced', async () => {
    const CHAT = 3401;
    world.start(CHAT);
    const pool = world.pool();
    // Migration 0004 ran an hour ago.
    await pool.query(
      `UPDATE pgmigrations SET run_on = now() - interval '1 hour' WHERE name = '0004_notifications'`,
    );
    expect((await pool.query(`SELECT 1 FROM pgmigrations WHERE name = '0004_notifications'`)).rowCount).toBe(
      1,
    );
    await pool.query(
      `INSERT INTO locks (name, owner, reason, acquired_at, expires_at) VALUES
         ('deploy:upgrade-before', 'Old (3402)', 'before the upgrade', now() - interval '3 hours', now() - interval '2 hours'),
         ('deploy:upgrade-after', 'New (3403)', 'after the upgrade', now() - interval '50 minutes', now() - interval '30 minutes')`,
    );
    const promotions = createPromotionStore(pool, 'staging');
    const fail = async (reason: string) => {
      const p = await promotions.start({
        requestedBy: ADMIN_ID,
        chatId: GROUP,
        baseRef: 'main',
        headRef: 'develop',
      });
      await promotions.transition(p.id, ['pending'], { status: 'failed', reason });
      return p.id;
    };
    const before = await fail('failed before the upgrade');
    await pool.query(`UPDATE promotions SET finished_at = now() - interval '2 hours' WHERE id = $1`, [
      before,
    ]);
    const after = await fail('failed after the upgrade');

    const current = { s: OK };
    const { notifications } = instance(async () => current.s, { pool, chatId: CHAT });
    await feed(notifications, [OK, OK], current);
    const texts = world.botTexts(CHAT);
    expect(texts.filter((t) => t.includes('lock held by'))).toEqual([
      expect.stringContaining('the lock held by New (3403)'),
    ]);
    expect(texts.filter((t) => /promotion #\d+ /.test(t))).toEqual([
      expect.stringContaining(`promotion #${after} `),
    ]);
    expect(texts.join('\n')).not.toContain(`promotion #${before} `);
  });
});
