import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Bot, BotError } from 'grammy';
import type { Update } from 'grammy/types';
import type { Logger } from '../logger.js';
import type { BotContext } from './context.js';

/** POST /webhooks/telegram. */
export type TelegramWebhookHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface TelegramWebhook {
  readonly handle: TelegramWebhookHandler;
  /**
   * Takes no more deliveries (503: Telegram sends them again, to the instance that takes
   * over) and waits for the updates being handled.
   */
  close(): Promise<void>;
}

/** Far above any update Telegram sends; a bigger body is not an update. */
const MAX_BODY_BYTES = 1_000_000;

function reply(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function secretMatches(header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header);
  const wanted = Buffer.from(secret);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

async function readUpdate(req: IncomingMessage): Promise<Update | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    const update = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Update;
    return Number.isInteger(update?.update_id) ? update : undefined;
  } catch {
    return undefined;
  }
}

/** The chat (or else the user) an update belongs to: its updates are handled in order. */
function orderKey(update: Update): string {
  const payload = Object.values(update).find((value) => typeof value === 'object' && value !== null) as
    | { chat?: { id?: number }; message?: { chat?: { id?: number } }; from?: { id?: number } }
    | undefined;
  const chatId = payload?.chat?.id ?? payload?.message?.chat?.id;
  if (chatId !== undefined) return `chat:${chatId}`;
  return payload?.from?.id !== undefined ? `user:${payload.from.id}` : 'other';
}

/**
 * Telegram's webhook, answered before the update is handled. Telegram counts a delivery
 * that is not answered in time as failed and sends the update again, and grammY's
 * `webhookCallback` answers 500 after 10 s: a merge or a /doctor takes longer. So the
 * update is checked (secret, shape), answered 200 at once, and handled here, in order per
 * chat as Telegram itself delivers them; a redelivery is still recognized by the
 * once-per-update claim. A failure goes to the bot's error handler, as with long polling.
 */
export function createTelegramWebhook(
  bot: Bot<BotContext>,
  options: { readonly secret: string; readonly logger: Logger },
): TelegramWebhook {
  const { logger } = options;
  const chains = new Map<string, Promise<void>>();
  let closed = false;

  const handleOne = async (update: Update): Promise<void> => {
    try {
      if (!bot.isInited()) await bot.init();
      await bot.handleUpdate(update);
    } catch (error) {
      if (!(error instanceof BotError)) {
        logger.error({ err: error, updateId: update.update_id }, 'webhook update failed');
        return;
      }
      try {
        await bot.errorHandler(error as BotError<BotContext>);
      } catch (again) {
        logger.error({ err: again, updateId: update.update_id }, 'the error handler failed');
      }
    }
  };

  const enqueue = (update: Update): void => {
    const key = orderKey(update);
    const next = (chains.get(key) ?? Promise.resolve()).then(() => handleOne(update));
    chains.set(key, next);
    void next.finally(() => {
      if (chains.get(key) === next) chains.delete(key);
    });
  };

  return {
    async handle(req, res) {
      if (!secretMatches(req.headers['x-telegram-bot-api-secret-token'], options.secret)) {
        req.resume();
        reply(res, 401, { error: 'wrong or missing X-Telegram-Bot-Api-Secret-Token' });
        return;
      }
      if (closed) {
        req.resume();
        reply(res, 503, { error: 'this instance is stopping; Telegram will deliver the update again' });
        return;
      }
      const update = await readUpdate(req);
      if (!update) {
        reply(res, 400, { error: 'not a Telegram update (a JSON object with an update_id)' });
        return;
      }
      enqueue(update);
      reply(res, 200);
    },
    async close() {
      closed = true;
      while (chains.size > 0) await Promise.allSettled([...chains.values()]);
    },
  };
}
