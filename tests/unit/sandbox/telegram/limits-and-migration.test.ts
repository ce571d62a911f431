// The stand-in's strictness about message size, edit limits, deleted messages, chat
// migration and webhook URLs, each as the real Bot API behaves.
import { type Bot, GrammyError } from 'grammy';
import { afterEach, describe, expect, it } from 'vitest';
import type { TelegramStandIn } from '../../../../src/sandbox/telegram/index.js';
import { alice, grammyBot, openChat, startWithBot, TOKEN } from './stand-in-fixture.js';

async function apiError(call: Promise<unknown>): Promise<GrammyError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GrammyError);
  return error as GrammyError;
}

describe('Telegram stand-in: limits, deletions, migration, webhook URLs', () => {
  let tg: TelegramStandIn;
  let bot: Bot;
  afterEach(async () => {
    await tg.close();
  });

  it('refuses an edit to more than 4096 characters after entity parsing, and a caption over 1024', async () => {
    tg = await startWithBot();
    bot = grammyBot(tg);
    const chatId = openChat(tg);
    const sent = await bot.api.sendMessage(chatId, 'short');
    const tooLong = await apiError(
      bot.api.editMessageText(chatId, sent.message_id, `<b>${'a'.repeat(4097)}</b>`, { parse_mode: 'HTML' }),
    );
    expect(tooLong).toMatchObject({ error_code: 400, description: 'Bad Request: message is too long' });
    // Tags do not count: 4096 characters of text in a bold tag fit.
    const fits = await bot.api.editMessageText(chatId, sent.message_id, `<b>${'a'.repeat(4096)}</b>`, {
      parse_mode: 'HTML',
    });
    expect(fits).toMatchObject({ text: 'a'.repeat(4096) });
  });

  it('rate-limits edits per chat like sends, with retry_after', async () => {
    tg = await startWithBot({ rateLimits: true, now: () => 1_000_000 });
    bot = grammyBot(tg);
    const chatId = openChat(tg);
    const sent = await bot.api.sendMessage(chatId, 'v0');
    // The clock stands still: the chat's burst (3) is spent by the send and two edits.
    await bot.api.editMessageText(chatId, sent.message_id, 'v1');
    await bot.api.editMessageText(chatId, sent.message_id, 'v2');
    const limited = await apiError(bot.api.editMessageText(chatId, sent.message_id, 'v3'));
    expect(limited.error_code).toBe(429);
    expect(limited.description).toMatch(/^Too Many Requests: retry after \d+$/);
    expect(limited.parameters.retry_after).toBeGreaterThanOrEqual(1);
  });

  it('answers "message to edit not found" once a user deleted the message, without telling the bot', async () => {
    tg = await startWithBot();
    bot = grammyBot(tg);
    const chatId = openChat(tg);
    const sent = await bot.api.sendMessage(chatId, 'CI: running');
    const before = await bot.api.getUpdates({ offset: 0, timeout: 0 });
    tg.deleteMessage(TOKEN, chatId, sent.message_id);
    const error = await apiError(bot.api.editMessageText(chatId, sent.message_id, 'CI: green'));
    expect(error).toMatchObject({ error_code: 400, description: 'Bad Request: message to edit not found' });
    const after = await bot.api.getUpdates({ offset: 0, timeout: 0 });
    expect(after).toEqual(before);
    expect(tg.transcript(TOKEN, chatId).some((e) => e.kind === 'deletion')).toBe(true);
  });

  it('upgrades a group to a supergroup: service messages both sides, and the old id answers 400 with migrate_to_chat_id', async () => {
    tg = await startWithBot();
    bot = grammyBot(tg);
    const group = { id: -5001, type: 'group' as const, title: 'Ops' };
    tg.sendText({ token: TOKEN, chat: group, from: alice, text: 'hello' });
    const newId = tg.migrateGroup(TOKEN, group.id, alice);
    expect(newId).toBe(-1000000005001);

    const updates = await bot.api.getUpdates({ offset: 0, timeout: 0 });
    const service = updates.slice(-2).map((u) => u.message);
    expect(service[0]).toMatchObject({ chat: { id: -5001, type: 'group' }, migrate_to_chat_id: newId });
    expect(service[1]).toMatchObject({
      chat: { id: newId, type: 'supergroup', title: 'Ops' },
      migrate_from_chat_id: -5001,
    });

    const refused = await apiError(bot.api.sendMessage(group.id, 'deploy done'));
    expect(refused).toMatchObject({
      error_code: 400,
      description: 'Bad Request: group chat was upgraded to a supergroup chat',
      parameters: { migrate_to_chat_id: newId },
    });
    const moved = await bot.api.sendMessage(newId, 'deploy done');
    expect(moved.chat).toMatchObject({ id: newId, type: 'supergroup' });
    expect(() => tg.sendText({ token: TOKEN, chat: group, from: alice, text: 'hi' })).toThrow(
      /upgraded to supergroup -1000000005001/,
    );
  });

  it.each([
    ['http://bot.example.com/hook', 'Bad Request: bad webhook: HTTPS url must be provided for webhook'],
    [
      'https://bot.example.com:3000/hook',
      'Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443',
    ],
  ])('refuses the webhook URL %s like the real server', async (url, description) => {
    tg = await startWithBot();
    bot = grammyBot(tg);
    const error = await apiError(bot.api.setWebhook(url));
    expect(error).toMatchObject({ error_code: 400, description });
    await expect(bot.api.setWebhook('https://bot.example.com:8443/hook')).resolves.toBe(true);
  });

  it('keeps the allowed_updates a previous owner of the token set, until a call names others', async () => {
    tg = await startWithBot();
    bot = grammyBot(tg);
    await bot.api.getUpdates({ offset: 0, timeout: 0, allowed_updates: ['message'] });
    const chatId = openChat(tg);
    const sent = await bot.api.sendMessage(chatId, 'pick', {
      reply_markup: { inline_keyboard: [[{ text: 'Yes', callback_data: 'yes' }]] },
    });
    tg.pressButton({ token: TOKEN, chatId, messageId: sent.message_id, data: 'yes', from: alice });
    const without = await bot.api.getUpdates({ offset: 0, timeout: 0 });
    expect(without.some((u) => u.callback_query)).toBe(false);
    // As documented, a new list applies to updates created after the call.
    await bot.api.getUpdates({ offset: 0, timeout: 0, allowed_updates: ['message', 'callback_query'] });
    tg.pressButton({ token: TOKEN, chatId, messageId: sent.message_id, data: 'yes', from: alice });
    const named = await bot.api.getUpdates({ offset: 0, timeout: 0 });
    expect(named.filter((u) => u.callback_query)).toHaveLength(1);
  });
});
