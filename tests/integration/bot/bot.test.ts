import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../../src/bot/create-bot.js';
import { publishCommands } from '../../../src/bot/publish-commands.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { type Config, secretsOf } from '../../../src/config/index.js';
import { runAudit } from '../../../src/doctor/audit.js';
import { settingsFromConfig } from '../../../src/doctor/facts.js';
import { createLogger } from '../../../src/logger.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool } from '../../../src/store/pool.js';
import { ADMIN_ID, instanceConfig, STRANGER_ID } from '../../helpers/instance-env.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

type StandIn = Awaited<ReturnType<typeof startTelegramStandIn>>;

const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const stranger = { id: STRANGER_ID, first_name: 'Sam', username: 'sam' };
const TOKENS = {
  staging: '5550001:AAStagingTokenForBotTests_abcdefghijkl',
  production: '5550002:AAProdTokenForBotTests_abcdefghijklmnop',
};

/** One running instance: bot polling the stand-in over HTTP, real Postgres, captured logs. */
async function startBot(tg: StandIn, appEnv: 'staging' | 'production', db: TestDatabase) {
  const token = TOKENS[appEnv];
  const config: Config = instanceConfig({ appEnv, databaseUrl: db.url, apiRoot: tg.apiRoot, token });
  const lines: string[] = [];
  const logger = createLogger({
    level: 'trace',
    secrets: secretsOf(config),
    destination: { write: (line: string) => lines.push(line) },
  });
  await runMigrations({ databaseUrl: config.databaseUrl, logger });
  const pool = createPool(config.databaseUrl, 'bot-test');
  const audit = createAuditLog(pool, config.appEnv);
  const deps = {
    config,
    logger,
    audit,
    redact: createRedactor(secretsOf(config)),
    // The real audit with no Docker engine and only this instance's own settings.
    doctor: {
      run: () =>
        runAudit({
          fallback: (env) =>
            env === appEnv ? { settings: settingsFromConfig(config), from: 'this instance' } : undefined,
        }),
    },
  };
  const { bot, commands } = createBot(deps);
  const runtime = startTelegramRuntime(bot, {
    logger,
    backoff: { initialMs: 50, maxMs: 200 },
    onReady: async () => {
      await publishCommands(bot.api, commands, config.adminIds, logger);
    },
  });
  await runtime.ready;
  return { config, token, lines, pool, audit, runtime, doctor: deps.doctor };
}

describe('the bot over the Telegram stand-in', () => {
  let tg: StandIn;
  let stagingDb: TestDatabase;
  let prodDb: TestDatabase;
  let staging: Awaited<ReturnType<typeof startBot>>;
  let production: Awaited<ReturnType<typeof startBot>>;
  let chat = 0;
  const nextChat = () => 10_000 + ++chat;
  const runtimes: TelegramRuntime[] = [];

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKENS.staging, username: 'LughDevBot', firstName: 'Lugh Dev' });
    tg.registerBot({ token: TOKENS.production, username: 'LughBot', firstName: 'Lugh' });
    stagingDb = await createTestDatabase('staging_lugh');
    prodDb = await createTestDatabase('prod_lugh');
    staging = await startBot(tg, 'staging', stagingDb);
    production = await startBot(tg, 'production', prodDb);
    runtimes.push(staging.runtime, production.runtime);
  });

  afterAll(async () => {
    for (const r of runtimes) await r.stop();
    await staging?.pool.end();
    await production?.pool.end();
    await tg?.close();
    await stagingDb?.drop();
    await prodDb?.drop();
  });

  afterEach(() => {
    // Whatever a test did, no captured log line may carry a token or its secret half.
    for (const instance of [staging, production]) {
      const logs = instance.lines.join('');
      for (const secret of secretsOf(instance.config)) expect(logs).not.toContain(secret);
    }
  });

  async function say(token: string, from: typeof admin, text: string, chatId = from.id) {
    const sent = tg.sendText({ token, chat: { id: chatId, type: 'private' }, from, text });
    return tg.waitForBotMessage(token, chatId, (m) => m.message_id > sent.message_id, { timeoutMs: 10_000 });
  }

  it('/start introduces the bot and, on staging, every message is marked as staging', async () => {
    const reply = await say(TOKENS.staging, admin, '/start', admin.id);
    expect(reply.text).toMatch(/^🧪 STAGING · Lugh Dev runs the staging environment/);
    expect(reply.text).toContain('You are an admin here.');
    const prodReply = await say(TOKENS.production, admin, '/start', admin.id);
    expect(prodReply.text).toMatch(/^Lugh runs the production environment/);
    expect(prodReply.text).not.toContain('STAGING');
  });

  it('/help lists the admin commands for an admin and hides them from anyone else', async () => {
    const forAdmin = await say(TOKENS.staging, admin, '/help');
    expect(forAdmin.text).toContain('/flags');
    expect(forAdmin.text).toContain('/whoami');
    const forStranger = await say(TOKENS.staging, stranger, '/help');
    expect(forStranger.text).toContain('/whoami');
    expect(forStranger.text).not.toContain('/flags');
    expect(forStranger.text).toContain('Admin commands are hidden');
  });

  it('/help lists what each bot does and points to the other: production leaves out /promote and /cancel, staging /restore', async () => {
    const prod = await say(TOKENS.production, admin, '/help');
    expect(prod.text).not.toMatch(/^\/(promote|cancel) —/m);
    expect(prod.text).toMatch(/^\/restore — /m);
    expect(prod.text).toMatch(/^\/rollback — /m);
    expect(prod.text).toContain('Promotions start on the staging bot: send /promote there.');
    const stagingHelp = await say(TOKENS.staging, admin, '/help');
    expect(stagingHelp.text).toMatch(/^\/promote — /m);
    expect(stagingHelp.text).toMatch(/^\/cancel — /m);
    expect(stagingHelp.text).not.toMatch(/^\/restore — /m);
    expect(stagingHelp.text).toContain(
      'The production bot deploys what /promote hands over and reports there; /restore is on it.',
    );
  });

  it('/whoami tells the user id, the role, the environment and its version', async () => {
    const a = await say(TOKENS.production, admin, '/whoami');
    expect(a.text).toContain(`Id: ${ADMIN_ID}`);
    expect(a.text).toContain('Role: admin');
    expect(a.text).toContain('Environment: production (@LughBot)');
    const s = await say(TOKENS.staging, stranger, '/whoami');
    expect(s.text).toContain(`Id: ${STRANGER_ID}`);
    expect(s.text).toContain('Role: not an admin');
    expect(s.text).toContain('Environment: staging (@LughDevBot)');
    // No GIT_SHA in this test's environment.
    expect(s.text).toContain('Version: unknown');
  });

  it('/version tells the environment, the full commit and the build time, to anyone', async () => {
    const v = await say(TOKENS.staging, stranger, '/version');
    expect(v.text).toContain('lugh staging (@LughDevBot)');
    // No GIT_SHA or BUILD_TIME in this test's environment.
    expect(v.text).toContain('Commit: unknown (no GIT_SHA in this build)');
    expect(v.text).toContain('Built: unknown');
  });

  it('/flags shows this instance’s typed flags, and Details edits the message in place', async () => {
    const summary = await say(TOKENS.production, admin, '/flags');
    expect(summary.text).toContain('Feature flags of production');
    expect(summary.text).toMatch(/✅ promote/);
    expect(summary.text).toMatch(/⬜️ deploy_on_push/);
    expect(summary.reply_markup?.inline_keyboard[0]?.[0]?.callback_data).toBe('flags:details');

    tg.pressButton({
      token: TOKENS.production,
      chatId: admin.id,
      messageId: summary.message_id,
      data: 'flags:details',
      from: admin,
    });
    const details = await tg.waitForBotMessage(
      TOKENS.production,
      admin.id,
      (m) => m.message_id === summary.message_id && (m.text ?? '').includes('production default'),
    );
    expect(details.text).toContain('experimental');
    expect(details.edit_date).toBeDefined();
    const entry = tg
      .transcript(TOKENS.production, admin.id)
      .find((e) => e.kind === 'bot_message' && e.message_id === summary.message_id);
    expect(entry?.kind === 'bot_message' && entry.edits.length).toBe(1);
  });

  it('refuses /flags to a non-admin with a clear message and records it in the audit log', async () => {
    const reply = await say(TOKENS.staging, stranger, '/flags');
    expect(reply.text).toContain('/flags is for lugh admins only');
    expect(reply.text).toContain(String(STRANGER_ID));
    const [last] = await staging.audit.recent(1);
    expect(last).toMatchObject({
      actorId: STRANGER_ID,
      action: '/flags',
      outcome: 'refused',
      env: 'staging',
    });
  });

  it('refuses an admin’s button pressed by a stranger in a group, records it, and changes nothing', async () => {
    const group = -nextChat();
    const sent = tg.sendText({
      token: TOKENS.staging,
      chat: { id: group, type: 'group', title: 'ops' },
      from: admin,
      text: '/flags@LughDevBot',
    });
    const flags = await tg.waitForBotMessage(TOKENS.staging, group, (m) => m.message_id > sent.message_id);
    const queryId = tg.pressButton({
      token: TOKENS.staging,
      chatId: group,
      messageId: flags.message_id,
      data: 'flags:details',
      from: stranger,
    });
    await expect
      .poll(() =>
        tg
          .transcript(TOKENS.staging, group)
          .find((e) => e.kind === 'callback_answer' && e.callback_query_id === queryId),
      )
      .toMatchObject({
        show_alert: true,
        text: expect.stringContaining('Only lugh admins can use this button'),
      });
    const entry = tg
      .transcript(TOKENS.staging, group)
      .find((e) => e.kind === 'bot_message' && e.message_id === flags.message_id);
    expect(entry?.kind === 'bot_message' && entry.edits).toEqual([]);
    const [last] = await staging.audit.recent(1);
    expect(last).toMatchObject({ actorId: STRANGER_ID, action: 'flags button', outcome: 'refused' });
  });

  it('publishes the command menu: public commands for everyone, the full list for admins', async () => {
    const calls = tg.calls(TOKENS.staging).filter((c) => c.method === 'setMyCommands');
    const publicMenu = calls.find((c) => !c.params.scope);
    const adminMenu = calls.find(
      (c) => (c.params.scope as { chat_id?: number } | undefined)?.chat_id === ADMIN_ID,
    );
    const names = (c: typeof publicMenu) =>
      ((c?.params.commands ?? []) as { command: string }[]).map((x) => x.command);
    expect(names(publicMenu)).toEqual(['start', 'help', 'whoami', 'version', 'status']);
    expect(names(adminMenu)).toEqual([
      'start',
      'help',
      'whoami',
      'version',
      'status',
      'flags',
      'promote',
      'cancel',
      'deploy',
      'rollback',
      // /restore is production's: staging's menu leaves it out.
      'lock',
      'unlock',
      'history',
      'delivery',
      'logs',
      'doctor',
    ]);
  });

  it('retries a 429 from Telegram and still answers', async () => {
    tg.injectFault({ token: TOKENS.production, method: 'sendMessage', kind: '429', retryAfter: 1, times: 1 });
    const reply = await say(TOKENS.production, admin, '/whoami');
    expect(reply.text).toContain('Role: admin');
    const sends = tg.calls(TOKENS.production).filter((c) => c.method === 'sendMessage');
    expect(sends.length).toBeGreaterThanOrEqual(2);
  });

  it('/doctor gives an admin every check with its evidence and fix, and refuses anyone else', async () => {
    const first = await say(TOKENS.production, admin, '/doctor');
    // Every check is there, split between checks into messages Telegram takes.
    const titles = (await production.doctor.run()).checks.map((c) => c.title);
    const replies = () =>
      tg
        .transcript(TOKENS.production, admin.id)
        .filter((e) => e.kind === 'bot_message' && e.message_id >= first.message_id)
        .map((e) => (e.kind === 'bot_message' ? (e.text ?? '') : ''));
    await expect.poll(() => titles.filter((t) => !replies().join('\n').includes(t))).toEqual([]);
    for (const text of replies()) expect(text.length).toBeLessThanOrEqual(4096);
    const report = { text: replies().join('\n') };
    expect(report.text).toMatch(/^🩺 Isolation audit of lugh-staging-app and lugh-prod-app: ❌ \d+ failed/);
    expect(report.text).toContain('❌ The apps share no network and cannot resolve or reach each other');
    expect(report.text).toContain('production: this process has no Docker engine to ask');
    expect(report.text).toContain('Fix: start the Docker engine (dockerd), or point DOCKER_HOST at it');
    // The other environment has no container and no settings here: said, not guessed.
    expect(report.text).toContain('staging: no settings to read');
    expect(report.text).not.toContain(TOKENS.production.split(':')[1]);
    const refused = await say(TOKENS.production, stranger, '/doctor');
    expect(refused.text).toContain('⛔ /doctor is for lugh admins only');
  });

  it('answers an unknown command with a pointer to /help', async () => {
    const reply = await say(TOKENS.staging, admin, '/nosuchthing');
    expect(reply.text).toContain('/help lists what you can run');
  });

  it('logged the conversation without the token anywhere', () => {
    const logs = staging.lines.join('');
    expect(staging.lines.length).toBeGreaterThan(3);
    expect(logs).not.toContain(TOKENS.staging);
    expect(logs).not.toContain(TOKENS.staging.split(':')[1]);
  });
});
