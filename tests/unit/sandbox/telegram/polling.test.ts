import { GrammyError } from 'grammy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TelegramStandIn } from '../../../../src/sandbox/telegram/index.js';
import {
  alice,
  bob,
  callCount,
  grammyBot,
  OTHER_TOKEN,
  privateChat,
  startPolling,
  startWithBot,
  TOKEN,
  until,
} from './stand-in-fixture.js';

describe('Telegram stand-in: identity and long polling', () => {
  let tg: TelegramStandIn;
  beforeEach(async () => {
    tg = await startWithBot();
  });
  afterEach(async () => {
    await tg.close();
  });

  it('answers getMe with the registered bot as a User', async () => {
    const bot = grammyBot(tg);
    await bot.init();
    expect(bot.botInfo).toEqual({
      id: 7000001,
      is_bot: true,
      first_name: 'Lugh Test',
      username: 'lugh_test_bot',
      can_join_groups: true,
      can_read_all_group_messages: true,
      supports_inline_queries: false,
    });
  });

  it('answers an unknown token with 401, which grammY throws as a GrammyError', async () => {
    const bot = grammyBot(tg, '999:not-registered');
    const error = await bot.init().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrammyError);
    expect(error).toMatchObject({ error_code: 401, description: 'Unauthorized' });
  });

  it('answers an unknown method with 404 and matches method names case-insensitively', async () => {
    const unknown = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendTelepathy`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ ok: false, error_code: 404, description: 'Not Found' });
    const shouted = await fetch(`${tg.apiRoot}/bot${TOKEN}/GETME`);
    expect(shouted.status).toBe(200);
    expect(await shouted.json()).toMatchObject({ ok: true, result: { username: 'lugh_test_bot' } });
  });

  it('accepts GET with a query string and urlencoded forms like the real API', async () => {
    tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'hi' });
    const viaQuery = await fetch(
      `${tg.apiRoot}/bot${TOKEN}/sendMessage?chat_id=${alice.id}&text=from%20query`,
    );
    expect(await viaQuery.json()).toMatchObject({ ok: true, result: { text: 'from query' } });
    const viaForm = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendMessage`, {
      method: 'POST',
      body: new URLSearchParams({
        chat_id: String(alice.id),
        text: '<b>form</b>',
        parse_mode: 'HTML',
        reply_markup: JSON.stringify({ inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] }),
      }),
    });
    expect(await viaForm.json()).toMatchObject({
      ok: true,
      result: {
        text: 'form',
        entities: [{ type: 'bold', offset: 0, length: 4 }],
        reply_markup: { inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] },
      },
    });
  });

  it("delivers a user's message to bot.start() and takes the bot's reply", async () => {
    const bot = grammyBot(tg);
    bot.command('start', (ctx) => ctx.reply(`Hello, ${ctx.from?.first_name}`));
    const polling = await startPolling(bot);
    try {
      const sent = tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: '/start' });
      expect(sent.entities).toEqual([{ type: 'bot_command', offset: 0, length: 6 }]);
      const reply = await tg.waitForBotMessage(TOKEN, alice.id, (m) => m.text === 'Hello, Alice');
      expect(reply).toMatchObject({
        message_id: 2,
        chat: { id: alice.id, type: 'private', first_name: 'Alice' },
        from: { id: 7000001, is_bot: true, username: 'lugh_test_bot' },
      });
    } finally {
      await polling.stop();
    }
  });

  it('marks /command@botname in a group as a bot_command that grammY routes', async () => {
    const bot = grammyBot(tg);
    bot.command('status', (ctx) => ctx.reply('all green'));
    const polling = await startPolling(bot);
    try {
      const group = { id: -100123, type: 'supergroup' as const, title: 'Ops' };
      const sent = tg.sendText({ token: TOKEN, chat: group, from: bob, text: '/status@lugh_test_bot now' });
      expect(sent.entities).toEqual([{ type: 'bot_command', offset: 0, length: 21 }]);
      const reply = await tg.waitForBotMessage(TOKEN, group.id, (m) => m.text === 'all green');
      expect(reply.chat).toEqual({ id: -100123, type: 'supergroup', title: 'Ops' });
    } finally {
      await polling.stop();
    }
  });

  it('confirms updates by offset so an update is not delivered twice', async () => {
    const bot = grammyBot(tg);
    tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'one' });
    const first = await bot.api.getUpdates();
    expect(first.map((u) => u.message?.text)).toEqual(['one']);
    // Unconfirmed updates come again; the real server only forgets them on a higher offset.
    expect((await bot.api.getUpdates()).map((u) => u.update_id)).toEqual([first[0]!.update_id]);
    tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'two' });
    const second = await bot.api.getUpdates({ offset: first[0]!.update_id + 1 });
    expect(second.map((u) => u.message?.text)).toEqual(['two']);
    expect(second[0]!.update_id).toBeGreaterThan(first[0]!.update_id);
    expect(await bot.api.getUpdates({ offset: second[0]!.update_id + 1 })).toEqual([]);
    expect(await bot.api.getUpdates()).toEqual([]);
  });

  it('honours limit and remembers allowed_updates across calls', async () => {
    const bot = grammyBot(tg);
    for (const text of ['a', 'b', 'c'])
      tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text });
    expect((await bot.api.getUpdates({ limit: 2 })).map((u) => u.message?.text)).toEqual(['a', 'b']);
    await bot.api.getUpdates({ offset: -1, allowed_updates: ['callback_query'] });
    tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'filtered out' });
    expect((await bot.api.getUpdates()).map((u) => u.message?.text)).toEqual(['c']);
  });

  it('holds an idle getUpdates for about its timeout', async () => {
    const bot = grammyBot(tg);
    const started = Date.now();
    const updates = await bot.api.getUpdates({ timeout: 1 });
    expect(updates).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  it('answers a held getUpdates as soon as an update arrives', async () => {
    const bot = grammyBot(tg);
    const held = bot.api.getUpdates({ timeout: 20 });
    await until(() => callCount(tg, 'getUpdates') === 1);
    tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'wake up' });
    expect((await held).map((u) => u.message?.text)).toEqual(['wake up']);
  });

  it('terminates the older of two pollers with 409 and serves the newer one', async () => {
    const first = grammyBot(tg);
    const second = grammyBot(tg);
    second.on('message', (ctx) => ctx.reply('second instance here'));
    const firstPolling = await startPolling(first);
    await until(() => callCount(tg, 'getUpdates') >= 1);
    const secondPolling = await startPolling(second);
    try {
      const error = await firstPolling.done.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GrammyError);
      expect(error).toMatchObject({
        error_code: 409,
        description:
          'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      });
      tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'who is there?' });
      await tg.waitForBotMessage(TOKEN, alice.id, (m) => m.text === 'second instance here');
    } finally {
      await secondPolling.stop();
    }
  });

  it('refuses getUpdates with 409 while a webhook is set', async () => {
    const bot = grammyBot(tg);
    await bot.api.setWebhook('http://127.0.0.1:9/never-called');
    const error = await bot.api.getUpdates().catch((e: unknown) => e);
    expect(error).toMatchObject({
      error_code: 409,
      description:
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    });
    await bot.api.deleteWebhook();
    expect(await bot.api.getUpdates()).toEqual([]);
  });

  it('keeps bots apart: update ids and chats are per bot', async () => {
    tg.registerBot({ token: OTHER_TOKEN, username: 'other_bot', firstName: 'Other' });
    tg.sendText({ token: OTHER_TOKEN, chat: privateChat(alice), from: alice, text: 'for the other bot' });
    expect(await grammyBot(tg).api.getUpdates()).toEqual([]);
    const other = await grammyBot(tg, OTHER_TOKEN).api.getUpdates();
    expect(other.map((u) => [u.update_id, u.message?.text])).toEqual([[1, 'for the other bot']]);
  });

  it('releases a held long poll immediately on close()', async () => {
    const bot = grammyBot(tg);
    const held = bot.api.getUpdates({ timeout: 50 });
    await until(() => callCount(tg, 'getUpdates') === 1);
    await tg.close();
    expect(await held).toEqual([]);
  });

  it('logs calls with the token masked', async () => {
    await grammyBot(tg).api.getMe();
    const [call] = tg.calls(TOKEN);
    expect(call).toMatchObject({ token: '7000001:***', method: 'getMe' });
    expect(JSON.stringify(tg.calls())).not.toContain('secret');
  });
});
