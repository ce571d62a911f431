import { createHash } from 'node:crypto';
import type { BotState } from './state.js';
import type {
  Chat,
  Message,
  MessageEntity,
  SandboxChannel,
  SandboxChat,
  SandboxUser,
  SenderChat,
  User,
} from './types.js';

/** A misuse of the sandbox's user-side operations (not a Bot API error). */
export class SandboxUsageError extends Error {
  override name = 'SandboxUsageError';
}

/** A user-side call named a token no bot was registered with. */
export class UnknownBotError extends SandboxUsageError {
  override name = 'UnknownBotError';
}

export interface SendTextInput {
  token: string;
  chat: SandboxChat;
  from: SandboxUser;
  text: string;
  /**
   * Sent as the group itself (`'group'`: an admin with "Remain anonymous" on) or on behalf
   * of a channel. As the real server does, the update then hides the person: `from` is
   * GroupAnonymousBot or Channel_Bot and `sender_chat` names the group or the channel.
   */
  sendAs?: 'group' | SandboxChannel;
}

/** Who the Bot API says sent a message written anonymously as a group, or as a channel. */
export const GROUP_ANONYMOUS_BOT: User = {
  id: 1087968824,
  is_bot: true,
  first_name: 'Group',
  username: 'GroupAnonymousBot',
};
export const CHANNEL_BOT: User = {
  id: 136817688,
  is_bot: true,
  first_name: 'Channel',
  username: 'Channel_Bot',
};

export interface PressButtonInput {
  token: string;
  chatId: number;
  messageId: number;
  data: string;
  from: SandboxUser;
}

const asUser = (from: SandboxUser): User => ({ ...from, is_bot: false });

/**
 * A user's message to the bot. Writing to a bot unblocks it, as pressing Restart does in
 * the real clients, so a previously blocked user can be sent to again.
 */
export function sendUserText(bot: BotState, input: SendTextInput): Message {
  const { chat: target, from, text } = input;
  if (typeof text !== 'string' || text.length === 0)
    throw new SandboxUsageError('sendText: text must be non-empty');
  if (text.length > 4096) throw new SandboxUsageError('sendText: text is longer than 4096 characters');
  if (!Number.isInteger(target?.id) || !Number.isInteger(from?.id) || typeof from.first_name !== 'string') {
    throw new SandboxUsageError('sendText: chat.id, from.id and from.first_name are required');
  }
  if (target.type === 'private' && target.id !== from.id) {
    throw new SandboxUsageError(
      `sendText: a private chat's id is its user's id (chat ${target.id}, from ${from.id})`,
    );
  }
  if (input.sendAs !== undefined && target.type === 'private') {
    throw new SandboxUsageError('sendText: only in a group can one write as the group or a channel');
  }
  if (typeof input.sendAs === 'object' && !(Number.isInteger(input.sendAs.id) && input.sendAs.id < 0)) {
    throw new SandboxUsageError(`sendText: channel ids are negative (got ${input.sendAs.id})`);
  }
  if (target.type !== 'private' && target.id >= 0) {
    throw new SandboxUsageError(`sendText: group chat ids are negative (got ${target.id})`);
  }
  const upgraded = bot.chats.get(target.id)?.migratedTo;
  if (upgraded !== undefined) {
    throw new SandboxUsageError(
      `sendText: group ${target.id} was upgraded to supergroup ${upgraded}; write there instead`,
    );
  }
  const chat = bot.chatFor(target, from);
  if (target.type === 'private' && bot.blocked.delete(from.id)) {
    pushMembership(bot, chat.chat, from, 'kicked', 'member');
  }
  const entities = commandEntities(text);
  const sender = senderOf(input, chat.chat);
  const message: Message = {
    message_id: chat.takeMessageId(),
    ...sender,
    chat: chat.chat,
    date: Math.floor(bot.now() / 1000),
    text,
    ...(entities.length > 0 ? { entities } : {}),
  };
  chat.addUserMessage(message, from, bot.now());
  bot.updates.push({ message: structuredClone(message) });
  return structuredClone(message);
}

/** `from` and `sender_chat` of a message as the real server fills them in. */
function senderOf(input: SendTextInput, chat: Chat): { from: User; sender_chat?: SenderChat } {
  const as = input.sendAs;
  if (as === undefined) return { from: asUser(input.from) };
  if (as === 'group') {
    const title = chat.title ?? `Group ${chat.id}`;
    return { from: { ...GROUP_ANONYMOUS_BOT }, sender_chat: { id: chat.id, type: chat.type, title } };
  }
  return {
    from: { ...CHANNEL_BOT },
    sender_chat: {
      id: as.id,
      type: 'channel',
      title: as.title,
      ...(as.username ? { username: as.username } : {}),
    },
  };
}

/** A tap on an inline button: queues a callback_query update and returns its id. */
export function pressInlineButton(bot: BotState, input: PressButtonInput): string {
  const chat = bot.chats.get(input.chatId);
  if (!chat)
    throw new SandboxUsageError(
      `pressButton: chat ${input.chatId} has no messages from @${bot.user.username}`,
    );
  const message = chat.get(input.messageId);
  if (!message || !chat.isFromBot(input.messageId)) {
    throw new SandboxUsageError(`pressButton: no bot message ${input.messageId} in chat ${input.chatId}`);
  }
  const buttons = message.reply_markup?.inline_keyboard.flat() ?? [];
  if (!buttons.some((button) => button.callback_data === input.data)) {
    const offered = buttons.map((button) => JSON.stringify(button.callback_data ?? button.text)).join(', ');
    throw new SandboxUsageError(
      `pressButton: message ${input.messageId} has no button with callback_data ${JSON.stringify(input.data)} (buttons: ${offered || 'none'})`,
    );
  }
  const id = bot.nextCallbackQueryId();
  bot.callbackQueries.set(id, { chatId: input.chatId, createdAt: bot.now(), answered: false });
  chat.record({
    kind: 'button_press',
    at: bot.now(),
    callback_query_id: id,
    message_id: input.messageId,
    data: input.data,
    from: input.from,
  });
  bot.updates.push({
    callback_query: {
      id,
      from: asUser(input.from),
      message: structuredClone(message),
      chat_instance: chatInstance(bot.user.id, input.chatId),
      data: input.data,
    },
  });
  return id;
}

/** The user blocks the bot: later sends to their private chat answer 403. */
export function blockBotByUser(bot: BotState, userId: number): void {
  if (bot.blocked.has(userId)) return;
  bot.blocked.add(userId);
  const chat = bot.chats.get(userId);
  if (chat?.chat.type === 'private') {
    pushMembership(
      bot,
      chat.chat,
      { id: userId, first_name: chat.chat.first_name ?? '' },
      'member',
      'kicked',
    );
  }
}

/**
 * A user deletes one of the bot's messages (for everyone). The bot is not told, as on the
 * real server: its next edit answers 400 "message to edit not found".
 */
export function deleteMessageByUser(bot: BotState, chatId: number, messageId: number): void {
  const chat = bot.chats.get(chatId);
  if (!chat?.get(messageId)) {
    throw new SandboxUsageError(`deleteMessage: no message ${messageId} in chat ${chatId}`);
  }
  chat.deleteMessage(messageId, bot.now());
}

/**
 * An admin upgrades a group to a supergroup (as Telegram does when history is made visible
 * to new members, or a group grows): the supergroup has a new id, and, as on the real
 * server, the bot gets a service message with `migrate_to_chat_id` in the old group and one
 * with `migrate_from_chat_id` in the new supergroup; the old id then answers every call
 * with 400 "group chat was upgraded to a supergroup chat" and `parameters.migrate_to_chat_id`.
 */
export function migrateGroup(bot: BotState, groupId: number, from: SandboxUser): number {
  const old = bot.chats.get(groupId);
  if (old?.chat.type !== 'group') {
    throw new SandboxUsageError(`migrateGroup: chat ${groupId} is not a group @${bot.user.username} is in`);
  }
  if (old.migratedTo !== undefined) {
    throw new SandboxUsageError(`migrateGroup: group ${groupId} was already upgraded to ${old.migratedTo}`);
  }
  // Supergroup ids are -100 followed by the channel id.
  const newId = Number(`-100${String(-groupId).padStart(10, '0')}`);
  const title = old.chat.title ?? `Group ${groupId}`;
  const supergroup = bot.chatFor({ id: newId, type: 'supergroup', title }, from);
  const date = Math.floor(bot.now() / 1000);
  const leaving: Message = {
    message_id: old.takeMessageId(),
    from: asUser(from),
    chat: old.chat,
    date,
    migrate_to_chat_id: newId,
  };
  old.addUserMessage(leaving, from, bot.now());
  old.migratedTo = newId;
  bot.updates.push({ message: structuredClone(leaving) });
  const arriving: Message = {
    message_id: supergroup.takeMessageId(),
    from: asUser(from),
    chat: supergroup.chat,
    date,
    migrate_from_chat_id: groupId,
  };
  supergroup.addUserMessage(arriving, from, bot.now());
  bot.updates.push({ message: structuredClone(arriving) });
  return newId;
}

/** The my_chat_member update the real server sends when a user blocks or unblocks a bot. */
function pushMembership(bot: BotState, chat: Chat, from: SandboxUser, before: string, after: string): void {
  bot.updates.push({
    my_chat_member: {
      chat,
      from: asUser(from),
      date: Math.floor(bot.now() / 1000),
      old_chat_member: { status: before, user: bot.asUser },
      new_chat_member: { status: after, user: bot.asUser, ...(after === 'kicked' ? { until_date: 0 } : {}) },
    },
  });
}

/** A leading /command (or /command@bot) is a bot_command entity, as clients mark it. */
function commandEntities(text: string): MessageEntity[] {
  const match = /^\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?/.exec(text);
  return match ? [{ type: 'bot_command', offset: 0, length: match[0].length }] : [];
}

/** Stable per bot and chat, like the real chat_instance. */
function chatInstance(botId: number, chatId: number): string {
  return createHash('sha256').update(`${botId}:${chatId}`).digest().readBigInt64BE().toString();
}
