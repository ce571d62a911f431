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
