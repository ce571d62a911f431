// Telegram's deadlines, through the Telegram stand-in: a button press is answerable for
// ~15 s, and a webhook delivery that is not answered in time (10 s) is a failure that
// Telegram redelivers. lugh answers within both and acts on each update once.
import { createServer } from 'node:net';
import { InlineKeyboard } from 'grammy';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHttp } from '../../../src/app/http.js';
import type { BotDeps } from '../../../src/bot/context.js';
import { createBot } from '../../../src/bot/create-bot.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { type Config, secretsOf } from '../../../src/config/index.js';
import type { AuditReport } from '../../../src/doctor/audit.js';
import { createLogger } from '../../../src/logger.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createRedis, keyspace, type Redis } from '../../../src/store/redis.js';
import { createUpdateClaims } from '../../../src/store/update-claims.js';
import { ADMIN_ID, instanceConfig } from '../../helpers/instance-env.js';
import { redisUrl } from '../../helpers/services.js';

const TOKEN = '5550101:AATimeoutsTestToken_abcdefghijklmnop';
const SECRET = 'telegram-webhook-secret-for-timeouts';
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const NO_DATABASE = 'postgres://lugh:unused@127.0.0.1:1/staging_lugh';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function botParts(tg: TelegramStandIn, extra: Record<string, string> = {}) {
  const config: Config = instanceConfig({
    databaseUrl: NO_DATABASE,
    apiRoot: tg.apiRoot,
    token: TOKEN,
    extra,
  });
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    secrets: secretsOf(config),
    destination: { write: (line: string) => lines.push(line) },
  });
  const deps: BotDeps = {
    config,
    logger,
    audit: { record: async () => {} } as unknown as BotDeps['audit'],
    redact: createRedactor(secretsOf(config)),
  };
  return { config, logger, lines, deps };
}

const botTexts = (tg: TelegramStandIn, chatId: number) =>
  tg.transcript(TOKEN, chatId).flatMap((e) => (e.kind === 'bot_message' ? [e.text ?? ''] : []));

describe('Telegram deadlines', () => {
  let tg: TelegramStandIn | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
    await tg?.close();
    tg = undefined;
  });

  it('a button answered too late (Telegram says “query is too old”) is logged, and the chat is not told “Something went wrong”', async () => {
    let clock = Date.now();
    tg = await startTelegramStandIn({ now: () => clock });
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    const { deps, lines } = botParts(tg);
    const { bot } = createBot(deps);
    await bot.init();
    tg.sendText({ token: TOKEN, chat: { id: admin.id, type: 'private' }, from: admin, text: 'hi' });
    const sent = await bot.api.sendMessage(admin.id, 'An old question', {
      reply_markup: new InlineKeyboard().text('Old button', 'gone:1'),
    });
    tg.pressButton({
      token: TOKEN,
      chatId: admin.id,
      messageId: sent.message_id,
      data: 'gone:1',
      from: admin,
    });
    const press = (await bot.api.getUpdates()).find((u) => u.callback_query);
    expect(press).toBeDefined();

    // lugh gets to the press after Telegram stopped taking its answer.
    clock += 16_000;
    // As long polling does: a failure goes to the bot's error handler (bot.catch).
    await bot.handleUpdate(press!).catch((error: unknown) => bot.errorHandler(error as never));

    expect(botTexts(tg, admin.id).filter((t) => t.includes('Something went wrong'))).toEqual([]);
    expect(lines.join('')).toContain('callback query answered too late');
    expect(lines.join('')).not.toContain('update failed');
  });

  /** lugh in webhook mode as `lugh start` wires it (bot, runtime, HTTP, update claims), with a /doctor that waits. */
  async function webhookLugh(standIn: TelegramStandIn, queueWaitMs?: number) {
    const { config, logger, deps } = botParts(standIn, {
      TELEGRAM_WEBHOOK_URL: 'https://lugh.example.org/webhooks/telegram',
      TELEGRAM_WEBHOOK_SECRET: SECRET,
    });
    const redis: Redis = createRedis(redisUrl(), { connectionName: 'telegram-timeouts-test' });
    cleanups.push(() => redis.quit());
    const claims = createUpdateClaims(redis, keyspace(config.redisPrefix));
    let runtime: TelegramRuntime | undefined;
    const doctor = { started: deferred(), mayFinish: deferred(), runs: 0 };
    const report = {
      staging: { containerName: 'lugh-staging' },
      production: { containerName: 'lugh-prod' },
      checks: [],
      failed: 0,
    } as unknown as AuditReport;
    const { bot } = createBot({
      ...deps,
      updateGate: { mayTake: (id) => runtime?.takes(id) ?? false, claim: claims.claim },
      doctor: {
        run: async () => {
          doctor.runs += 1;
          doctor.started.resolve();
          await doctor.mayFinish.promise;
          return report;
        },
      },
    });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/webhooks/telegram`;
    runtime = startTelegramRuntime(bot, {
      logger,
      backoff: { initialMs: 50, maxMs: 200 },
      webhook: { url, secret: SECRET, queueWaitMs },
    });
    const running = runtime;
    cleanups.push(() => running.stop());
    // A test that failed midway must not leave the audit waiting (stop waits for it).
    cleanups.push(async () => doctor.mayFinish.resolve());
    const parts = {
      startedAt: new Date(),
      gitSha: null,
      health: async () => ({ status: 'ok' }),
      bot,
      telegram: runtime,
      promotions: {},
      engine: {},
    } as unknown as Parameters<typeof buildHttp>[2];
    const http = buildHttp(config, logger, parts);
    await http.listen(port, '127.0.0.1');
    cleanups.push(() => http.close());
    await runtime.ready;
    return { runtime, doctor, url };
  }

  it('webhook mode answers Telegram at once: a slow /doctor neither holds the delivery past its timeout nor runs twice', async () => {
    tg = await startTelegramStandIn({ webhookTimeoutMs: 3_000 });
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    const { runtime, doctor } = await webhookLugh(tg);
    const doctorStarted = doctor.started;
    const doctorMayFinish = doctor.mayFinish;

    tg.sendText({ token: TOKEN, chat: { id: admin.id, type: 'private' }, from: admin, text: '/doctor' });
    await doctorStarted.promise;
    // Telegram got its 2xx while the audit still runs: no timeout, no redelivery.
    await expect.poll(() => tg!.webhookDeliveries(TOKEN).length, { timeout: 8_000 }).toBeGreaterThan(0);
    const [first] = tg.webhookDeliveries(TOKEN);
    expect(first).toEqual({ updateId: first!.updateId, ok: true });

    // Other chats are not held up behind it (one chat's updates are handled in order).
    const group = { id: -4242, type: 'group' as const, title: 'ops' };
    const whoami = tg.sendText({ token: TOKEN, chat: group, from: admin, text: '/whoami' });
    const reply = await tg.waitForBotMessage(TOKEN, group.id, (m) => m.message_id > whoami.message_id);
    expect(reply.text).toContain('Role: admin');

    doctorMayFinish.resolve();
    await tg.waitForBotMessage(TOKEN, admin.id, (m) => (m.text ?? '').includes('Isolation audit'));
    await runtime.stop();
    expect(doctor.runs).toBe(1);
    expect(botTexts(tg, admin.id).filter((t) => t.includes('Isolation audit'))).toHaveLength(1);
    const deliveries = tg.webhookDeliveries(TOKEN);
    expect(deliveries.every((d) => d.ok)).toBe(true);
    expect(new Set(deliveries.map((d) => d.updateId)).size).toBe(deliveries.length);
  });

  it('a redelivered update (same update_id) is answered 2xx while the first is still handled, and acted on once', async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    const { runtime, doctor, url } = await webhookLugh(tg);
    // The admin's chat with the bot exists (lugh may write to it).
    const hello = tg.sendText({
      token: TOKEN,
      chat: { id: admin.id, type: 'private' },
      from: admin,
      text: 'hi',
    });
    await tg.waitForBotMessage(TOKEN, admin.id, (m) => m.message_id > hello.message_id);
    const update = {
      update_id: 424242,
      message: {
        message_id: 1,
        date: Math.floor(Date.now() / 1000),
        chat: { id: admin.id, type: 'private', first_name: 'Ada' },
        from: { id: admin.id, is_bot: false, first_name: 'Ada' },
        text: '/doctor',
        entities: [{ type: 'bot_command', offset: 0, length: 7 }],
      },
    };
    // Telegram sends the update, then (its answer lost, or late) the same update again.
    const deliver = () =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        body: JSON.stringify(update),
      }).then((res) => res.status);
    const first = deliver();
    await doctor.started.promise;
    const again = deliver();
    const statuses = await Promise.all([first, again]);
    expect(statuses.map((status) => status >= 200 && status < 300)).toEqual([true, true]);

    doctor.mayFinish.resolve();
    await tg.waitForBotMessage(TOKEN, admin.id, (m) => (m.text ?? '').includes('Isolation audit'));
    await runtime.stop();
    expect(doctor.runs).toBe(1);
    const texts = botTexts(tg, admin.id);
    expect(texts.filter((t) => t.includes('Isolation audit'))).toHaveLength(1);
    expect(texts.filter((t) => /already|went wrong/i.test(t))).toEqual([]);
  });

  it('an update queued behind a slow one of its chat is not confirmed before it begins (503: Telegram keeps it), then handled once', async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    const { runtime, doctor, url } = await webhookLugh(tg, 300);
    const hello = tg.sendText({
      token: TOKEN,
      chat: { id: admin.id, type: 'private' },
      from: admin,
      text: 'hi',
    });
    await tg.waitForBotMessage(TOKEN, admin.id, (m) => m.message_id > hello.message_id);
    const message = (id: number, text: string) => ({
      update_id: id,
      message: {
        message_id: id,
        date: Math.floor(Date.now() / 1000),
        chat: { id: admin.id, type: 'private', first_name: 'Ada' },
        from: { id: admin.id, is_bot: false, first_name: 'Ada' },
        text,
        entities: [{ type: 'bot_command', offset: 0, length: text.length }],
      },
    });
    const deliver = (update: object) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        body: JSON.stringify(update),
      }).then((res) => res.status);
    expect(await deliver(message(515151, '/doctor'))).toBe(200);
    await doctor.started.promise;
    // Behind the audit in the same chat: a 200 now would be lost with the process.
    const whoami = message(515152, '/whoami');
    expect(await deliver(whoami)).toBe(503);
    const before = botTexts(tg, admin.id).filter((t) => t.includes('Role: admin')).length;

    doctor.mayFinish.resolve();
    await expect
      .poll(() => botTexts(tg!, admin.id).filter((t) => t.includes('Role: admin')).length, {
        timeout: 10_000,
      })
      .toBe(before + 1);
    // Telegram's redelivery of it is confirmed and not acted on again.
    expect(await deliver(whoami)).toBe(200);
    await runtime.stop();
    expect(botTexts(tg, admin.id).filter((t) => t.includes('Role: admin'))).toHaveLength(before + 1);
  });

  it('the webhook refuses a wrong secret (401) and a body that is no update (400), and once stopping answers 503 so Telegram sends the update again', async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    const { runtime, doctor, url } = await webhookLugh(tg);
    const post = (body: string, secret = SECRET) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body,
      });
    const update = JSON.stringify({
      update_id: 777,
      message: {
        message_id: 1,
        date: 0,
        chat: { id: admin.id, type: 'private', first_name: 'Ada' },
        from: { id: admin.id, is_bot: false, first_name: 'Ada' },
        text: '/doctor',
        entities: [{ type: 'bot_command', offset: 0, length: 7 }],
      },
    });
    const forged = await post(update, 'not-the-secret');
    expect(forged.status).toBe(401);
    expect(await forged.text()).not.toContain(SECRET);
    const junk = await post('{"hello":');
    expect(junk.status).toBe(400);
    expect(await junk.json()).toEqual({ error: 'not a Telegram update (a JSON object with an update_id)' });

    await runtime.stop();
    const late = await post(update);
    expect(late.status).toBe(503);
    expect(doctor.runs).toBe(0);
  });
});
