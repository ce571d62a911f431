// Issue 14, points 5 and 6: what the bot says is assembled from the real settings and
// records, over the Telegram stand-in with a real Postgres (no Docker: nothing is deployed,
// the queue is a recorder).

import path from 'node:path';
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import { createDeployNotifier } from '../../../src/bot/deploys/deploy-notifier.js';
import { startTelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import type { AppEnv } from '../../../src/config/environments.js';
import { secretsOf } from '../../../src/config/index.js';
import { createDeployControl } from '../../../src/deploys/deploy-control.js';
import { createRestoreControl } from '../../../src/deploys/restore-control.js';
import type { Forge } from '../../../src/forge/forge.js';
import { createLogger } from '../../../src/logger.js';
import { createChatMigrations } from '../../../src/notifications/chat-migrations.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createRunningVersion, createVersionLookup } from '../../../src/status/version-lookup.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { createChatMigrationStore } from '../../../src/store/chat-migrations.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore, deployLockName, deploymentOwner } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createRestoreStore } from '../../../src/store/restores.js';
import { ADMIN_ID, instanceConfig } from '../../helpers/instance-env.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

type StandIn = Awaited<ReturnType<typeof startTelegramStandIn>>;

const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };

/** A production bot with DEPLOY_BACKUP and the verify window as given, polling the stand-in. */
async function startProduction(
  tg: StandIn,
  db: TestDatabase,
  token: string,
  extra: Record<string, string>,
  forge?: Forge,
) {
  const config = instanceConfig({
    appEnv: 'production',
    databaseUrl: db.url,
    apiRoot: tg.apiRoot,
    token,
    extra,
  });
  const logger = createLogger({
    level: 'warn',
    secrets: secretsOf(config),
    destination: { write: () => {} },
  });
  await runMigrations({ databaseUrl: config.databaseUrl, logger });
  const pool: Pool = createPool(config.databaseUrl, 'true-words-test');
  const audit = createAuditLog(pool, config.appEnv);
  const deployments = createDeploymentStore(pool);
  const locks = createLockStore(pool);
  const queued: number[] = [];
  const deploys = createDeployControl({
    env: config.appEnv as AppEnv,
    deployments,
    locks,
    audit,
    enqueue: async (id) => {
      queued.push(id);
      return `job-${id}`;
    },
    containerLogs: async () => ['listening on :8080', 'GET /healthz 200'],
    confirmMs: 5 * 60_000,
  });
  // As app/instance.ts wires it: the last successful deploy, else the build, tagged from GitHub.
  const runningVersion = createRunningVersion({
    env: config.appEnv,
    deployments,
    buildSha: config.build.gitSha ?? null,
    lookup: forge ? createVersionLookup(forge) : undefined,
  });
  const { bot } = createBot({
    config,
    logger,
    audit,
    redact: createRedactor(secretsOf(config)),
    deploys,
    runningVersion,
    restore: createRestoreControl({
      env: 'production',
      databaseUrl: config.databaseUrl,
      dir: path.join(config.home, 'backups'),
      keep: config.deploy.keepBackups,
      deployments,
      locks,
      audit,
      restores: createRestoreStore(pool),
    }),
  });
  const runtime = startTelegramRuntime(bot, { logger, backoff: { initialMs: 50, maxMs: 200 } });
  await runtime.ready;
  return { config, pool, deployments, locks, runtime, queued };
}

describe('true words, over the Telegram stand-in and a real Postgres', () => {
  let tg: StandIn;
  const dbs: TestDatabase[] = [];
  const running: Array<Awaited<ReturnType<typeof startProduction>>> = [];

  beforeAll(async () => {
    tg = await startTelegramStandIn();
  });

  afterAll(async () => {
    for (const r of running) {
      await r.runtime.stop();
      await r.pool.end();
    }
    await tg?.close();
    for (const db of dbs) await db.drop();
  });

  async function production(token: string, extra: Record<string, string>, forge?: Forge) {
    tg.registerBot({ token, username: `LughBot${running.length}`, firstName: 'Lugh' });
    const db = await createTestDatabase('prod_lugh');
    dbs.push(db);
    const instance = await startProduction(tg, db, token, extra, forge);
    running.push(instance);
    return instance;
  }

  async function say(token: string, text: string) {
    const sent = tg.sendText({ token, chat: { id: admin.id, type: 'private' }, from: admin, text });
    return tg.waitForBotMessage(token, admin.id, (m) => m.message_id > sent.message_id, {
      timeoutMs: 10_000,
    });
  }

  it('the /deploy production prompt says what DEPLOY_BACKUP and DEPLOY_VERIFY_SECONDS say: no backup when it is off', async () => {
    const off = '5550101:AAProdTokenTrueWordsOff_abcdefghijklmnop';
    await production(off, { DEPLOY_BACKUP: 'off', DEPLOY_VERIFY_SECONDS: '12' });
    const ask = await say(off, '/deploy production');
    expect(ask.text).not.toContain('A backup is taken first');
    expect(ask.text).toContain('No backup of the database is taken first (DEPLOY_BACKUP=off)');
    expect(ask.text).toContain('healthy for 12 s after the switch');

    // With no backups taken, /restore says why there are none: the setting, not a claim that they are taken.
    const none = (await say(off, '/restore')).text ?? '';
    expect(none).toContain('DEPLOY_BACKUP=off');
    expect(none).not.toContain('backups are taken before each production deploy');

    const on = '5550102:AAProdTokenTrueWordsOn_abcdefghijklmnopq';
    await production(on, { DEPLOY_BACKUP: 'pg_dump', DEPLOY_VERIFY_SECONDS: '45' });
    const askOn = await say(on, '/deploy production');
    expect(askOn.text).toContain('A backup of the database is taken first (pg_dump)');
    expect(askOn.text).toContain('healthy for 45 s after the switch');
  });

  it('/whoami names the version production runs (its tag and short SHA) once a deploy succeeded, not “unknown”', async () => {
    const github = await startSeededGitHub();
    try {
      const token = '5550103:AAProdTokenTrueWordsWho_abcdefghijklmnop';
      const p = await production(token, {}, github.forge);
      const before = await say(token, '/whoami');
      expect(before.text).toContain(
        'Version: unknown: no deploy of production recorded and no GIT_SHA in this build',
      );
      const sha = github.seeded.mainSha;
      await github.forge.createRelease('v1.4.0', sha);
      const d = await p.deployments.create({
        env: 'production',
        ref: 'main',
        trigger: 'manual',
        requestedBy: ADMIN_ID,
      });
      await p.deployments.finish(d.id, { status: 'succeeded', sha });
      const after = await say(token, '/whoami');
      expect(after.text).toContain(`Version: ${sha.slice(0, 7)} (v1.4.0)`);
      expect(after.text).not.toContain('unknown');
    } finally {
      await github.gh.close();
    }
  });

  it('/history names people by their Telegram name, as every other message does, never “user 1001”', async () => {
    const token = '5550104:AAProdTokenTrueWordsHist_abcdefghijklmno';
    const p = await production(token, {});
    const ask = await say(token, '/deploy production');
    const data = ask.reply_markup?.inline_keyboard[0]?.[0]?.callback_data ?? '';
    expect(data).toMatch(/^deploy:yes:\d+$/);
    tg.pressButton({ token, chatId: admin.id, messageId: ask.message_id, data, from: admin });
    await tg.waitForBotMessage(token, admin.id, (m) => (m.text ?? '').includes('is queued'), {
      timeoutMs: 10_000,
    });
    const history = await say(token, '/history');
    expect(history.text).toContain('by @ada');
    expect(history.text).not.toContain('user 1001');
    expect(p.queued).toHaveLength(1);
  });

  it('/history shows every number it gave: a /deploy prompt left unanswered is listed as not confirmed, not skipped', async () => {
    const token = '5550105:AAProdTokenTrueWordsGaps_abcdefghijklmno';
    await production(token, {});
    const unanswered = await say(token, '/deploy production');
    const ask = await say(token, '/deploy production');
    const data = ask.reply_markup?.inline_keyboard[0]?.[0]?.callback_data ?? '';
    tg.pressButton({ token, chatId: admin.id, messageId: ask.message_id, data, from: admin });
    await tg.waitForBotMessage(token, admin.id, (m) => (m.text ?? '').includes('is queued'), {
      timeoutMs: 10_000,
    });
    expect(unanswered.reply_markup?.inline_keyboard[0]?.[0]?.callback_data).toBe('deploy:yes:1');
    const history = (await say(token, '/history')).text ?? '';
    expect(history).toMatch(/#2 main by @ada · .* queued/);
    expect(history).toMatch(/#1 main by @ada · .* awaiting confirmation/);
  });

  it('a failed deploy’s result names the failed step, its last log lines, and carries the one button that helps: Logs, which answers', async () => {
    const token = '5550106:AAProdTokenTrueWordsFail_abcdefghijklmno';
    const p = await production(token, {});
    // The admin's chat exists: they wrote to the bot before.
    await say(token, '/whoami');
    const d = await p.deployments.create({
      env: 'production',
      ref: 'main',
      trigger: 'manual',
      requestedBy: ADMIN_ID,
      requestedByName: '@ada',
      chatId: admin.id,
    });
    await p.deployments.stepStarted(d.id, 'health');
    await p.deployments.finish(d.id, { status: 'failed', error: 'did not become healthy' });
    const notifier = createDeployNotifier({
      api: () => new Api(token, { apiRoot: tg.apiRoot }),
      deployments: p.deployments,
      logger: createLogger({ level: 'warn', secrets: [], destination: { write: () => {} } }),
      redact: (t) => t,
      fallbackChatId: admin.id,
      minEditIntervalMs: 0,
    });
    await notifier.finished(d.id, 'production', {
      status: 'failed',
      step: 'health',
      message: 'lugh:abc did not become healthy in 60 s',
      logTail: ['booting', 'Error: connect ECONNREFUSED 127.0.0.1:5432'],
    });
    await notifier.flush();
    const result = await tg.waitForBotMessage(token, admin.id, (m) => (m.text ?? '').startsWith('❌'), {
      timeoutMs: 10_000,
    });
    expect(result.text).toContain(
      `❌ Deploy #${d.id} failed at health: lugh:abc did not become healthy in 60 s`,
    );
    expect(result.text).toContain('Error: connect ECONNREFUSED 127.0.0.1:5432');
    expect(result.reply_markup?.inline_keyboard).toEqual([[{ text: 'Logs', callback_data: 'status:logs' }]]);
    tg.pressButton({
      token,
      chatId: admin.id,
      messageId: result.message_id,
      data: 'status:logs',
      from: admin,
    });
    const logs = await tg.waitForBotMessage(token, admin.id, (m) => m.message_id > result.message_id, {
      timeoutMs: 10_000,
    });
    expect(logs.text).toContain('Last 2 lines of production');
    expect(logs.text).toContain('GET /healthz 200');
  });

  it('a deploy that failed after verify (the new version runs) carries Roll back too, which opens the release picker for the admin', async () => {
    const token = '5550108:AAProdTokenTrueWordsRollB_abcdefghijklmno';
    const p = await production(token, {});
    await say(token, '/whoami');
    const older = 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1';
    const newer = 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2';
    const before = await p.deployments.create({
      env: 'production',
      ref: older,
      sha: older,
      trigger: 'manual',
    });
    await p.deployments.finish(before.id, { status: 'succeeded', sha: older });
    const d = await p.deployments.create({
      env: 'production',
      ref: newer,
      sha: newer,
      trigger: 'manual',
      requestedBy: ADMIN_ID,
      requestedByName: '@ada',
      chatId: admin.id,
    });
    // Verify passed (the switch stands), then its record step failed: the new version runs.
    await p.deployments.stepStarted(d.id, 'verify');
    await p.deployments.stepFinished(d.id, 'verify', 'succeeded');
    await p.deployments.stepStarted(d.id, 'record');
    await p.deployments.finish(d.id, { status: 'failed', sha: newer, error: 'could not record' });
    const notifier = createDeployNotifier({
      api: () => new Api(token, { apiRoot: tg.apiRoot }),
      deployments: p.deployments,
      logger: createLogger({ level: 'warn', secrets: [], destination: { write: () => {} } }),
      redact: (t) => t,
      fallbackChatId: admin.id,
      minEditIntervalMs: 0,
    });
    await notifier.finished(d.id, 'production', {
      status: 'failed',
      step: 'record',
      message: 'could not record',
    });
    await notifier.flush();
    const result = await tg.waitForBotMessage(token, admin.id, (m) => (m.text ?? '').startsWith('❌'), {
      timeoutMs: 10_000,
    });
    expect(result.reply_markup?.inline_keyboard).toEqual([
      [
        { text: 'Logs', callback_data: 'status:logs' },
        { text: 'Roll back', callback_data: 'rollback:offer' },
      ],
    ]);
    tg.pressButton({
      token,
      chatId: admin.id,
      messageId: result.message_id,
      data: 'rollback:offer',
      from: admin,
    });
    const picker = await tg.waitForBotMessage(token, admin.id, (m) => m.message_id > result.message_id, {
      timeoutMs: 10_000,
    });
    expect(picker.text).toContain('Roll production back to which release?');
    expect(picker.text).toContain(`It runs ${newer.slice(0, 7)}`);
    const buttons = picker.reply_markup?.inline_keyboard.flat() ?? [];
    expect(buttons.map((b) => b.text)).toEqual([expect.stringContaining(older.slice(0, 7))]);
  });

  it('a deploy asked from a group that becomes a supergroup mid-deploy goes on reporting in the supergroup', async () => {
    const token = '5550109:AAProdTokenTrueWordsMoves_abcdefghijklmn';
    const p = await production(token, {});
    const group = { id: -4343, type: 'group' as const, title: 'ops' };
    const hello = tg.sendText({ token, chat: group, from: admin, text: '/whoami' });
    await tg.waitForBotMessage(token, group.id, (m) => m.message_id > hello.message_id, {
      timeoutMs: 10_000,
    });
    const d = await p.deployments.create({
      env: 'production',
      ref: 'main',
      trigger: 'manual',
      requestedBy: ADMIN_ID,
      requestedByName: '@ada',
      chatId: group.id,
    });
    const chats = createChatMigrations({
      store: createChatMigrationStore(p.pool),
      config: p.config,
      logger: createLogger({ level: 'silent', secrets: [] }),
    });
    const notifier = createDeployNotifier({
      api: () => new Api(token, { apiRoot: tg.apiRoot }),
      deployments: p.deployments,
      logger: createLogger({ level: 'silent', secrets: [] }),
      redact: (t) => t,
      fallbackChatId: admin.id,
      minEditIntervalMs: 0,
      chats,
    });
    await p.deployments.stepStarted(d.id, 'resolve');
    await notifier.step(d.id, 'production', 'resolve');
    await notifier.flush();
    await tg.waitForBotMessage(token, group.id, (m) => (m.text ?? '').includes(`#${d.id}`), {
      timeoutMs: 10_000,
    });

    // The group is upgraded while the deploy runs (lugh is told nothing yet).
    const supergroup = tg.migrateGroup(token, group.id, admin);
    await p.deployments.stepStarted(d.id, 'build');
    await notifier.step(d.id, 'production', 'build');
    await p.deployments.finish(d.id, {
      status: 'succeeded',
      sha: 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3',
    });
    await notifier.finished(d.id, 'production', { status: 'succeeded', message: 'done' });
    await notifier.flush();

    const result = await tg.waitForBotMessage(token, supergroup, (m) => (m.text ?? '').startsWith('✅'), {
      timeoutMs: 10_000,
    });
    expect(result.text).toContain(`Deploy #${d.id}`);
    expect(await chats.current(group.id)).toBe(supergroup);
  });

  it('a lock refusal names “deploy #N (running)”, not its internal owner, with short SHAs, and says what clears it', async () => {
    const token = '5550107:AAProdTokenTrueWordsLock_abcdefghijklmno';
    const p = await production(token, {});
    const sha = 'b37705b1234567890abcdef1234567890abcdef1';
    const d = await p.deployments.create({
      env: 'production',
      ref: sha,
      sha,
      trigger: 'manual',
      requestedBy: ADMIN_ID,
    });
    await p.deployments.stepStarted(d.id, 'build');
    await p.locks.acquire({
      name: deployLockName('production'),
      owner: deploymentOwner(d.id),
      reason: `deploy #${d.id} of ${sha}`,
      ttlMs: 60_000,
    });
    const running = (await say(token, '/lock production maintenance')).text ?? '';
    expect(running).toContain(`deploy #${d.id} (running)`);
    expect(running).not.toContain('deployment:');
    expect(running).not.toContain(sha);
    expect(running).toContain('b37705b');
    expect(running).toContain(`It is freed when deploy #${d.id} ends; then send /lock production again.`);
    // The deploy ended without freeing its lock (its process died): /unlock clears it.
    await p.deployments.finish(d.id, { status: 'failed', error: 'runner died' });
    const stale = (await say(token, '/lock production maintenance')).text ?? '';
    expect(stale).toContain(`deploy #${d.id} (failed)`);
    expect(stale).toContain('/unlock production frees it');
  });

  it('the production report of a promotion names the PR and release (linked), who promoted and approved, CI’s time, from the deployment row the handoff made', async () => {
    const token = '5550108:AAProdTokenTrueWordsReport_abcdefghijklm';
    const p = await production(token, {});
    await say(token, '/whoami');
    const sha = 'c0ffee1234567890abcdef1234567890abcdef12';
    const { deployment: d } = await p.deployments.claimGitHub({
      githubDeploymentId: 1700000014,
      env: 'production',
      ref: sha,
      sha,
      requestedBy: ADMIN_ID,
      chatId: admin.id,
      promotionId: 4,
      requestedByName: '@bob',
      context: {
        promotionId: 4,
        pr: { number: 12, url: 'https://github.com/o/r/pull/12' },
        release: { tag: 'v1.4.0', url: 'https://github.com/o/r/releases/tag/v1.4.0' },
        promotedBy: '@ada',
        approvedBy: '@bob',
        ciMs: 190_000,
      },
    });
    await p.deployments.stepStarted(d.id, 'record');
    await p.deployments.finish(d.id, { status: 'succeeded', sha });
    const notifier = createDeployNotifier({
      api: () => new Api(token, { apiRoot: tg.apiRoot }),
      deployments: p.deployments,
      logger: createLogger({ level: 'warn', secrets: [], destination: { write: () => {} } }),
      redact: (t) => t,
      fallbackChatId: admin.id,
      minEditIntervalMs: 0,
    });
    await notifier.finished(d.id, 'production', { status: 'succeeded', sha, message: 'ok' });
    await notifier.flush();
    const report = await tg.waitForBotMessage(token, admin.id, (m) => (m.text ?? '').startsWith('✅'), {
      timeoutMs: 10_000,
    });
    expect(report.text).toContain(`production runs c0ffee1 (v1.4.0)`);
    expect(report.text).toContain(
      '🔀 PR #12 · 🏷 v1.4.0 · promoted by @ada, approved by @bob · CI 3 min 10 s',
    );
    const urls = (report.entities ?? []).map((e) => (e as { url?: string }).url).filter(Boolean);
    expect(urls).toEqual(['https://github.com/o/r/pull/12', 'https://github.com/o/r/releases/tag/v1.4.0']);
    expect(report.reply_markup).toBeUndefined();
    // /history says the same people.
    expect((await say(token, '/history')).text).toContain(
      `#${d.id} c0ffee1 (v1.4.0) by @ada (promotion, approved by @bob)`,
    );
  });
});
