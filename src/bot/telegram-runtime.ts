import { type Bot, GrammyError, HttpError } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import type { Logger } from '../logger.js';
import { scrubBotTokens } from '../redact.js';
import type { PollerLease } from '../store/poller-lease.js';
import type { BotContext } from './context.js';
import { createTelegramWebhook, type TelegramWebhookHandler } from './telegram-webhook.js';

export type TelegramState =
  | 'connecting'
  | 'ok'
  | 'standby'
  | 'unreachable'
  | 'rejected'
  | 'conflict'
  | 'stopped';

export interface TelegramStatus {
  readonly state: TelegramState;
  /** Why the state is not ok, in words fit for /healthz and logs (never the token). */
  readonly detail?: string;
  readonly since: Date;
}

/**
 * The update types lugh handles (commands and service messages, button presses), named in
 * every getUpdates and setWebhook: Telegram otherwise keeps the list the token was last
 * given, perhaps by another program, and a list without callback_query leaves buttons spinning.
 */
export const HANDLED_UPDATES = ['message', 'callback_query'] as const;

export interface TelegramRuntimeOptions {
  readonly logger: Logger;
  /**
   * Long polling unless a webhook URL is given. `queueWaitMs`: how long a delivery waits for
   * its update to begin before it is answered 503 (WEBHOOK_QUEUE_WAIT_MS; tests shorten it).
   */
  readonly webhook?: { readonly url: string; readonly secret: string; readonly queueWaitMs?: number };
  /**
   * Runs once the token is accepted and before updates are taken. A failure is retried
   * with backoff (it must be safe to run again) unless `isFatal` says it refuses starting.
   */
  readonly onReady?: (me: UserFromGetMe) => Promise<void>;
  readonly isFatal?: (error: unknown) => boolean;
  /** Told of every change of state (e.g. to publish the instance's status at once). */
  readonly onStatus?: (state: TelegramState) => void;
  /** Backoff between attempts to reach the Bot API, in ms. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Defaults to HANDLED_UPDATES. */
  readonly allowedUpdates?: readonly string[];
  /**
   * Long polling only: the lease of this environment's poller. Without it two containers
   * of one environment (old and new, during a deploy) would both poll and get 409s.
   */
  readonly lease?: PollerLease;
}

export interface TelegramRuntime {
  status(): TelegramStatus;
  /** Resolves once the token was accepted and updates are being taken (or never, if rejected). */
  readonly ready: Promise<UserFromGetMe>;
  /** Settles when the runtime ends: resolves when stopped, rejects when onReady or setWebhook threw. */
  readonly done: Promise<void>;
  /**
   * Whether this update may be handled here now: with long polling, only while this
   * instance polls under a held lease. Once it stopped or lost the lease, the rest of its
   * batch is left unconfirmed for the next poller (which may be this one again).
   */
  takes(updateId: number): boolean;
  /**
   * Webhook mode only: POST /webhooks/telegram. It answers Telegram as soon as the update's
   * handling begins, so no update waits past Telegram's delivery timeout (one queued behind
   * a slow update of its chat is answered 503 and delivered again).
   */
  readonly webhook?: TelegramWebhookHandler;
  /**
   * True when this instance's own memory says the update was never handled in this
   * environment: it polls under a lease it has held without interruption since before the
   * getUpdates that delivered the update, and that getUpdates was not the first of this
   * holding. Only the first answer of a holding can hold updates a previous holder (another
   * instance, or this one before a loss) handled but did not confirm: grammY confirms a
   * batch with the next getUpdates, and every getUpdates asks for the same 100 updates at
   * most, so a previous holder's unconfirmed batch is within that first answer. The caller
   * may then write the update's claim behind (for a later holder to read) instead of
   * waiting for it. Always false with a webhook (no lease: a redelivery may reach anyone).
   */
  knowsNew(updateId: number): boolean;
  /**
   * While updates are taken under a held lease: a number that changes whenever the lease
   * was taken, lost or given up. A cache of what other instances may write (conversation
   * state) is valid only within one holding. Undefined with a webhook or when not taking.
   */
  holding(): number | undefined;
  /** Stops taking updates and waits for the update in flight to finish. */
  stop(): Promise<void>;
}

/** A getUpdates refused because this instance no longer holds the poller lease. */
export class PollerLeaseLostError extends Error {
  override name = 'PollerLeaseLostError';
  constructor() {
    super('this instance no longer holds the poller lease');
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    // The listener goes with the wait: one signal sees many backoffs.
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

function describeError(error: unknown): string {
  if (error instanceof GrammyError) return `${error.error_code} ${error.description}`;
  // A network error's message holds the request URL, and the URL holds the token: this
  // text reaches /healthz and the status the other instance reads.
  if (error instanceof HttpError)
    return `network error: ${scrubBotTokens(String((error.error as Error)?.message ?? error.error))}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Connects the bot to the Bot API and keeps it connected. An unreachable Bot API is
 * retried with backoff while lugh keeps running; a token the Bot API rejects (401) makes
 * the instance unhealthy without exiting, so a deploy's health check catches it. Another
 * poller on the same token (409) is waited out rather than fought.
 */
export function startTelegramRuntime(bot: Bot<BotContext>, options: TelegramRuntimeOptions): TelegramRuntime {
  const { logger } = options;
  const backoff = options.backoff ?? { initialMs: 1_000, maxMs: 30_000 };
  const abort = new AbortController();
  const webhook = options.webhook
    ? createTelegramWebhook(bot, {
        secret: options.webhook.secret,
        logger,
        queueWaitMs: options.webhook.queueWaitMs,
      })
    : undefined;
  let current: TelegramStatus = { state: 'connecting', since: new Date() };
  /** Long polling: true from the first getUpdates under the lease until stopped or lost. */
  let taking = false;
  /** The first update of a batch left to the next poller: this one asks from it again. */
  let leftFrom: number | undefined;
  /** Changes whenever the lease is taken, lost or released (see `holding()`). */
  let holding = 0;
  /**
   * The last update of the first getUpdates answer of this holding (null: that answer was
   * empty; undefined: not answered yet). Updates after it are new to the environment.
   */
  let firstBatchThrough: number | null | undefined;
  const newHolding = () => {
    holding++;
    firstBatchThrough = undefined;
  };
  const setStatus = (state: TelegramState, detail?: string) => {
    if (current.state === state && current.detail === detail) return;
    current = { state, detail, since: new Date() };
    const level = state === 'ok' || state === 'stopped' || state === 'standby' ? 'info' : 'warn';
    logger[level]({ telegram: state, detail }, `telegram: ${state}${detail ? ` (${detail})` : ''}`);
    options.onStatus?.(state);
  };

  let resolveReady!: (me: UserFromGetMe) => void;
  const ready = new Promise<UserFromGetMe>((resolve) => {
    resolveReady = resolve;
  });

  /** getMe until the token is accepted; undefined when rejected or stopped. */
  const connect = async (): Promise<UserFromGetMe | undefined> => {
    let delay = backoff.initialMs;
    while (!abort.signal.aborted) {
      try {
        return await bot.api.getMe(abort.signal as Parameters<typeof bot.api.getMe>[0]);
      } catch (error) {
        if (abort.signal.aborted) return undefined;
        if (error instanceof GrammyError && error.error_code === 401) {
          setStatus(
            'rejected',
            'the Bot API rejected this token (401 Unauthorized): check TELEGRAM_BOT_TOKEN',
          );
          return undefined;
        }
        setStatus('unreachable', `${describeError(error)}; retrying in ${Math.round(delay / 1000)} s`);
        await sleep(delay, abort.signal);
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    }
    return undefined;
  };

  /** Polls while this instance may: until stopped, or until its lease is lost ('lost'). */
  const pollUnderLease = async (term: AbortSignal): Promise<'done' | 'lost'> => {
    const either = AbortSignal.any([abort.signal, term]);
    let delay = backoff.initialMs;
    while (!either.aborted) {
      try {
        await bot.start({
          allowed_updates: (options.allowedUpdates ?? HANDLED_UPDATES) as never,
          onStart: () => {
            if (either.aborted) return;
            taking = true;
            setStatus('ok');
          },
        });
        break; // stopped on purpose, or because the lease was lost
      } catch (error) {
        if (either.aborted) break;
        if (error instanceof GrammyError && error.error_code === 401) {
          setStatus(
            'rejected',
            'the Bot API rejected this token (401 Unauthorized): check TELEGRAM_BOT_TOKEN',
          );
          return 'done';
        }
        if (error instanceof GrammyError && error.error_code === 409) {
          setStatus('conflict', `another instance takes this bot's updates (${error.description}); waiting`);
        } else {
          setStatus('unreachable', describeError(error));
        }
        await sleep(delay, either);
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    }
    return abort.signal.aborted || !term.aborted ? 'done' : 'lost';
  };

  const poll = async () => {
    const lease = options.lease;
    if (!lease) {
      await pollUnderLease(new AbortController().signal);
      return;
    }
    // Not one getUpdates without the lease: not even grammY's confirming call on stop,
    // which would cut short the long poll of the instance that holds the lease now.
    // grammY moved its offset past the updates it was given but left: back to them.
    bot.api.config.use(async (prev, method, payload, signal) => {
      if (method !== 'getUpdates') return prev(method, payload, signal);
      if (!lease.held()) throw new PollerLeaseLostError();
      const from = leftFrom;
      const asked = payload as { offset?: number };
      const askedIn = holding;
      const again = from !== undefined && asked.offset !== undefined && asked.offset > from;
      const answer = await prev(
        method,
        again ? ({ ...payload, offset: from } as typeof payload) : payload,
        signal,
      );
      if (answer.ok && again && leftFrom === from) leftFrom = undefined;
      if (answer.ok && askedIn === holding && firstBatchThrough === undefined) {
        const updates = answer.result as unknown as ReadonlyArray<{ update_id: number }>;
        firstBatchThrough = updates.length === 0 ? null : Math.max(...updates.map((u) => u.update_id));
      }
      return answer;
    });
    while (!abort.signal.aborted) {
      const term = new AbortController();
      newHolding();
      const held = await lease.acquire(abort.signal, {
        onWaiting: () =>
          setStatus(
            'standby',
            'another instance of this environment is taking updates; waiting for it to stop',
          ),
        onLost: () => {
          taking = false;
          newHolding();
          term.abort();
          setStatus('standby', 'the poller lease could not be renewed; stopped taking updates');
          if (bot.isRunning()) void bot.stop().catch(() => {});
        },
      });
      if (!held) return;
      if ((await pollUnderLease(term.signal)) === 'done') return;
    }
  };

  const run = async () => {
    const me = await connect();
    if (!me) return;
    bot.botInfo = me;
    let delay = backoff.initialMs;
    for (;;) {
      try {
        await options.onReady?.(me);
        if (options.webhook) {
          await bot.api.setWebhook(options.webhook.url, {
            secret_token: options.webhook.secret,
            allowed_updates: (options.allowedUpdates ?? HANDLED_UPDATES) as never,
          });
        }
        break;
      } catch (error) {
        if (abort.signal.aborted) return;
        if (options.isFatal?.(error)) throw error;
        setStatus(
          'unreachable',
          `start-up failed (${describeError(error)}); retrying in ${Math.round(delay / 1000)} s`,
        );
        await sleep(delay, abort.signal);
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    }
    if (abort.signal.aborted) return;
    if (options.webhook) {
      setStatus('ok');
      resolveReady(me);
      return;
    }
    const polling = poll();
    resolveReady(me);
    await polling;
  };

  const running = run().catch((error: unknown) => {
    setStatus('stopped', describeError(error));
    throw error;
  });

  return {
    status: () => current,
    takes(updateId) {
      // A webhook update answered without handling would be confirmed and lost: always take it.
      if (options.webhook) return true;
      if (taking && (options.lease?.held() ?? true)) return true;
      if (leftFrom === undefined || updateId < leftFrom) leftFrom = updateId;
      return false;
    },
    knowsNew(updateId) {
      if (options.webhook || !options.lease || !taking || !options.lease.held()) return false;
      return firstBatchThrough === null || (firstBatchThrough !== undefined && updateId > firstBatchThrough);
    },
    holding: () =>
      !options.webhook && options.lease && taking && options.lease.held() ? holding : undefined,
    ready,
    done: running,
    webhook: webhook?.handle,
    async stop() {
      abort.abort();
      taking = false;
      newHolding();
      // Webhook deliveries from now on are refused (Telegram sends them again); the ones
      // already answered are handled to the end.
      await webhook?.close();
      // Confirms the updates up to the one being handled; the rest of the batch is left
      // to the next poller, which may start as soon as the lease is released.
      if (bot.isRunning()) await bot.stop().catch(() => {});
      await options.lease?.release();
      // bot.start() resolves only after the update being handled is done.
      await running.catch(() => {});
      setStatus('stopped');
    },
  };
}
