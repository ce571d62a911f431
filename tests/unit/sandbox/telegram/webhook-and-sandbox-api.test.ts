import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bot, webhookCallback } from 'grammy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TelegramStandIn } from '../../../../src/sandbox/telegram/index.js';
import { alice, grammyBot, privateChat, startWithBot, TOKEN, until } from './stand-in-fixture.js';

describe('Telegram stand-in: webhooks', () => {
  let tg: TelegramStandIn;
  let server: Server | undefined;
  beforeEach(async () => {
    tg = await startWithBot();
  });
  afterEach(async () => {
    await tg.close();
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
      server = undefined;
    }
  });

  it("delivers updates with the secret header to grammY's webhookCallback, retrying after a 500", async () => {
    const bot = grammyBot(tg);
    bot.on('message:text', (ctx) => ctx.reply(`echo: ${ctx.message.text}`));
    const handle = webhookCallback(bot, 'http', { secretToken: 'sekret_123' });
    const seen: Array<{ headers: IncomingHttpHeaders; status: number }> = [];
    server = createServer((req, res) => {
      if (seen.length === 0) {
        // The first delivery fails; the stand-in must send the same update again.
        seen.push({ headers: req.headers, status: 500 });
        req.resume();
        res.writeHead(500).end();
        return;
      }
      res.on('finish', () => seen.push({ headers: req.headers, status: res.statusCode }));
      void handle(req, res);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

    expect(await bot.api.setWebhook(url, { secret_token: 'sekret_123' })).toBe(true);
    tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'ping' });
    await tg.waitForBotMessage(TOKEN, alice.id, (m) => m.text === 'echo: ping');
    // The reply is sent from inside the handler, before its 200 has gone out.
    await until(() => seen.length === 2);

    expect(seen.map((s) => s.status)).toEqual([500, 200]);
    expect(seen.every((s) => s.headers['x-telegram-bot-api-secret-token'] === 'sekret_123')).toBe(true);
    const info = await bot.api.getWebhookInfo();
    expect(info).toMatchObject({ url, has_custom_certificate: false, pending_update_count: 0 });
    expect(info.last_error_message).toBe('Wrong response from the webhook: 500 Internal Server Error');
    expect(info.last_error_date).toBeGreaterThan(0);
  });

  it('counts a delivery that gets no answer within the webhook timeout as failed and sends the same update_id again', async () => {
    await tg.close();
    tg = await startWithBot({ webhookTimeoutMs: 200 });
    const bot = grammyBot(tg);
    const bodies: Array<{ update_id: number }> = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { update_id: number });
        // The first delivery is never answered (a handler still busy); the second is.
        if (bodies.length > 1) res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    await bot.api.setWebhook(url);
    tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'slow' });
    await until(() => tg.webhookDeliveries(TOKEN).some((a) => a.ok));

    const attempts = tg.webhookDeliveries(TOKEN);
    expect(attempts).toEqual([
      { updateId: bodies[0]!.update_id, ok: false, error: 'Read timeout expired' },
      { updateId: bodies[0]!.update_id, ok: true },
    ]);
    expect(bodies.map((b) => b.update_id)).toEqual([attempts[0]!.updateId, attempts[0]!.updateId]);
    const info = await bot.api.getWebhookInfo();
    expect(info).toMatchObject({ pending_update_count: 0, last_error_message: 'Read timeout expired' });
  });

  it('executes a method returned in the webhook response body (grammY webhook reply)', async () => {
    const bot = new Bot(TOKEN, {
      client: { apiRoot: tg.apiRoot, canUseWebhookReply: (method) => method === 'sendMessage' },
    });
    bot.on('message:text', (ctx) => ctx.reply('answered in the webhook response'));
    const handle = webhookCallback(bot, 'http');
    server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    await bot.api.setWebhook(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'hi' });
    await tg.waitForBotMessage(TOKEN, alice.id, (m) => m.text === 'answered in the webhook response');
  });

  it('keeps updates pending while the webhook is unreachable and drops them on request', async () => {
    const bot = grammyBot(tg);
    // Port 9 (discard) is closed here: every delivery is refused.
    await bot.api.setWebhook('http://127.0.0.1:9/hook');
    tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'anyone?' });
    let info = await bot.api.getWebhookInfo();
    while (info.last_error_message === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      info = await bot.api.getWebhookInfo();
    }
    expect(info.pending_update_count).toBe(1);
    expect(info.last_error_message).toBe('Connection refused');
    await bot.api.deleteWebhook({ drop_pending_updates: true });
    expect(await bot.api.getWebhookInfo()).toMatchObject({ url: '', pending_update_count: 0 });
    expect(await bot.api.getUpdates()).toEqual([]);
  });
});

describe('Telegram stand-in: user-side HTTP API', () => {
  let tg: TelegramStandIn;
  beforeEach(async () => {
    tg = await startWithBot();
  });
  afterEach(async () => {
    await tg.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${tg.apiRoot}/_sandbox/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('sends, presses and reads the transcript over HTTP without echoing tokens', async () => {
    const sent = await post('send', { token: TOKEN, chat: privateChat(alice), from: alice, text: '/menu' });
    expect(sent.status).toBe(200);
    expect(await sent.json()).toMatchObject({ ok: true, result: { message_id: 1, text: '/menu' } });

    const bot = grammyBot(tg);
    const menu = await bot.api.sendMessage(alice.id, 'Pick', {
      reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] },
    });
    const pressed = await post('press', {
      token: TOKEN,
      chatId: alice.id,
      messageId: menu.message_id,
      data: 'a',
      from: alice,
    });
    const { result } = (await pressed.json()) as { result: { callback_query_id: string } };
    const updates = await bot.api.getUpdates();
    expect(updates.at(-1)?.callback_query?.id).toBe(result.callback_query_id);

    const transcript = await fetch(`${tg.apiRoot}/_sandbox/transcript?token=${TOKEN}&chatId=${alice.id}`);
    const text = await transcript.text();
    expect(JSON.parse(text)).toMatchObject({
      ok: true,
      result: [
        { kind: 'user_message', text: '/menu' },
        { kind: 'bot_message', text: 'Pick' },
        { kind: 'button_press', data: 'a' },
      ],
    });
    expect(text).not.toContain(TOKEN);
  });

  it('answers usage errors with 400 and unknown bots with 404, naming no secret', async () => {
    const badPress = await post('press', {
      token: TOKEN,
      chatId: alice.id,
      messageId: 1,
      data: 'x',
      from: alice,
    });
    expect(badPress.status).toBe(400);
    const unknown = await post('send', {
      token: '555:very-secret',
      chat: privateChat(alice),
      from: alice,
      text: 'hi',
    });
    expect(unknown.status).toBe(404);
    const body = await unknown.text();
    expect(body).toContain('555:***');
    expect(body).not.toContain('very-secret');
  });

  it('refuses a POST from another site (Origin of a different page), and accepts the page’s own', async () => {
    const body = JSON.stringify({ token: TOKEN, chat: privateChat(alice), from: alice, text: 'hi' });
    const post = (origin: string) =>
      fetch(`${tg.apiRoot}/_sandbox/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin },
        body,
      });
    const foreign = await post('http://evil.example');
    expect(foreign.status).toBe(403);
    expect(tg.transcript(TOKEN, alice.id)).toEqual([]);
    const own = await post(tg.apiRoot);
    expect(own.status).toBe(200);
    expect(tg.transcript(TOKEN, alice.id)).toHaveLength(1);
  });
});
