import { badRequest, botBlocked, chatNotFound, webhookConflict } from './errors.js';
import { parseFormattedText } from './formatted-text.js';
import type { FormattedText } from './html.js';
import { mimeTypeOf } from './mime-types.js';
import type { Params } from './params.js';
import type { RateLimiter } from './rate-limit.js';
import { readReplyMarkup } from './reply-markup.js';
import type { BotState, ChatState, StoredFile } from './state.js';
import type { BotCommand, InlineKeyboardMarkup, Message } from './types.js';

/** What a method handler may touch besides its parameters. */
export interface MethodContext {
  bot: BotState;
  params: Params;
  /** Aborted when the caller hangs up, so held polls can be released. */
  signal: AbortSignal;
  now: () => number;
  /** Starts webhook delivery for the bot after its webhook changed. */
  kickWebhook: () => void;
  rateLimiter: RateLimiter | undefined;
}

/** A successful result plus the `description` the real server adds to some answers. */
export class DescribedResult {
  constructor(
    readonly result: unknown,
    readonly description: string,
  ) {}
}

export type MethodHandler = (ctx: MethodContext) => unknown;

const maxTextLength = 4096;
const maxCaptionLength = 1024;
/** The stand-in's choice for how long a callback query may wait for its answer. */
export const callbackQueryLifetimeMs = 15 * 60 * 1000;
const chatActions = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);
const commandScopes = new Set([
  'default',
  'all_private_chats',
  'all_group_chats',
  'all_chat_administrators',
  'chat',
  'chat_administrators',
  'chat_member',
]);

const seconds = (ctx: MethodContext): number => Math.floor(ctx.now() / 1000);

/** The chat named by chat_id, refusing unknown chats and users who blocked the bot. */
function targetChat(ctx: MethodContext): ChatState {
  const raw = ctx.params.string('chat_id');
  if (raw === undefined || raw === '') throw badRequest('chat_id is empty');
  const id = Number(raw);
  // @username addresses public groups and channels; the stand-in's chats have no usernames.
  if (!Number.isInteger(id)) throw chatNotFound();
  const chat = ctx.bot.chats.get(id);
  if (chat?.chat.type === 'private' && ctx.bot.blocked.has(id)) throw botBlocked();
  if (!chat) throw chatNotFound();
  return chat;
}

function messageId(ctx: MethodContext): number {
  const id = ctx.params.int('message_id');
  if (id === undefined) throw badRequest('message identifier is not specified');
  return id;
}

function formatted(ctx: MethodContext, field: 'text' | 'caption'): FormattedText {
  const source = ctx.params.string(field) ?? '';
  const entitiesField = field === 'text' ? 'entities' : 'caption_entities';
  return parseFormattedText(source, ctx.params.string('parse_mode'), ctx.params.json(entitiesField));
}

function messageText(ctx: MethodContext): FormattedText {
  if (!ctx.params.has('text')) throw badRequest('message text is empty');
  const text = formatted(ctx, 'text');
  if (text.text.length === 0) throw badRequest('message text is empty');
  if (text.text.length > maxTextLength) throw badRequest('message is too long');
  return text;
}

function caption(ctx: MethodContext): FormattedText {
  const text = formatted(ctx, 'caption');
  if (text.text.length > maxCaptionLength) throw badRequest('message caption is too long');
  return text;
}

function replyMarkup(ctx: MethodContext, inlineOnly: boolean): InlineKeyboardMarkup | undefined {
  return readReplyMarkup(ctx.params.json('reply_markup', 'reply keyboard markup JSON object'), {
    inlineOnly,
  });
}

function replyTarget(ctx: MethodContext, chat: ChatState): Message | undefined {
  const parameters = ctx.params.json('reply_parameters') as
    | { message_id?: number; allow_sending_without_reply?: boolean }
    | undefined;
  const id = parameters?.message_id ?? ctx.params.int('reply_to_message_id');
  if (id === undefined) return undefined;
  const target = chat.get(id);
  const allowMissing =
    parameters?.allow_sending_without_reply ?? ctx.params.bool('allow_sending_without_reply') ?? false;
  if (!target && !allowMissing) throw badRequest('message to be replied not found');
  if (!target) return undefined;
  const { reply_to_message: _nested, ...shallow } = target;
  return structuredClone(shallow);
}

function withText(message: Message, text: FormattedText, field: 'text' | 'caption'): Message {
  const entitiesField = field === 'text' ? 'entities' : 'caption_entities';
  const next: Message = { ...message };
  delete next[field];
  delete next[entitiesField];
  if (text.text.length > 0) next[field] = text.text;
  if (text.entities.length > 0) next[entitiesField] = text.entities;
  return next;
}

function withMarkup(message: Message, markup: InlineKeyboardMarkup | undefined): Message {
  const next: Message = { ...message };
  delete next.reply_markup;
  if (markup) next.reply_markup = markup;
  return next;
}

/** Sends a bot message into a chat: rate limit, message_id, transcript, waiters. */
function postBotMessage(
  ctx: MethodContext,
  chat: ChatState,
  build: (base: Message) => Message,
  file?: StoredFile,
): Message {
  ctx.rateLimiter?.take(ctx.bot.token, chat.chat.id, chat.chat.type);
  const reply = replyTarget(ctx, chat);
  const base: Message = {
    message_id: chat.takeMessageId(),
    from: ctx.bot.asUser,
    chat: chat.chat,
    date: seconds(ctx),
    ...(reply ? { reply_to_message: reply } : {}),
  };
  const message = withMarkup(build(base), replyMarkup(ctx, false));
  chat.addBotMessage(
    message,
    ctx.now(),
    file && message.document ? { ...message.document, content: Buffer.from(file.content) } : undefined,
  );
  ctx.bot.announce(chat.chat.id, message);
  return message;
}

/** The bot's own message for an edit, with the real server's refusals. */
function editable(ctx: MethodContext): { chat: ChatState; message: Message } {
  if (ctx.params.has('inline_message_id')) throw badRequest('MESSAGE_ID_INVALID');
  const chat = targetChat(ctx);
  const message = chat.get(messageId(ctx));
  if (!message) throw badRequest('message to edit not found');
  if (!chat.isFromBot(message.message_id)) throw badRequest("message can't be edited");
  return { chat, message };
}

function commitEdit(ctx: MethodContext, chat: ChatState, before: Message, after: Message): Message {
  if (sameContent(before, after)) {
    throw badRequest(
      'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    );
  }
  const edited = { ...after, edit_date: seconds(ctx) };
  chat.replaceBotMessage(edited, ctx.now());
  ctx.bot.announce(chat.chat.id, edited);
  return edited;
}

function sameContent(a: Message, b: Message): boolean {
  const content = (m: Message) =>
    canonical([m.text, m.entities ?? [], m.caption, m.caption_entities ?? [], m.reply_markup ?? null]);
  return content(a) === content(b);
}

/** JSON with sorted keys, so equal objects built in different orders compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)),
        )
      : v,
  );
}

function commandsKey(ctx: MethodContext): string {
  const scope = (ctx.params.json('scope', 'BotCommandScope JSON object') ?? { type: 'default' }) as {
    type?: string;
    chat_id?: number | string;
    user_id?: number;
  };
  if (typeof scope.type !== 'string' || !commandScopes.has(scope.type)) {
    throw badRequest('unsupported bot command scope');
  }
  if (scope.type.startsWith('chat') && scope.chat_id === undefined) throw badRequest('chat_id is empty');
  const language = ctx.params.string('language_code') ?? '';
  if (language !== '' && !/^[a-z]{2}$/.test(language)) throw badRequest('invalid language code specified');
  return JSON.stringify([scope.type, String(scope.chat_id ?? ''), scope.user_id ?? '', language]);
}

function readCommands(value: unknown): BotCommand[] {
  if (!Array.isArray(value)) throw badRequest('commands must be an Array');
  if (value.length > 100) throw badRequest('too many commands specified');
  return value.map((item) => {
    const entry = item as Partial<BotCommand> | null;
    if (typeof entry?.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(entry.command)) {
      throw badRequest('BOT_COMMAND_INVALID');
    }
    const description = typeof entry.description === 'string' ? entry.description.trim() : '';
    if (description.length < 1 || description.length > 256)
      throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
    return { command: entry.command, description };
  });
}

function webhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest('bad webhook: Failed to resolve host: Name or service not known');
  }
  // Deliberately lenient: the real server wants HTTPS on ports 80/88/443/8443, tests use plain HTTP.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw badRequest('bad webhook: HTTPS url must be provided for webhook');
  }
  return url.toString();
}

function readAllowedUpdates(ctx: MethodContext): string[] | undefined {
  const value = ctx.params.json('allowed_updates');
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw badRequest("can't parse allowed_updates JSON array");
  }
  return value as string[];
}

function uploadedDocument(ctx: MethodContext): StoredFile {
  const input = ctx.params.file('document');
  if (input === undefined || input === '') throw badRequest('there is no document in the request');
  if (typeof input === 'string') {
    const known = ctx.bot.files.get(input);
    if (known) return known;
    if (/^https?:\/\//i.test(input)) throw badRequest('failed to get HTTP URL content');
    throw badRequest('wrong file identifier/HTTP URL specified');
  }
  if (input.content.length === 0) throw badRequest('file must be non-empty');
  const mimeType = mimeTypeOf(input.filename, input.contentType);
  return ctx.bot.storeFile(input.filename, mimeType, input.content);
}

const handlers: Record<string, MethodHandler> = {
  getMe: (ctx) => ctx.bot.user,
  logOut: () => true,
  close: () => true,

  getUpdates: (ctx) => {
    if (ctx.bot.webhook) throw webhookConflict();
    const limit = Math.min(100, Math.max(1, ctx.params.int('limit') ?? 100));
    return ctx.bot.updates.poll(
      {
        offset: ctx.params.int('offset'),
        limit,
        timeoutSeconds: Math.max(0, ctx.params.int('timeout') ?? 0),
        allowedUpdates: readAllowedUpdates(ctx),
      },
      ctx.signal,
    );
  },

  setWebhook: (ctx) => {
    const raw = ctx.params.string('url') ?? '';
    if (raw === '') return handlers.deleteWebhook!(ctx);
    const url = webhookUrl(raw);
    const secretToken = ctx.params.string('secret_token');
    if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
      throw badRequest('secret token contains unallowed characters');
    }
    const maxConnections = ctx.params.int('max_connections') ?? 40;
    const allowed = readAllowedUpdates(ctx);
    if (allowed !== undefined) ctx.bot.updates.allowedUpdates = allowed;
    if (ctx.params.bool('drop_pending_updates')) ctx.bot.updates.clear();
    const same = ctx.bot.webhook?.url === url;
    ctx.bot.webhook = { url, secretToken, maxConnections: Math.min(100, Math.max(1, maxConnections)) };
    ctx.bot.updates.releaseHeld(webhookConflict());
    ctx.kickWebhook();
    return new DescribedResult(true, same ? 'Webhook is already set' : 'Webhook was set');
  },

  deleteWebhook: (ctx) => {
    const had = ctx.bot.webhook !== undefined;
    ctx.bot.webhook = undefined;
    if (ctx.params.bool('drop_pending_updates')) ctx.bot.updates.clear();
    return new DescribedResult(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
  },

  getWebhookInfo: (ctx) => {
    const webhook = ctx.bot.webhook;
    return {
      url: webhook?.url ?? '',
      has_custom_certificate: false,
      pending_update_count: ctx.bot.updates.size,
      ...(webhook
        ? {
            max_connections: webhook.maxConnections,
            ip_address: '127.0.0.1',
            ...(webhook.lastErrorDate !== undefined
              ? { last_error_date: webhook.lastErrorDate, last_error_message: webhook.lastErrorMessage }
              : {}),
            ...(ctx.bot.updates.allowedUpdates ? { allowed_updates: ctx.bot.updates.allowedUpdates } : {}),
          }
        : {}),
    };
  },

  getChat: (ctx) => ({ ...targetChat(ctx).chat, accent_color_id: 0, max_reaction_count: 11 }),

  sendMessage: (ctx) => {
    const chat = targetChat(ctx);
    const text = messageText(ctx);
    return postBotMessage(ctx, chat, (base) => withText(base, text, 'text'));
  },

  sendDocument: (ctx) => {
    const chat = targetChat(ctx);
    const captionText = caption(ctx);
    const file = uploadedDocument(ctx);
    return postBotMessage(
      ctx,
      chat,
      (base) =>
        withText(
          {
            ...base,
            document: {
              file_id: file.fileId,
              file_unique_id: file.fileUniqueId,
              file_name: file.fileName,
              mime_type: file.mimeType,
              file_size: file.content.length,
            },
          },
          captionText,
          'caption',
        ),
      file,
    );
  },

  getFile: (ctx) => {
    const file = ctx.bot.files.get(ctx.params.string('file_id') ?? '');
    if (!file) throw badRequest('invalid file_id');
    return {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      file_size: file.content.length,
      file_path: file.filePath,
    };
  },

  editMessageText: (ctx) => {
    const { chat, message } = editable(ctx);
    if (message.text === undefined) throw badRequest('there is no text in the message to edit');
    const text = messageText(ctx);
    // Like the real server, an edit without reply_markup drops the inline keyboard.
    return commitEdit(
      ctx,
      chat,
      message,
      withMarkup(withText(message, text, 'text'), replyMarkup(ctx, true)),
    );
  },

  editMessageCaption: (ctx) => {
    const { chat, message } = editable(ctx);
    if (message.document === undefined) throw badRequest('there is no caption in the message to edit');
    const text = caption(ctx);
    return commitEdit(
      ctx,
      chat,
      message,
      withMarkup(withText(message, text, 'caption'), replyMarkup(ctx, true)),
    );
  },

  editMessageReplyMarkup: (ctx) => {
    const { chat, message } = editable(ctx);
    return commitEdit(ctx, chat, message, withMarkup(message, replyMarkup(ctx, true)));
  },

  deleteMessage: (ctx) => {
    const chat = targetChat(ctx);
    if (!chat.deleteMessage(messageId(ctx), ctx.now())) throw badRequest('message to delete not found');
    return true;
  },

  answerCallbackQuery: (ctx) => {
    const id = ctx.params.string('callback_query_id') ?? '';
    const query = ctx.bot.callbackQueries.get(id);
    if (!query || query.answered || ctx.now() - query.createdAt > callbackQueryLifetimeMs) {
      throw badRequest('query is too old and response timeout expired or query ID is invalid');
    }
    const text = ctx.params.string('text');
    if (text !== undefined && text.length > 200) throw badRequest('MESSAGE_TOO_LONG');
    query.answered = true;
    const url = ctx.params.string('url');
    ctx.bot.chats.get(query.chatId)?.record({
      kind: 'callback_answer',
      at: ctx.now(),
      callback_query_id: id,
      ...(text !== undefined ? { text } : {}),
      show_alert: ctx.params.bool('show_alert') ?? false,
      ...(url !== undefined ? { url } : {}),
    });
    return true;
  },

  sendChatAction: (ctx) => {
    const chat = targetChat(ctx);
    const action = ctx.params.string('action') ?? '';
    if (!chatActions.has(action)) throw badRequest('wrong parameter action in request');
    chat.record({ kind: 'chat_action', at: ctx.now(), action });
    return true;
  },

  setMyCommands: (ctx) => {
    const commands = readCommands(ctx.params.json('commands', 'commands JSON array'));
    const key = commandsKey(ctx);
    if (commands.length === 0) ctx.bot.commands.delete(key);
    else ctx.bot.commands.set(key, commands);
    return true;
  },

  getMyCommands: (ctx) => ctx.bot.commands.get(commandsKey(ctx)) ?? [],

  deleteMyCommands: (ctx) => {
    ctx.bot.commands.delete(commandsKey(ctx));
    return true;
  },
};

/** Bot API methods by lower-cased name: the real server matches names case-insensitively. */
export const methods: ReadonlyMap<string, MethodHandler> = new Map(
  Object.entries(handlers).map(([name, handler]) => [name.toLowerCase(), handler]),
);
