import { type Bot, GrammyError, InlineKeyboard, InputFile } from 'grammy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TelegramStandIn } from '../../../../src/sandbox/telegram/index.js';
import { alice, bob, grammyBot, OTHER_TOKEN, openChat, startWithBot, TOKEN } from './stand-in-fixture.js';

const notModified =
  'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

async function apiError(call: Promise<unknown>): Promise<GrammyError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GrammyError);
  return error as GrammyError;
}

describe('Telegram stand-in: messages', () => {
  let tg: TelegramStandIn;
  let bot: Bot;
  let chatId: number;
  beforeEach(async () => {
    tg = await startWithBot();
    bot = grammyBot(tg);
    chatId = openChat(tg);
  });
  afterEach(async () => {
    await tg.close();
  });

  it('turns HTML into plain text with entities, numbering messages per chat', async () => {
    const message = await bot.api.sendMessage(
      chatId,
      '<b>Deploy</b> of <code>a1b2c3</code> &amp; <a href="https://ci.example/1">CI</a> <tg-spoiler>ok</tg-spoiler>',
      { parse_mode: 'HTML' },
    );
    expect(message.message_id).toBe(2);
    expect(message.text).toBe('Deploy of a1b2c3 & CI ok');
    expect(message.entities).toEqual([
      { type: 'bold', offset: 0, length: 6 },
      { type: 'code', offset: 10, length: 6 },
      { type: 'text_link', offset: 19, length: 2, url: 'https://ci.example/1' },
      { type: 'spoiler', offset: 22, length: 2 },
    ]);
    expect(message.date).toBeCloseTo(Date.now() / 1000, -1);
  });

  it('finds the /commands in a bot message as bot_command entities, as the real server does, but not in code, links or paths', async () => {
    const message = await bot.api.sendMessage(
      chatId,
      'Send /promote or <b>/status@LughDevBot</b>. Not <code>/log</code>, /tmp/x, a/b, https://x.io/docs or <a href="https://x.io">/help</a>.',
      { parse_mode: 'HTML' },
    );
    const commands = (message.entities ?? [])
      .filter((e) => e.type === 'bot_command')
      .map((e) => message.text!.slice(e.offset, e.offset + e.length));
    expect(commands).toEqual(['/promote', '/status@LughDevBot']);
    expect(message.entities).toContainEqual({ type: 'bold', offset: 17, length: 18 });
    const plain = await bot.api.sendMessage(chatId, '/help lists them');
    expect(plain.entities).toEqual([{ type: 'bot_command', offset: 0, length: 5 }]);
  });

  it.each([
    ['<foo>x</foo>', 'Unsupported start tag "foo" at byte offset 0'],
    ['é <b>x', 'Can\'t find end tag corresponding to start tag "b"'],
    ['<b>x</i>', 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'],
    ['1 < 2', 'Unsupported start tag "" at byte offset 2'],
    ['<span>x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'],
    ['x</b>', 'Unexpected end tag at byte offset 1'],
  ])('rejects bad HTML %j with a parse-entities 400', async (text, detail) => {
    const error = await apiError(bot.api.sendMessage(chatId, text, { parse_mode: 'HTML' }));
    expect(error.error_code).toBe(400);
    expect(error.description).toBe(`Bad Request: can't parse entities: ${detail}`);
  });

  it('rejects an unescaped MarkdownV2 reserved character like the real server', async () => {
    const error = await apiError(bot.api.sendMessage(chatId, 'Deployed v1.2', { parse_mode: 'MarkdownV2' }));
    expect(error.description).toBe(
      "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    );
    const ok = await bot.api.sendMessage(chatId, '*Deployed* v1\\.2', { parse_mode: 'MarkdownV2' });
    expect(ok).toMatchObject({ text: 'Deployed v1.2', entities: [{ type: 'bold', offset: 0, length: 8 }] });
  });

  it('limits text to 4096 characters after entity parsing, and refuses empty text', async () => {
    const tooLong = await apiError(bot.api.sendMessage(chatId, 'a'.repeat(4097)));
    expect(tooLong).toMatchObject({ error_code: 400, description: 'Bad Request: message is too long' });
    const tagged = await bot.api.sendMessage(chatId, `<b>${'a'.repeat(4096)}</b>`, { parse_mode: 'HTML' });
    expect(tagged.text).toHaveLength(4096);
    const empty = await apiError(bot.api.sendMessage(chatId, '<b> </b>', { parse_mode: 'HTML' }));
    expect(empty.description).toBe('Bad Request: message text is empty');
  });

  it('answers BUTTON_DATA_INVALID for callback_data over 64 bytes', async () => {
    const fits = new InlineKeyboard().text('ok', 'x'.repeat(64));
    await bot.api.sendMessage(chatId, 'fits', { reply_markup: fits });
    for (const data of ['x'.repeat(65), 'é'.repeat(33)]) {
      const error = await apiError(
        bot.api.sendMessage(chatId, 'too much', { reply_markup: new InlineKeyboard().text('no', data) }),
      );
      expect(error).toMatchObject({ error_code: 400, description: 'Bad Request: BUTTON_DATA_INVALID' });
    }
  });

  it('answers "chat not found" for a chat nobody opened', async () => {
    const error = await apiError(bot.api.sendMessage(424242, 'hello?'));
    expect(error).toMatchObject({ error_code: 400, description: 'Bad Request: chat not found' });
  });

  it('answers "chat not found" per bot: a user who opened a chat with one bot is unknown to another', async () => {
    const other = grammyBot(tg, OTHER_TOKEN);
    tg.registerBot({ token: OTHER_TOKEN, username: 'lugh_other_bot', firstName: 'Other' });
    const notFound = { error_code: 400, description: 'Bad Request: chat not found' };
    // alice opened a chat with the test bot (beforeEach), never with the other bot.
    expect(await apiError(other.api.sendMessage(alice.id, 'hello?'))).toMatchObject(notFound);
    expect(await apiError(other.api.getChat(alice.id))).toMatchObject(notFound);
    expect(await apiError(other.api.sendChatAction(alice.id, 'typing'))).toMatchObject(notFound);
    const menu = [{ command: 'status', description: 'What is deployed' }];
    const scope = { type: 'chat' as const, chat_id: alice.id };
    expect(await apiError(other.api.setMyCommands(menu, { scope }))).toMatchObject(notFound);
    expect(await apiError(other.api.getMyCommands({ scope }))).toMatchObject(notFound);
    // The test bot, whose chat alice opened, may do all of it.
    expect(await bot.api.getChat(alice.id)).toMatchObject({ id: alice.id, type: 'private' });
    expect(await bot.api.setMyCommands(menu, { scope })).toBe(true);
    expect(await bot.api.getMyCommands({ scope })).toEqual(menu);
    // Once alice writes to the other bot, it may write back and set her menu.
    openChat(tg, alice, OTHER_TOKEN);
    expect(await other.api.setMyCommands(menu, { scope })).toBe(true);
    expect(await other.api.getChat(alice.id)).toMatchObject({ id: alice.id });
  });

  it('answers 403 when the user blocked the bot, until the user writes again', async () => {
    const bobChat = openChat(tg, bob);
    tg.blockBot(TOKEN, bob.id);
    const error = await apiError(bot.api.sendMessage(bobChat, 'still there?'));
    expect(error).toMatchObject({ error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    expect(await bot.api.sendMessage(chatId, 'alice is fine')).toMatchObject({ text: 'alice is fine' });
    const updates = await bot.api.getUpdates();
    expect(updates.at(-1)?.my_chat_member?.new_chat_member.status).toBe('kicked');
    tg.sendText({ token: TOKEN, chat: { id: bob.id, type: 'private' }, from: bob, text: '/start' });
    expect(await bot.api.sendMessage(bobChat, 'welcome back')).toMatchObject({ text: 'welcome back' });
  });

  it('edits text and keyboard, refusing an edit that changes nothing', async () => {
    const keyboard = new InlineKeyboard().text('Merge', 'merge');
    const sent = await bot.api.sendMessage(chatId, 'CI running', { reply_markup: keyboard });
    const edited = await bot.api.editMessageText(chatId, sent.message_id, 'CI green', {
      reply_markup: keyboard,
    });
    expect(edited).toMatchObject({
      text: 'CI green',
      reply_markup: { inline_keyboard: [[{ callback_data: 'merge' }]] },
    });
    expect(typeof edited !== 'boolean' && edited.edit_date).toBeGreaterThan(0);
    const same = await apiError(
      bot.api.editMessageText(chatId, sent.message_id, 'CI green', { reply_markup: keyboard }),
    );
    expect(same).toMatchObject({ error_code: 400, description: notModified });
    const markupOnly = await bot.api.editMessageReplyMarkup(chatId, sent.message_id, {
      reply_markup: new InlineKeyboard(),
    });
    expect(markupOnly).not.toHaveProperty('reply_markup');
    const sameMarkup = await apiError(bot.api.editMessageReplyMarkup(chatId, sent.message_id));
    expect(sameMarkup.description).toBe(notModified);
  });

  it('drops the inline keyboard when editMessageText omits reply_markup, like the real server', async () => {
    const sent = await bot.api.sendMessage(chatId, 'Pick', {
      reply_markup: new InlineKeyboard().text('A', 'a'),
    });
    const edited = await bot.api.editMessageText(chatId, sent.message_id, 'Picked');
    expect(edited).not.toHaveProperty('reply_markup');
  });

  it('answers "message to edit not found" and "message to delete not found"', async () => {
    const edit = await apiError(bot.api.editMessageText(chatId, 999, 'nope'));
    expect(edit).toMatchObject({ error_code: 400, description: 'Bad Request: message to edit not found' });
    const sent = await bot.api.sendMessage(chatId, 'short-lived');
    expect(await bot.api.deleteMessage(chatId, sent.message_id)).toBe(true);
    const again = await apiError(bot.api.deleteMessage(chatId, sent.message_id));
    expect(again).toMatchObject({ error_code: 400, description: 'Bad Request: message to delete not found' });
  });

  it('replies to a message with reply_parameters', async () => {
    const reply = await bot.api.sendMessage(chatId, 'on it', { reply_parameters: { message_id: 1 } });
    expect(reply.reply_to_message).toMatchObject({ message_id: 1, text: '/start' });
    const missing = await apiError(
      bot.api.sendMessage(chatId, 'x', { reply_parameters: { message_id: 77 } }),
    );
    expect(missing.description).toBe('Bad Request: message to be replied not found');
  });

  it('round-trips a document upload: metadata, transcript bytes, getFile download and re-send by file_id', async () => {
    const content = Buffer.from('deploy log\nstep 1 ok\n');
    const sent = await bot.api.sendDocument(chatId, new InputFile(content, 'deploy log.txt'), {
      caption: '<b>Log</b> of v1',
      parse_mode: 'HTML',
    });
    expect(sent.document).toMatchObject({
      file_name: 'deploy log.txt',
      mime_type: 'text/plain',
      file_size: 21,
    });
    expect(sent).toMatchObject({
      caption: 'Log of v1',
      caption_entities: [{ type: 'bold', offset: 0, length: 3 }],
    });

    const entry = tg.transcript(TOKEN, chatId).find((e) => e.kind === 'bot_message' && e.document);
    expect(entry?.kind === 'bot_message' && entry.document?.content.toString()).toBe(content.toString());

    const file = await bot.api.getFile(sent.document!.file_id);
    const download = await fetch(`${tg.apiRoot}/file/bot${TOKEN}/${file.file_path}`);
    expect(Buffer.from(await download.arrayBuffer()).equals(content)).toBe(true);

    const again = await bot.api.sendDocument(chatId, sent.document!.file_id);
    expect(again.document?.file_id).toBe(sent.document!.file_id);
  });

  it('takes a photo upload as the Bot API does: PNG or JPEG read, its size in `photo`, bytes kept; other files refused', async () => {
    // A 1×1 PNG.
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
      'base64',
    );
    const sent = await bot.api.sendPhoto(chatId, new InputFile(png, 'chart.png'), {
      caption: '<b>Deploys</b>, 30 days',
      parse_mode: 'HTML',
    });
    expect(sent.photo).toMatchObject([{ width: 1, height: 1, file_size: png.length }]);
    expect(sent).toMatchObject({ caption: 'Deploys, 30 days', caption_entities: [{ type: 'bold' }] });
    const entry = tg.transcript(TOKEN, chatId).find((e) => e.kind === 'bot_message' && e.photo);
    expect(entry?.kind === 'bot_message' && entry.photo?.content.equals(png)).toBe(true);
    // The chat page shows it: served as an image.
    const shown = await fetch(
      `${tg.apiRoot}/_sandbox/document?bot=lugh_test_bot&chatId=${chatId}&messageId=${sent.message_id}`,
    );
    expect(shown.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await shown.arrayBuffer()).equals(png)).toBe(true);
    // Its caption can be edited, as a document's.
    const edited = await bot.api.editMessageCaption(chatId, sent.message_id, { caption: 'Deploys' });
    expect(edited !== true && edited.caption).toBe('Deploys');

    const notImage = await apiError(
      bot.api.sendPhoto(chatId, new InputFile(Buffer.from('not a picture'), 'x.png')),
    );
    expect(notImage.description).toBe('Bad Request: IMAGE_PROCESS_FAILED');
    // 21 × 1: one side more than 20 times the other.
    const thin = Buffer.from(png);
    thin.writeUInt32BE(21, 16);
    const badSize = await apiError(bot.api.sendPhoto(chatId, new InputFile(thin, 'thin.png')));
    expect(badSize.description).toBe('Bad Request: PHOTO_INVALID_DIMENSIONS');
  });

  it('stores commands per scope and language and validates them', async () => {
    const commands = [
      { command: 'promote', description: 'Ship develop to main' },
      { command: 'status', description: 'What is deployed' },
    ];
    expect(await bot.api.setMyCommands(commands)).toBe(true);
    await bot.api.setMyCommands([{ command: 'start', description: 'Hello' }], {
      scope: { type: 'all_private_chats' },
      language_code: 'de',
    });
    expect(await bot.api.getMyCommands()).toEqual(commands);
    expect(await bot.api.getMyCommands({ scope: { type: 'all_private_chats' } })).toEqual([]);
    expect(
      await bot.api.getMyCommands({ scope: { type: 'all_private_chats' }, language_code: 'de' }),
    ).toEqual([{ command: 'start', description: 'Hello' }]);
    const badName = await apiError(bot.api.setMyCommands([{ command: 'Promote!', description: 'x' }]));
    expect(badName.description).toBe('Bad Request: BOT_COMMAND_INVALID');
    const badDescription = await apiError(bot.api.setMyCommands([{ command: 'ok', description: '' }]));
    expect(badDescription.error_code).toBe(400);
    await bot.api.deleteMyCommands();
    expect(await bot.api.getMyCommands()).toEqual([]);
  });

  it('resolves waitForBotMessage on an edit made after the call', async () => {
    const sent = await bot.api.sendMessage(chatId, 'Working…');
    const waiting = tg.waitForBotMessage(TOKEN, chatId, (m) => m.text === 'Done');
    await bot.api.editMessageText(chatId, sent.message_id, 'Done');
    const message = await waiting;
    expect(message).toMatchObject({ message_id: sent.message_id, text: 'Done' });
    expect(message.edit_date).toBeGreaterThan(0);
  });

  it('resolves waitForBotMessage at once on a matching message that already exists', async () => {
    await bot.api.sendMessage(chatId, 'already here');
    await expect(
      tg.waitForBotMessage(TOKEN, chatId, (m) => m.text === 'already here'),
    ).resolves.toMatchObject({
      text: 'already here',
    });
  });

  it('rejects waitForBotMessage on timeout with the transcript in the message', async () => {
    await bot.api.sendMessage(chatId, 'something else');
    const error = await tg
      .waitForBotMessage(TOKEN, chatId, (m) => m.text === 'never', { timeoutMs: 100 })
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('within 100 ms');
    expect((error as Error).message).toContain('user #1 Alice: "/start"');
    expect((error as Error).message).toContain('bot #2: "something else"');
  });

  it('keeps a transcript with edit history, chat actions and deletions', async () => {
    await bot.api.sendChatAction(chatId, 'typing');
    const sent = await bot.api.sendMessage(chatId, 'v1', {
      reply_markup: new InlineKeyboard().text('Go', 'go'),
    });
    await bot.api.editMessageText(chatId, sent.message_id, 'v2', {
      reply_markup: new InlineKeyboard().text('Go', 'go'),
    });
    await bot.api.editMessageText(chatId, sent.message_id, 'v3');
    const doomed = await bot.api.sendMessage(chatId, 'temporary');
    await bot.api.deleteMessage(chatId, doomed.message_id);

    const transcript = tg.transcript(TOKEN, chatId);
    expect(transcript.map((e) => e.kind)).toEqual([
      'user_message',
      'chat_action',
      'bot_message',
      'bot_message',
      'deletion',
    ]);
    const edited = transcript[2]!;
    expect(edited).toMatchObject({
      kind: 'bot_message',
      text: 'v3',
      original: { text: 'v1', reply_markup: { inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] } },
      edits: [{ text: 'v2', reply_markup: { inline_keyboard: [[{ text: 'Go' }]] } }, { text: 'v3' }],
      deleted: false,
    });
    expect(edited.kind === 'bot_message' && edited.reply_markup).toBeFalsy();
    expect(transcript[3]).toMatchObject({ kind: 'bot_message', text: 'temporary', deleted: true });
    expect(transcript[1]).toMatchObject({ kind: 'chat_action', action: 'typing' });
  });

  it('enforces send rate limits only when asked to', async () => {
    for (let i = 0; i < 5; i++) await bot.api.sendMessage(chatId, `unlimited ${i}`);
    const limited = await startWithBot({ rateLimits: true });
    try {
      const limitedBot = grammyBot(limited);
      const limitedChat = openChat(limited);
      for (let i = 0; i < 3; i++) await limitedBot.api.sendMessage(limitedChat, `burst ${i}`);
      const error = await apiError(limitedBot.api.sendMessage(limitedChat, 'one too many'));
      expect(error).toMatchObject({ error_code: 429, parameters: { retry_after: 1 } });
    } finally {
      await limited.close();
    }
  });
});
