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

/** How long a delivery waits for its update to begin, well inside Telegram's ~10 s timeout. */
export const WEBHOOK_QUEUE_WAIT_MS = 8_000;

/**
 * Telegram's webhook, answered before the slow part of the handling. Telegram counts a
 * delivery that is not answered in time as failed and sends the update again, and grammY's
 * `webhookCallback` answers 500 after 10 s: a merge or a /doctor takes longer. So the
 * update is checked (secret, shape) and handled here, in order per chat as Telegram itself
 * delivers them, and the delivery is answered 200 as soon as its handling has begun: from
 * then on the once-per-update claim recognizes a redelivery, and nothing is lost that
 * Telegram still holds. An update still waiting behind a slow one of its chat after
 * `queueWaitMs` is answered 503 instead (kept in the queue; Telegram delivers it again and
 * the redelivery joins it), so a crash before it began loses nothing. A failure goes to
 * the bot's error handler, as with long polling.
 */
export function createTelegramWebhook(
  bot: Bot<BotContext>,
  options: { readonly secret: string; readonly logger: Logger; readonly queueWaitMs?: number },
): TelegramWebhook {
  const { logger } = options;
  const queueWaitMs = options.queueWaitMs ?? WEBHOOK_QUEUE_WAIT_MS;
  const chains = new Map<string, Promise<void>>();
  /** Updates queued or being handled, by update_id: resolves when the handling begins. */
  const taken = new Map<number, Promise<void>>();
  let closed = false;

  const handleOne = async (update: Update, begin: () => void): Promise<void> => {
    begin();
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

  /** Queues the update (once: a redelivery joins the first), resolving when it begins. */
  const enqueue = (update: Update): Promise<void> => {
    const queued = taken.get(update.update_id);
    if (queued) return queued;
    let begin!: () => void;
    const begun = new Promise<void>((resolve) => {
      begin = resolve;
    });
    taken.set(update.update_id, begun);
    const key = orderKey(update);
    const next = (chains.get(key) ?? Promise.resolve()).then(() => handleOne(update, begin));
    chains.set(key, next);
    void next.finally(() => {
      taken.delete(update.update_id);
      if (chains.get(key) === next) chains.delete(key);
    });
    return begun;
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
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<'waiting'>((resolve) => {
        timer = setTimeout(() => resolve('waiting'), queueWaitMs);
      });
      const outcome = await Promise.race([enqueue(update).then(() => 'begun' as const), waited]);
      clearTimeout(timer);
      if (outcome === 'begun') reply(res, 200);
      else
        reply(res, 503, {
          error:
            'an earlier update of this chat is still being handled; Telegram will deliver this one again',
        });
    },
    async close() {
      closed = true;
      while (chains.size > 0) await Promise.allSettled([...chains.values()]);
    },
  };
}
