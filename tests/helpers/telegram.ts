// Small moves on the Telegram stand-in that many tests make.
import type { TelegramStandIn } from '../../src/sandbox/telegram/index.js';

/**
 * The user sends the bot /start in a private chat: from then on the bot may write to them
 * (the stand-in, like Telegram, refuses a bot's message to someone who never wrote to it).
 */
export function openChat(
  tg: TelegramStandIn,
  token: string,
  user: { readonly id: number; readonly first_name: string },
): void {
  tg.sendText({ token, chat: { id: user.id, type: 'private' }, from: user, text: '/start' });
}
