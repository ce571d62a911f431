// Answering the callback query an inline keyboard button sent.
import { badRequest } from '../errors.js';
import type { MethodHandler } from './context.js';

/** The stand-in's choice for how long a callback query may wait for its answer. */
export const callbackQueryLifetimeMs = 15 * 60 * 1000;

export const callbackMethods: Record<string, MethodHandler> = {
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
};
