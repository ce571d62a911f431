// The bot itself and what it knows of chats: getMe, logOut, close, getChat, and its command menus.
import { badRequest, chatNotFound } from '../errors.js';
import type { BotCommand } from '../types.js';
import { type MethodContext, type MethodHandler, targetChat } from './context.js';

const commandScopes = new Set([
  'default',
  'all_private_chats',
  'all_group_chats',
  'all_chat_administrators',
  'chat',
  'chat_administrators',
  'chat_member',
]);

/** The chat a command scope names, refused as the real server refuses it. */
function scopedChat(ctx: MethodContext, chatId: number | string): void {
  const id = Number(chatId);
  if (!Number.isInteger(id) || !ctx.bot.chats.has(id)) throw chatNotFound();
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
  if (scope.type.startsWith('chat')) {
    if (scope.chat_id === undefined) throw badRequest('chat_id is empty');
    // As on Telegram, a chat scope names a chat this bot knows: a private chat whose user
    // never wrote to this bot is "chat not found" (until they open it).
    scopedChat(ctx, scope.chat_id);
  }
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

export const botInfoMethods: Record<string, MethodHandler> = {
  getMe: (ctx) => ctx.bot.user,
  logOut: () => true,
  close: () => true,

  getChat: (ctx) => ({ ...targetChat(ctx).chat, accent_color_id: 0, max_reaction_count: 11 }),

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
