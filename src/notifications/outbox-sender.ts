import type { Logger } from '../logger.js';
import type { NotificationOutbox, OutboxRow } from '../store/notifications.js';
import {
  CHAT_NOT_OPENED,
  ChatRateLimitedError,
  isChatNotOpened,
  type NotificationChat,
} from './notification-chat.js';

export interface OutboxSenderOptions {
  /** A chat without in-process retries of its own (see NotificationChat). */
  readonly chat: NotificationChat;
  readonly outbox: NotificationOutbox;
  readonly logger: Logger;
  readonly redact: (text: string) => string;
  /** How often due rows are looked for. */
  readonly pollMs?: number;
  /** Rows sent per round at most (each claimed on its own, so a lease covers one send). */
  readonly batch?: number;
  /** How long a claimed row is left to this sender before another may take it. */
  readonly leaseMs?: number;
  /** Backoff after a refusal without retry_after: initial, doubled per attempt, capped. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** A row is given up when it is older than this (Telegram's own update lifetime) ... */
  readonly maxAgeMs?: number;
  /** ... or after this many refusals other than 429 (a 429 asks to wait, it does not refuse the row). */
  readonly maxAttempts?: number;
}

const NOTIFICATION_MAX_AGE_MS = 24 * 60 * 60_000;

/** The retry wait the chat asks for (at least a second, so a full batch cannot spin), or undefined. */
function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof ChatRateLimitedError)) return undefined;
  const seconds = error.retryAfterSeconds;
  return seconds === undefined ? 5_000 : Math.max(1_000, seconds * 1000);
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** What sending one row needs: where to send it, where to record what came of it, and when to give up. */
interface RowSending {
  readonly chat: NotificationChat;
  readonly outbox: NotificationOutbox;
  readonly log: Logger;
  readonly redact: (text: string) => string;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly maxAgeMs: number;
  readonly maxAttempts: number;
}

/** A refused send: given up, or due again after the chat's retry_after (holding back that chat) or the backoff. */
async function recordRefusal(
  s: RowSending,
  row: OutboxRow,
  error: unknown,
  pausedChats: Map<number, number>,
): Promise<void> {
  const reason = s.redact(describe(error));
  if (isChatNotOpened(error)) return keepForChat(s, row, reason);
  const asked = retryAfterMs(error);
  const attempts = asked === undefined ? row.attempts + 1 : row.attempts;
  if (asked === undefined && attempts >= s.maxAttempts) {
    await s.outbox.giveUp(row.id, reason);
    s.log.warn({ key: row.dedupKey, chatId: row.chatId, attempts, reason }, 'notification given up');
    return;
  }
  const wait = asked ?? Math.min(s.backoff.maxMs, s.backoff.initialMs * 2 ** Math.min(row.attempts, 20));
  if (asked !== undefined) pausedChats.set(row.chatId, Date.now() + wait);
  await s.outbox.markFailed(row.id, reason, wait, { counted: asked === undefined });
  s.log.warn(
    { key: row.dedupKey, chatId: row.chatId, attempts, reason, retryInMs: wait },
    'notification refused; will retry',
  );
}

/**
 * A chat the bot may not write to yet ("chat not found": its user never wrote to the bot,
 * or the bot is not in the group): the row is kept, never given up for it, tried again at
 * the backoff's pace, and due at once when the chat writes to the bot (releaseChat). An
 * info line when the row is first refused so, debug lines after: the warning is the start
 * log's (chat-reach.ts) or the deploy's, not one per row.
 */
async function keepForChat(s: RowSending, row: OutboxRow, reason: string): Promise<void> {
  const wait = Math.min(s.backoff.maxMs, s.backoff.initialMs * 2 ** Math.min(row.attempts, 20));
  // Counted, so the backoff grows (to its cap); never given up for it.
  await s.outbox.markFailed(row.id, reason, wait);
  const first = !CHAT_NOT_OPENED.test(row.lastError ?? '');
  s.log[first ? 'info' : 'debug'](
    { key: row.dedupKey, chatId: row.chatId },
    `notification kept for chat ${row.chatId}: Telegram says "chat not found" (nobody there has opened a chat with this bot, or it is not in that group); it is sent once the chat writes to the bot (/start)`,
  );
}

/**
 * Sends one claimed row and records what came of it. `pausedChats` holds the chats that
 * asked to wait during this round; `signal` aborts the send when the sender stops.
 */
async function sendRow(
  s: RowSending,
  row: OutboxRow,
  pausedChats: Map<number, number>,
  signal: AbortSignal,
): Promise<void> {
  const age = Date.now() - row.createdAt.getTime();
  // A row kept for a chat that was never opened waits for it however long it takes.
  if (age > s.maxAgeMs && !CHAT_NOT_OPENED.test(row.lastError ?? '')) {
    await s.outbox.giveUp(
      row.id,
      `${row.lastError ?? 'not sent'}; given up after ${Math.round(age / 60_000)} min`,
    );
    s.log.warn(
      { key: row.dedupKey, chatId: row.chatId, attempts: row.attempts, lastError: row.lastError },
      'notification given up: too old',
    );
    return;
  }
  const pausedUntil = pausedChats.get(row.chatId);
  if (pausedUntil !== undefined) {
    await s.outbox.postpone(row.id, pausedUntil - Date.now());
    return;
  }
  let messageId: number;
  try {
    ({ messageId } = await s.chat.send(row.chatId, row.text, signal));
  } catch (error) {
    // Stopped mid-send: handed back at once, not counted, rather than left for the lease.
    // The chat may have taken it already: at least once, as below.
    if (signal.aborted) await s.outbox.postpone(row.id, 0);
    else await recordRefusal(s, row, error, pausedChats);
    return;
  }
  // Sent but not recorded (Postgres gone this instant): the row is due again after the
  // lease and sent a second time. At least once, never silently lost.
  await s.outbox.markSent(row.id, messageId);
  s.log.debug({ key: row.dedupKey, chatId: row.chatId }, 'notification sent');
}

/** A sleep that can be cut short (a wake, a stop). */
function createNap() {
  let interrupt: (() => void) | undefined;
  return {
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        interrupt = () => {
          clearTimeout(timer);
          resolve();
        };
      }).finally(() => {
        interrupt = undefined;
      }),
    interrupt: () => interrupt?.(),
  };
}

/**
 * Sends the outbox. Each row is claimed and sent on its own, so its lease has to cover one
 * send (at most the chat's timeout), never a whole batch: a row is not taken by another
 * sender while this one is still about to send it. A refusal (429, a user who blocked the
 * bot, a chat that does not exist, the network) is recorded with the time of the next
 * attempt, and the sender goes on with the other rows. A 429 also holds back the rest of
 * that chat's rows until its retry_after has passed.
 */
export function createOutboxSender(options: OutboxSenderOptions) {
  const { outbox } = options;
  const log = options.logger.child({ component: 'notifications' });
  const pollMs = options.pollMs ?? 2_000;
  const batch = options.batch ?? 20;
  const leaseMs = options.leaseMs ?? 60_000;
  const sending: RowSending = {
    chat: options.chat,
    outbox,
    log,
    redact: options.redact,
    backoff: options.backoff ?? { initialMs: 5_000, maxMs: 30 * 60_000 },
    maxAgeMs: options.maxAgeMs ?? NOTIFICATION_MAX_AGE_MS,
    maxAttempts: options.maxAttempts ?? 50,
  };
  let stopped = false;
  /** Aborts the send in flight when the sender stops (a hanging chat service must not hold the shutdown). */
  let stopping = new AbortController();

  /** One round: sends up to `batch` rows that are due now, one claim each; returns how many it took. */
  const sendDue = async (): Promise<number> => {
    const pausedChats = new Map<number, number>();
    let taken = 0;
    while (taken < batch && !stopped) {
      const row = await outbox.claimNext(leaseMs);
      if (!row) break;
      taken += 1;
      await sendRow(sending, row, pausedChats, stopping.signal).catch((error: unknown) =>
        log.warn({ err: error, key: row.dedupKey }, 'could not record a notification attempt'),
      );
    }
    return taken;
  };

  let loop: Promise<void> | undefined;
  /** Set by wake(): something was queued since the current round began looking. */
  let wanted = false;
  const nap = createNap();

  return {
    sendDue,

    start() {
      if (loop) return;
      stopped = false;
      stopping = new AbortController();
      loop = (async () => {
        while (!stopped) {
          // A wake that comes while the round runs (after its last look) is kept for the sleep below.
          wanted = false;
          try {
            // A full batch suggests more is due: go on at once.
            if ((await sendDue()) >= batch) continue;
          } catch (error) {
            log.warn({ err: error }, 'notifications: could not read the outbox');
          }
          if (!stopped && !wanted) await nap.sleep(pollMs);
        }
      })();
    },

    /** Looks for due rows now (something was just queued). */
    wake() {
      wanted = true;
      nap.interrupt();
    },

    /**
     * Ends the loop: a send in flight is aborted and its row handed back, so stopping never
     * waits for the chat service; rows not sent stay due for the next start.
     */
    async stop() {
      stopped = true;
      stopping.abort();
      nap.interrupt();
      await loop;
      loop = undefined;
    },
  };
}
