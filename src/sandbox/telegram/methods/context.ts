// What every Bot API method handler receives, and the chat and message it names.
import { badRequest, botBlocked, chatNotFound, groupMigrated } from '../errors.js';
import type { Params } from '../params.js';
import type { RateLimiter } from '../rate-limit.js';
import type { BotState, ChatState } from '../state.js';

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

export const seconds = (ctx: MethodContext): number => Math.floor(ctx.now() / 1000);

/** The chat named by chat_id, refusing unknown chats and users who blocked the bot. */
export function targetChat(ctx: MethodContext): ChatState {
  const raw = ctx.params.string('chat_id');
  if (raw === undefined || raw === '') throw badRequest('chat_id is empty');
  const id = Number(raw);
  // @username addresses public groups and channels; the stand-in's chats have no usernames.
  if (!Number.isInteger(id)) throw chatNotFound();
  const chat = ctx.bot.chats.get(id);
  if (chat?.chat.type === 'private' && ctx.bot.blocked.has(id)) throw botBlocked();
  if (!chat) throw chatNotFound();
  if (chat.migratedTo !== undefined) throw groupMigrated(chat.migratedTo);
  return chat;
}

export function messageId(ctx: MethodContext): number {
  const id = ctx.params.int('message_id');
  if (id === undefined) throw badRequest('message identifier is not specified');
  return id;
}
