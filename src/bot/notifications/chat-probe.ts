import { type Api, GrammyError } from 'grammy';
import type { ChatReachVerdict } from '../../notifications/chat-reach.js';

/**
 * Telegram's "chat not found": a private chat whose user never wrote to this bot (a bot
 * cannot write first), or a group the bot is not in.
 */
export function isChatNotFound(error: unknown): boolean {
  return (
    error instanceof GrammyError && error.error_code === 400 && /chat not found/i.test(error.description)
  );
}

/**
 * Whether the bot may write to a chat, asked without writing to it (getChat). A 403
 * (blocked, kicked) counts as not opened too: the user has to write to the bot again.
 */
export function chatProbe(api: () => Api): (chatId: number) => Promise<ChatReachVerdict> {
  return async (chatId) => {
    try {
      await api().getChat(chatId);
      return { state: 'ok' };
    } catch (error) {
      if (isChatNotFound(error) || (error instanceof GrammyError && error.error_code === 403))
        return { state: 'not opened' };
      return { state: 'unknown', detail: error instanceof Error ? error.message : String(error) };
    }
  };
}
