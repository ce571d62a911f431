// grammY's errors as the outbox sees them: a 429 with or without retry_after, any other Bot
// API refusal with its code and description, a network failure; anything else unchanged.
import { GrammyError, HttpError } from 'grammy';
import { describe, expect, it } from 'vitest';
import { classifyTelegramError } from '../../../src/bot/notifications/telegram-notification-chat.js';
import {
  ChatRateLimitedError,
  ChatRefusedError,
  ChatUnreachableError,
} from '../../../src/notifications/notification-chat.js';

const refusal = (error_code: number, description: string, parameters = {}) =>
  new GrammyError(
    `Call to 'sendMessage' failed! (${error_code}: ${description})`,
    { ok: false, error_code, description, parameters },
    'sendMessage',
    { chat_id: 1, text: 'x' },
  );

describe('classifyTelegramError', () => {
  it('a 429 asks to wait retry_after seconds, or an unsaid while', () => {
    const limited = classifyTelegramError(
      refusal(429, 'Too Many Requests: retry after 7', { retry_after: 7 }),
    );
    expect(limited).toBeInstanceOf(ChatRateLimitedError);
    expect(limited).toMatchObject({
      retryAfterSeconds: 7,
      message: '429 Too Many Requests: retry after 7',
    });

    const unsaid = classifyTelegramError(refusal(429, 'Too Many Requests'));
    expect(unsaid).toBeInstanceOf(ChatRateLimitedError);
    expect((unsaid as ChatRateLimitedError).retryAfterSeconds).toBeUndefined();
  });

  it('a blocked bot, a chat never started and a server error are refusals carrying their code', () => {
    for (const [code, description] of [
      [403, 'Forbidden: bot was blocked by the user'],
      [400, 'Bad Request: chat not found'],
      [502, 'Bad Gateway'],
    ] as const) {
      const refused = classifyTelegramError(refusal(code, description));
      expect(refused).toBeInstanceOf(ChatRefusedError);
      expect(refused).toMatchObject({ code, message: `${code} ${description}` });
    }
  });

  it('a network failure is unreachable, with what fetch threw as its cause', () => {
    const cause = new TypeError('fetch failed');
    const unreachable = classifyTelegramError(
      new HttpError("Network request for 'sendMessage' failed!", cause),
    );
    expect(unreachable).toBeInstanceOf(ChatUnreachableError);
    expect(unreachable).toMatchObject({
      message: "network: Network request for 'sendMessage' failed!",
      cause,
    });
  });

  it('anything else is returned unchanged, to be rethrown', () => {
    const other = new RangeError('bug');
    expect(classifyTelegramError(other)).toBe(other);
    expect(classifyTelegramError('a string')).toBe('a string');
  });
});
