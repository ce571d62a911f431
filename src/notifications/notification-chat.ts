/** A message the chat took: its id, recorded so a notice sent outside the outbox can be recorded as sent. */
export interface SentNotice {
  readonly messageId: number;
}

/**
 * The one thing notifications need from a chat service: send an HTML text to a chat. An
 * implementation must not retry by itself (the outbox records the wait and sends other
 * rows meanwhile), must give up on a hanging call within seconds, must stop when `signal`
 * aborts, and throws the errors below for what it recognises (anything else is rethrown
 * as it is and counted as a refusal).
 */
export interface NotificationChat {
  send(chatId: number, html: string, signal?: AbortSignal): Promise<SentNotice>;
}

/** The chat asks to wait (HTTP 429): not a refusal of the message, only of this moment. */
export class ChatRateLimitedError extends Error {
  override name = 'ChatRateLimitedError';
  constructor(
    description: string,
    /** How long the chat asked to wait; undefined when it did not say. */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(`429 ${description}`);
  }
}

/** The chat refused the message: a user who blocked the bot, a chat that does not exist, an error of the service. */
export class ChatRefusedError extends Error {
  override name = 'ChatRefusedError';
  constructor(
    readonly code: number,
    description: string,
  ) {
    super(`${code} ${description}`);
  }
}

/** The chat service could not be reached (network, timeout). */
export class ChatUnreachableError extends Error {
  override name = 'ChatUnreachableError';
  constructor(detail: string, options?: ErrorOptions) {
    super(`network: ${detail}`, options);
  }
}

/**
 * Telegram's answer for a chat this bot may not write to yet: a private chat whose user
 * never wrote to the bot (a bot cannot write first), or a group the bot is not in. Not a
 * refusal of the message: it waits for the chat to open (see outbox-sender.ts).
 */
export function isChatNotOpened(error: unknown): boolean {
  return error instanceof ChatRefusedError && error.code === 400 && /chat not found/i.test(error.message);
}

/** The same, read from a refusal the outbox recorded (`last_error`). */
export const CHAT_NOT_OPENED = /^400 Bad Request: chat not found/;
