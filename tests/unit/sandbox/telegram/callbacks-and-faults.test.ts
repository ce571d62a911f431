import { GrammyError, HttpError, InlineKeyboard } from 'grammy';
import { afterEach, describe, expect, it } from 'vitest';
import type { TelegramStandIn } from '../../../../src/sandbox/telegram/index.js';
import {
  alice,
  grammyBot,
  openChat,
  privateChat,
  startPolling,
  startWithBot,
  TOKEN,
} from './stand-in-fixture.js';

const tooOld = 'Bad Request: query is too old and response timeout expired or query ID is invalid';

describe('Telegram stand-in: callback queries', () => {
  let tg: TelegramStandIn | undefined;
  afterEach(async () => {
    await tg?.close();
  });

  it('turns a button press into a callback_query the bot answers once; a second answer is too old', async () => {
    tg = await startWithBot();
    const bot = grammyBot(tg);
    bot.command('promote', (ctx) =>
      ctx.reply('Merge develop into main?', { reply_markup: new InlineKeyboard().text('Merge', 'merge:42') }),
    );
    bot.callbackQuery('merge:42', async (ctx) => {
      await ctx.answerCallbackQuery({ text: 'Merging…' });
      await ctx.editMessageText('Merged');
    });
    const polling = await startPolling(bot);
    try {
      tg.sendText({ token: TOKEN, chat: privateChat(alice), from: alice, text: '/promote' });
      const question = await tg.waitForBotMessage(
        TOKEN,
        alice.id,
        (m) => m.text === 'Merge develop into main?',
      );
      expect(() =>
        tg!.pressButton({
          token: TOKEN,
          chatId: alice.id,
          messageId: question.message_id,
          data: 'nope',
          from: alice,
        }),
      ).toThrow(/no button with callback_data "nope"/);
      const queryId = tg.pressButton({
        token: TOKEN,
        chatId: alice.id,
        messageId: question.message_id,
        data: 'merge:42',
        from: alice,
      });
      await tg.waitForBotMessage(TOKEN, alice.id, (m) => m.text === 'Merged');
      expect(tg.transcript(TOKEN, alice.id)).toContainEqual(
        expect.objectContaining({ kind: 'callback_answer', callback_query_id: queryId, text: 'Merging…' }),
      );
      const again = await bot.api.answerCallbackQuery(queryId).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(GrammyError);
      expect(again).toMatchObject({ error_code: 400, description: tooOld });
    } finally {
      await polling.stop();
    }
  });

  it('refuses to answer a query older than 15 seconds on the injected clock, with Telegram’s error text', async () => {
    let clock = Date.parse('2030-01-01T12:00:00Z');
    tg = await startWithBot({ now: () => clock });
    const bot = grammyBot(tg);
    const chatId = openChat(tg);
    const sent = await bot.api.sendMessage(chatId, 'Deploy?', {
      reply_markup: new InlineKeyboard().text('Yes', 'yes').text('No', 'no'),
    });
    expect(sent.date).toBe(Date.parse('2030-01-01T12:00:00Z') / 1000);
    const press = (data: string) =>
      tg!.pressButton({ token: TOKEN, chatId, messageId: sent.message_id, data, from: alice });
    const queryId = press('yes');
    const updates = await bot.api.getUpdates();
    expect(updates.at(-1)?.callback_query).toMatchObject({
      id: queryId,
      data: 'yes',
      message: { text: 'Deploy?' },
    });
    clock += 15_000 + 1;
    const error = await bot.api.answerCallbackQuery(queryId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrammyError);
    expect(error).toMatchObject({ error_code: 400, description: tooOld });

    // Up to 15 s the answer is taken.
    const inTime = press('no');
    clock += 15_000;
    expect(await bot.api.answerCallbackQuery(inTime, { text: 'Cancelled' })).toBe(true);
  });
});

describe('Telegram stand-in: injected faults', () => {
  let tg: TelegramStandIn;
  afterEach(async () => {
    await tg.close();
  });

  it('answers 429 with retry_after in the body and the Retry-After header, then recovers', async () => {
    tg = await startWithBot();
    const bot = grammyBot(tg);
    const chatId = openChat(tg);
    tg.injectFault({ token: TOKEN, method: 'sendMessage', kind: '429', retryAfter: 7 });
    const error = await bot.api.sendMessage(chatId, 'hi').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrammyError);
    expect(error).toMatchObject({
      error_code: 429,
      description: 'Too Many Requests: retry after 7',
      parameters: { retry_after: 7 },
    });
    expect(await bot.api.sendMessage(chatId, 'hi')).toMatchObject({ text: 'hi' });

    tg.injectFault({ method: 'sendmessage', kind: '429', retryAfter: 3 });
    const raw = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: chatId, text: 'x' }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('3');
  });

  it('with a chat id, holds up only the calls to that chat', async () => {
    tg = await startWithBot();
    const bot = grammyBot(tg);
    const chatId = openChat(tg);
    const group = -4242;
    tg.sendText({
      token: TOKEN,
      chat: { id: group, type: 'group', title: 'ops' },
      from: alice,
      text: '/start',
    });
    tg.injectFault({ token: TOKEN, method: 'sendMessage', kind: '429', retryAfter: 4, chatId: group });
    expect(await bot.api.sendMessage(chatId, 'to alice')).toMatchObject({ text: 'to alice' });
    const error = await bot.api.sendMessage(group, 'to the group').catch((e: unknown) => e);
    expect(error).toMatchObject({ error_code: 429, parameters: { retry_after: 4 } });
    expect(await bot.api.sendMessage(group, 'to the group')).toMatchObject({ text: 'to the group' });
  });

  it('answers 5xx the given number of times', async () => {
    tg = await startWithBot();
    const bot = grammyBot(tg);
    tg.injectFault({ method: 'getMe', kind: '5xx', status: 502, times: 2 });
    for (let i = 0; i < 2; i++) {
      const error = await bot.api.getMe().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GrammyError);
      expect(error).toMatchObject({ error_code: 502, description: 'Bad Gateway' });
    }
    expect(await bot.api.getMe()).toMatchObject({ username: 'lugh_test_bot' });
  });

  it('never answers a hung call, so the client times out; close() still finishes', async () => {
    tg = await startWithBot();
    const bot = grammyBot(tg, TOKEN, 1);
    const chatId = openChat(tg);
    tg.injectFault({ method: 'sendMessage', kind: 'hang' });
    const error = await bot.api.sendMessage(chatId, 'into the void').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(String((error as HttpError).error)).toContain('timed out after 1 seconds');
    tg.injectFault({ method: 'sendMessage', kind: 'hang' });
    const pending = grammyBot(tg)
      .api.sendMessage(chatId, 'held until close')
      .catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await tg.close();
    expect(await pending).toBeInstanceOf(HttpError);
  });
});
