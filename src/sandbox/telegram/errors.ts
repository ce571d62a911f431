/** A Bot API failure, rendered as the real `{ ok: false, error_code, description }` envelope. */
export class BotApiError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number; migrate_to_chat_id?: number },
  ) {
    super(description);
    this.name = 'BotApiError';
  }

  /** The JSON body the real server sends for this error. */
  toEnvelope(): Record<string, unknown> {
    return {
      ok: false,
      error_code: this.errorCode,
      description: this.description,
      ...(this.parameters ? { parameters: this.parameters } : {}),
    };
  }
}

/** 400 with the real server's `Bad Request: ` prefix. */
export function badRequest(detail: string): BotApiError {
  return new BotApiError(400, `Bad Request: ${detail}`);
}

/** 400 for entity parsing, phrased like the real server (`can't parse entities: ...`). */
export function cantParseEntities(detail: string): BotApiError {
  return badRequest(`can't parse entities: ${detail}`);
}

export const unauthorized = (): BotApiError => new BotApiError(401, 'Unauthorized');
export const notFound = (): BotApiError => new BotApiError(404, 'Not Found');
export const botBlocked = (): BotApiError => new BotApiError(403, 'Forbidden: bot was blocked by the user');
export const chatNotFound = (): BotApiError => badRequest('chat not found');

/**
 * What the real server answers for a group that became a supergroup: its old id refuses
 * every call, naming the new one (Bot API, ResponseParameters.migrate_to_chat_id).
 */
export const groupMigrated = (newId: number): BotApiError =>
  new BotApiError(400, 'Bad Request: group chat was upgraded to a supergroup chat', {
    migrate_to_chat_id: newId,
  });

export const webhookConflict = (): BotApiError =>
  new BotApiError(
    409,
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
  );

export const pollerConflict = (): BotApiError =>
  new BotApiError(
    409,
    'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
  );

/** 429 carrying `retry_after` in both the body and the Retry-After header. */
export function tooManyRequests(retryAfter: number): BotApiError {
  return new BotApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
}

const statusText: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A server-side failure with the given 5xx status. */
export function serverError(status: number): BotApiError {
  return new BotApiError(status, statusText[status] ?? 'Internal Server Error');
}
