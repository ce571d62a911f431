import type { Transformer } from 'grammy';
import type { Logger } from '../logger.js';

/** What Telegram answers to a callback answer it no longer takes (~10–15 s after the press). */
const TOO_OLD = /query is too old|query ID is invalid/;

/**
 * A button's answer only stops the client's spinner; once Telegram refuses it as too old
 * the work the press asked for may well have been done (a merge, a deploy queued), and the
 * message lugh edits says so. The refusal is logged and counts as answered, so it never
 * fails the update and never makes lugh tell the chat that something went wrong.
 */
export function lateCallbackAnswers(logger: Logger): Transformer {
  return async (prev, method, payload, signal) => {
    const result = await prev(method, payload, signal);
    if (
      method === 'answerCallbackQuery' &&
      !result.ok &&
      result.error_code === 400 &&
      TOO_OLD.test(result.description)
    ) {
      logger.warn(
        { method, description: result.description },
        'callback query answered too late: Telegram no longer takes the answer (the work itself went on)',
      );
      return { ok: true, result: true } as unknown as typeof result;
    }
    return result;
  };
}
