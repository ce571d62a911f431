// Answering the callback query an inline keyboard button sent.
import { badRequest } from '../errors.js';
import type { MethodHandler } from './context.js';

/**
 * How long a callback query may wait for its answer, on the stand-in's clock. The real
 * server keeps a query answerable for only a few seconds and then refuses the answer with
 * "query is too old and response timeout expired or query ID is invalid": reported at
 * ~10–15 s by bots that answered after slow work (aiogram_dialog#145, grammy-inline-menu#64,
 * pyTelegramBotAPI#1615), and the Bot API asks bots to answer "even if no notification to
 * the user is needed" because the client shows a progress bar until then
 * (core.telegram.org/bots/api#answercallbackquery). 15 s is the generous end: an answer the
 * stand-in takes may still fail on the real server, one it refuses always would.
 */
export const callbackQueryLifetimeMs = 15_000;

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
