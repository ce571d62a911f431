// /rollback past an irreversible migration, and /restore, through the Telegram stand-in
// with real Postgres and the real pg_dump/pg_restore.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { type Config, secretsOf } from '../../../src/config/index.js';
import { backupDatabase } from '../../../src/deployer/backup.js';
import { createDeployControl } from '../../../src/deploys/deploy-control.js';
import { createRestoreControl } from '../../../src/deploys/restore-control.js';
import { createLogger } from '../../../src/logger.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore, deployLockName } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createRestoreStore } from '../../../src/store/restores.js';
import { ADMIN_ID, instanceConfig, STRANGER_ID } from '../../helpers/instance-env.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

type StandIn = Awaited<ReturnType<typeof startTelegramStandIn>>;

const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const stranger = { id: STRANGER_ID, first_name: 'Sam', username: 'sam' };
const secondAdmin = { id: 3005, first_name: 'Bo', username: 'bo' };
const PROD = '5550021:AAProdTokenForRestoreTests_abcdefghijk';
const STAGING = '5550022:AAStagingTokenForRestoreTests_abcdefgh';
const sha = (c: string) => c.repeat(40);
const NOTIFY_CHAT = -100_777;

describe('/rollback past an irreversible migration, and /restore, over the Telegram stand-in', () => {
  let tg: StandIn;
  let db: TestDatabase;
  let stagingDb: TestDatabase;
  let pool: Pool;
  let dir: string;
  let config: Config;
  const runtimes: TelegramRuntime[] = [];
  const lines: string[] = [];
  const enqueued: number[] = [];
  let deployments: ReturnType<typeof createDeploymentStore>;
  let locks: ReturnType<typeof createLockStore>;
  let audit: ReturnType<typeof createAuditLog>;

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: PROD, username: 'LughBot', firstName: 'Lugh' });
    tg.registerBot({ token: STAGING, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db = await createTestDatabase('prod_lugh');
    stagingDb = await createTestDatabase('staging_lugh');
    dir = mkdtempSync(path.join(tmpdir(), 'lugh-bot-restore-'));
    config = instanceConfig({
      appEnv: 'production',
      databaseUrl: db.url,
      apiRoot: tg.apiRoot,
      token: PROD,
      extra: { NOTIFY_CHAT_ID: String(NOTIFY_CHAT), ADMIN_IDS: `${ADMIN_ID},${secondAdmin.id}` },
    });
    const logger = createLogger({
      level: 'debug',
      secrets: secretsOf(config),
      destination: { write: (line: string) => lines.push(line) },
    });
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'restore-bot-test');
    audit = createAuditLog(pool, 'production');
    deployments = createDeploymentStore(pool);
    locks = createLockStore(pool);
    const deploys = createDeployControl({
      env: 'production',
      deployments,
      locks,
      audit,
      enqueue: async (id) => {
        enqueued.push(id);
        return `job-${id}`;
      },
      containerLogs: async () => [],
      confirmMs: 60_000,
    });
    const restore = createRestoreControl({
      env: 'production',
      databaseUrl: db.url,
      dir,
      keep: 5,
      deployments,
      locks,
      audit,
      restores: createRestoreStore(pool),
    });
    const { bot } = createBot({
      config,
      logger,
      audit,
      redact: createRedactor(secretsOf(config)),
      deploys,
      restore,
    });
    const prod = startTelegramRuntime(bot, { logger, backoff: { initialMs: 50, maxMs: 200 } });
    runtimes.push(prod);

    // Staging: no backups, so no restore.
    const stagingConfig = instanceConfig({
      appEnv: 'staging',
      databaseUrl: stagingDb.url,
      apiRoot: tg.apiRoot,
      token: STAGING,
    });
    await runMigrations({ databaseUrl: stagingDb.url, logger });
    const stagingPool = createPool(stagingDb.url, 'restore-bot-staging');
    const stagingBot = createBot({
      config: stagingConfig,
      logger,
      audit: createAuditLog(stagingPool, 'staging'),
      redact: createRedactor(secretsOf(stagingConfig)),
    }).bot;
    const staging = startTelegramRuntime(stagingBot, { logger, backoff: { initialMs: 50, maxMs: 200 } });
    runtimes.push(staging);
    await Promise.all(runtimes.map((r) => r.ready));
    afterAllPools.push(stagingPool);
  });
  const afterAllPools: Pool[] = [];

  afterAll(async () => {
    for (const r of runtimes) await r.stop();
    await pool?.end();
    for (const p of afterAllPools) await p.end();
    await tg?.close();
    await db?.drop();
    await stagingDb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function say(token: string, from: typeof admin, text: string, chatId = from.id) {
    const sent = tg.sendText({ token, chat: { id: chatId, type: 'private' }, from, text });
    return tg.waitForBotMessage(token, chatId, (m) => m.message_id > sent.message_id, { timeoutMs: 10_000 });
  }

  const press = (chatId: number, messageId: number, data: string, from = admin) =>
    tg.pressButton({ token: PROD, chatId, messageId, data, from });

  /** The bot message `id` once its text matches. */
  const edited = async (chatId: number, id: number, match: RegExp) => {
    let text = '';
    await expect
      .poll(
        () => {
          const m = tg.transcript(PROD, chatId).find((e) => e.kind === 'bot_message' && e.message_id === id);
          text = m && m.kind === 'bot_message' ? (m.text ?? '') : '';
          return text;
        },
        { timeout: 15_000 },
      )
      .toMatch(match);
    const m = tg.transcript(PROD, chatId).find((e) => e.kind === 'bot_message' && e.message_id === id);
    return m && m.kind === 'bot_message' ? m : undefined;
  };

  const answerOf = (chatId: number, queryId: string) =>
    tg.transcript(PROD, chatId).find((e) => e.kind === 'callback_answer' && e.callback_query_id === queryId);

  const buttonsOf = (
    m: { reply_markup?: { inline_keyboard: Array<Array<{ callback_data?: string }>> } } | undefined,
  ) => (m?.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.callback_data);

  let release: { id: number };
  let migrated: { id: number };
  let backupFile: string;

  it('/rollback past an irreversible migration warns, names it and the backup before it; Cancel deploys nothing; “Roll back anyway” deploys once', async () => {
    release = await deployments.create({ env: 'production', ref: 'main', sha: sha('a'), trigger: 'manual' });
    await deployments.finish(release.id, { status: 'succeeded', sha: sha('a') });
    migrated = await deployments.create({ env: 'production', ref: 'main', sha: sha('b'), trigger: 'manual' });
    const dump = await backupDatabase(
      { databaseUrl: db.url, dir, keep: 5 },
      { env: 'production', sha: sha('b') },
    );
    backupFile = path.basename(dump.file);
    await deployments.stepFinished(migrated.id, 'backup', 'succeeded', `${backupFile} (3 KiB)`);
    await deployments.recordMigrations(migrated.id, [
      { name: '0005_deployments_without_promotion', irreversible: 'drops deployments.promotion_id' },
      { name: '0006_rollback_once' },
    ]);
    await deployments.finish(migrated.id, { status: 'succeeded', sha: sha('b') });

    const picker = await say(PROD, admin, '/rollback production');
    const pick = buttonsOf(picker)[0]!;
    expect(buttonsOf(picker)).toEqual([expect.stringMatching(new RegExp(`^rollback:\\d+:${release.id}$`))]);
    expect(picker.reply_markup?.inline_keyboard[0]?.[0]?.text).toMatch(/^⚠️ aaaaaaa · /);
    expect(picker.text).toContain('⚠️ marks a release older than a migration that cannot be undone');
    const before = enqueued.length;
    const tap = press(admin.id, picker.message_id, pick);
    const warning = await edited(
      admin.id,
      picker.message_id,
      /goes back past (a migration|migrations) that cannot be undone/,
    );
    expect(warning?.text).toContain('0005_deployments_without_promotion');
    expect(warning?.text).toContain(`deploy #${migrated.id}`);
    expect(warning?.text).toContain('drops deployments.promotion_id');
    expect(warning?.text).not.toContain('0006_rollback_once');
    expect(warning?.text).toContain(backupFile);
    expect(warning?.text).toContain('/restore');
    const [yes, no] = buttonsOf(warning);
    expect(buttonsOf(warning)).toEqual([
      expect.stringMatching(/^rollback:yes:\d+$/),
      expect.stringMatching(/^rollback:no:\d+$/),
      expect.stringMatching(
        new RegExp(`^restore:pick:\\d+:${backupFile.replace(/^production-/, '').replace(/\.dump$/, '')}$`),
      ),
    ]);
    expect(warning?.reply_markup?.inline_keyboard[0]?.[0]?.text).toBe('Roll back anyway');
    expect(answerOf(admin.id, tap)).toBeTruthy();
    expect(enqueued.length).toBe(before);

    press(admin.id, picker.message_id, no!);
    await edited(admin.id, picker.message_id, /Rollback cancelled; nothing was deployed/);
    expect(enqueued.length).toBe(before);
    expect(yes).toBeDefined();

    const again = await say(PROD, admin, '/rollback production');
    press(admin.id, again.message_id, buttonsOf(again)[0]!);
    const confirm = await edited(
      admin.id,
      again.message_id,
      /goes back past (a migration|migrations) that cannot be undone/,
    );
    const sure = buttonsOf(confirm)[0]!;
    // A stranger cannot confirm it.
    const refused = press(admin.id, again.message_id, sure, stranger);
    await expect.poll(() => answerOf(admin.id, refused)).toMatchObject({ show_alert: true });
    expect(enqueued.length).toBe(before);
    press(admin.id, again.message_id, sure);
    const done = await edited(
      admin.id,
      again.message_id,
      /goes back past <?c?o?d?e?>?0005_deployments_without_promotion/,
    );
    expect(done?.text).toMatch(/Rolling production back to (<code>)?aaaaaaa/);
    expect(done?.text).toMatch(/deploy #\d+ is queued/);
    expect(enqueued.length).toBe(before + 1);
    const rollbacks = (await deployments.recent('production', 10)).filter(
      (d) => d.trigger === 'rollback' && d.status !== 'cancelled',
    );
    expect(rollbacks.map((d) => d.sha)).toEqual([sha('a')]);
    await deployments.finish(rollbacks[0]!.id, { status: 'failed', error: 'test' });

    // The warning offers the backup before the migration: its button opens /restore's confirmation.
    const third = await say(PROD, admin, '/rollback production');
    press(admin.id, third.message_id, buttonsOf(third)[0]!);
    const offer = await edited(
      admin.id,
      third.message_id,
      /goes back past a migration that cannot be undone/,
    );
    press(admin.id, third.message_id, buttonsOf(offer)[2]!);
    const restoreConfirm = await edited(admin.id, third.message_id, /^Restore production-/);
    expect(restoreConfirm?.text).toContain(backupFile);
    press(admin.id, third.message_id, buttonsOf(restoreConfirm)[1]!);
    await edited(admin.id, third.message_id, /Restore cancelled; the database was not touched/);
    expect(enqueued.length).toBe(before + 1);
  });

  it('/restore is for admins, production only, and tells what to send instead of bad input', async () => {
    const onStaging = await say(STAGING, admin, '/restore');
    expect(onStaging.text).toContain('/restore is production only');
    expect(onStaging.text).toContain('send /restore to the production bot');
    const byStranger = await say(PROD, stranger, '/restore');
    expect(byStranger.text).toContain('⛔ /restore is for lugh admins only');
    const staging = await say(PROD, admin, '/restore staging');
    expect(staging.text).toContain('Staging takes no backup before a deploy, so it has nothing to restore.');
    const odd = await say(PROD, admin, '/restore staging <b>');
    expect(odd.text).toContain('Send /restore alone (or /restore production)');
  });

  it('/restore: pick, confirm, the current state is backed up first, the backup replaces the database, the result is told and audited', async () => {
    // Written after the backup: the restore must take it away.
    await audit.record({ actorId: 9, action: 'after the backup', outcome: 'ok' });
    const picker = await say(PROD, admin, '/restore');
    expect(picker.text).toContain('Restore production’s database from which backup? Newest first.');
    const [pick] = buttonsOf(picker);
    expect(pick).toMatch(
      new RegExp(`^restore:pick:\\d+:${backupFile.replace(/^production-/, '').replace(/\.dump$/, '')}$`),
    );
    const label = picker.reply_markup?.inline_keyboard[0]?.[0]?.text;
    expect(label).toMatch(new RegExp(`^before #${migrated.id} · bbbbbbb · \\d{2}-\\d{2} \\d{2}:\\d{2}$`));

    press(admin.id, picker.message_id, pick!);
    const confirm = await edited(admin.id, picker.message_id, /^Restore production-/);
    expect(confirm?.text).toContain(backupFile);
    expect(confirm?.text).toContain(
      'This replaces the production database; a backup of the current state is taken first.',
    );
    const [go, cancel] = buttonsOf(confirm);
    expect(go).toMatch(/^restore:go:\d+:\d{8}T\d{6}Z-bbbbbbb$/);
    expect(cancel).toMatch(/^restore:no:\d+$/);
    expect(Buffer.byteLength(go!)).toBeLessThanOrEqual(64);

    // The notify chat is a group the bot is in.
    tg.sendText({ token: PROD, chat: { id: NOTIFY_CHAT, type: 'group' }, from: admin, text: 'hello' });
    press(admin.id, picker.message_id, go!);
    const result = await edited(admin.id, picker.message_id, /^✅ Production’s database was restored from/);
    const announced = await tg.waitForBotMessage(
      PROD,
      NOTIFY_CHAT,
      (m) => /restored from/.test(m.text ?? ''),
      {
        timeoutMs: 10_000,
      },
    );
    expect(announced.text).toContain(`${backupFile}`);
    expect(announced.text).toContain('(/restore by @ada)');
    expect(result?.text).toMatch(
      /The state before it is in production-pre-restore-\d{8}T\d{6}Z-[0-9a-f]{7}\.dump/,
    );
    const { rows } = await pool.query(
      `SELECT count(*) AS n FROM audit_log WHERE action = 'after the backup'`,
    );
    expect(Number(rows[0].n)).toBe(0);
    const [entry] = (await audit.recent(10)).filter((a) => a.action === '/restore');
    expect(entry).toMatchObject({ outcome: 'ok', actorId: ADMIN_ID, details: { file: backupFile } });
    expect(await locks.held(deployLockName('production'))).toBeUndefined();

    // The pre-restore backup is offered first now.
    const next = await say(PROD, admin, '/restore');
    expect(next.reply_markup?.inline_keyboard[0]?.[0]?.text).toMatch(/^before restore · /);
    press(admin.id, next.message_id, buttonsOf(next)[0]!);
    const confirmNext = await edited(admin.id, next.message_id, /^Restore production-/);
    press(admin.id, next.message_id, buttonsOf(confirmNext)[1]!);
    await edited(admin.id, next.message_id, /Restore cancelled; the database was not touched/);
  });

  it('/restore’s buttons answer only the admin who asked, and expire: another admin’s pick or Restore is refused, and nothing is restored', async () => {
    const restored = async () =>
      Number(
        (await pool.query(`SELECT count(*) AS n FROM audit_log WHERE action = '/restore' AND outcome = 'ok'`))
          .rows[0].n,
      );
    const before = await restored();
    const picker = await say(PROD, admin, '/restore');
    expect(picker.text).toMatch(/expire/);
    const pick = buttonsOf(picker)[0]!;
    const theirs = press(admin.id, picker.message_id, pick, secondAdmin);
    await expect
      .poll(() => answerOf(admin.id, theirs))
      .toMatchObject({ show_alert: true, text: expect.stringContaining('Only @ada') });

    press(admin.id, picker.message_id, pick);
    const confirm = await edited(admin.id, picker.message_id, /^Restore production-/);
    const [go] = buttonsOf(confirm);
    const theirGo = press(admin.id, picker.message_id, go!, secondAdmin);
    await expect
      .poll(() => answerOf(admin.id, theirGo))
      .toMatchObject({ show_alert: true, text: expect.stringContaining('Only @ada') });
    expect(await restored()).toBe(before);

    // The buttons' time is up (as if they had waited past it): Restore is refused.
    await pool.query(`UPDATE button_offers SET expires_at = now() - interval '1 second'`);
    const late = press(admin.id, picker.message_id, go!);
    await expect
      .poll(() => answerOf(admin.id, late))
      .toMatchObject({ show_alert: true, text: expect.stringContaining('Send /restore again') });
    await edited(admin.id, picker.message_id, /expired; the database was not touched/);
    expect(await restored()).toBe(before);
  });

  it('a stale button says so, and a held lock refuses the restore with who holds it', async () => {
    const picker = await say(PROD, admin, '/restore');
    const pick = buttonsOf(picker).find((d) => !d?.includes('pre-restore'))!;
    rmSync(path.join(dir, backupFile));
    const stale = press(admin.id, picker.message_id, pick);
    await expect
      .poll(() => answerOf(admin.id, stale))
      .toMatchObject({ show_alert: true, text: expect.stringContaining('This backup is no longer there') });

    const fresh = await say(PROD, admin, '/restore');
    press(admin.id, fresh.message_id, buttonsOf(fresh)[0]!);
    const confirm = await edited(admin.id, fresh.message_id, /^Restore production-/);
    await locks.acquire({
      name: deployLockName('production'),
      owner: 'user:77',
      reason: 'maintenance',
      ttlMs: 60_000,
    });
    const sent = press(admin.id, fresh.message_id, buttonsOf(confirm)[0]!);
    const refusal = await tg.waitForBotMessage(PROD, admin.id, (m) => m.message_id > fresh.message_id, {
      timeoutMs: 10_000,
    });
    expect(refusal.text).toContain('production is locked by user:77: “maintenance”');
    expect(refusal.text).toContain('Nothing was restored');
    expect(answerOf(admin.id, sent)).toBeTruthy();
    await locks.release(deployLockName('production'), 'user:77');
    expect(lines.filter((l) => l.includes('update failed'))).toEqual([]);
  });
});
