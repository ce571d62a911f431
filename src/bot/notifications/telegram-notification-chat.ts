import { Api, GrammyError, HttpError } from 'grammy';
import type { Config } from '../../config/index.js';
import type { ChatMigrations } from '../../notifications/chat-migrations.js';
import {
  ChatRateLimitedError,
  ChatRefusedError,
  ChatUnreachableError,
  type NotificationChat,
} from '../../notifications/notification-chat.js';
import { redactOutgoing } from '../redact-outgoing.js';
import { stagingMarker } from '../staging-marker.js';
import { migratedTo } from '../telegram-errors.js';
import { renderChatMove } from './chat-move-text.js';

/**
 * Turns what grammY threw into the notification chat's named errors, so the outbox
 * branches on type. Anything unrecognised is returned unchanged, to be rethrown.
 */
export function classifyTelegramError(error: unknown): unknown {
  if (error instanceof GrammyError) {
    if (error.error_code !== 429) return new ChatRefusedError(error.error_code, error.description);
    const seconds = error.parameters?.retry_after;
    return new ChatRateLimitedError(error.description, typeof seconds === 'number' ? seconds : undefined);
  }
  if (error instanceof HttpError) return new ChatUnreachableError(error.message, { cause: error.error });
  return error;
}

/**
 * The chat notifications are sent to, over its own Api. Unlike the bot's Api
 * (create-bot.ts) it has no auto-retry: auto-retry would wait out a 429 (up to 60 s)
 * inside the call, holding every other row behind it, and forget the wait on a restart.
 * The outbox records retry_after as the row's next attempt and sends the other rows
 * meanwhile. A short request timeout for the same reason: a hanging Bot API costs one row
 * 10 s, not the whole loop. The staging marker is kept: every message of the staging bot
 * says it is staging.
 */
export function createNotificationChat(
  config: Pick<Config, 'telegram' | 'isStaging'>,
  redact: (text: string) => string,
  migrations?: ChatMigrations,
): NotificationChat {
  const api = new Api(config.telegram.token, { apiRoot: config.telegram.apiRoot, timeoutSeconds: 10 });
  api.config.use(redactOutgoing(redact));
  api.config.use(stagingMarker(config.isStaging));
  const send = async (chatId: number, html: string, signal?: AbortSignal) =>
    api.sendMessage(
      chatId,
      html,
      { parse_mode: 'HTML', link_preview_options: { is_disabled: true } },
      // grammY types its signal with the abort-controller shim; the platform's is what it uses.
      signal as Parameters<Api['sendMessage']>[3],
    );
  return {
    async send(chatId, html, signal) {
      const target = (await migrations?.current(chatId)) ?? chatId;
      try {
        const sent = await send(target, html, signal);
        return { messageId: sent.message_id };
      } catch (error) {
        const to = migrations ? migratedTo(error) : undefined;
        if (to === undefined || !migrations) throw classifyTelegramError(error);
        // The group became a supergroup while lugh was not listening: follow it, say so there.
        try {
          const move = await migrations.follow(target, to);
          if (move.isNew && move.settings.length > 0) await send(to, renderChatMove(move), signal);
          const sent = await send(to, html, signal);
          return { messageId: sent.message_id };
        } catch (again) {
          throw classifyTelegramError(again);
        }
      }
    },
  };
}
