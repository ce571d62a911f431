import { BotApiError, pollerConflict } from './errors.js';
import type { Update, UpdateType } from './types.js';

/** The real server keeps undelivered updates for 24 hours. */
const retentionMs = 24 * 60 * 60 * 1000;

/** Sent unless a bot asks for them by name (as documented for allowed_updates). */
const optInOnly: ReadonlySet<string> = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

export interface PollOptions {
  offset: number | undefined;
  limit: number;
  timeoutSeconds: number;
  allowedUpdates: string[] | undefined;
}

interface Waiter {
  limit: number;
  timer: NodeJS.Timeout;
  finish(result: Update[] | BotApiError): void;
}

/** One bot's pending updates, with getUpdates' offset, limit, long polling and filter rules. */
export class UpdateQueue {
  private items: Array<{ update: Update; at: number }> = [];
  private nextId = 1;
  private waiter: Waiter | undefined;
  /** Remembered across calls, as on the real server; undefined means the default set. */
  allowedUpdates: string[] | undefined;

  constructor(
    private readonly now: () => number,
    private readonly onPush: () => void,
  ) {}

  get size(): number {
    this.expire();
    return this.items.length;
  }

  /** Queues an update unless the bot's allowed_updates exclude its type. */
  push(payload: Omit<Update, 'update_id'>): Update | undefined {
    const type = Object.keys(payload)[0] as UpdateType;
    const allowed = this.allowedUpdates;
    if (allowed && allowed.length > 0 ? !allowed.includes(type) : optInOnly.has(type)) return undefined;
    const update = { update_id: this.nextId++, ...payload } as Update;
    this.items.push({ update, at: this.now() });
    if (this.waiter) this.finishWaiter(this.pending(this.waiter.limit));
    this.onPush();
    return update;
  }

  /** Confirms updates below `offset`; a negative offset keeps only the last -offset updates. */
  confirm(offset: number): void {
    if (offset < 0) this.items = this.items.slice(offset);
    else this.items = this.items.filter((item) => item.update.update_id >= offset);
  }

  pending(limit: number): Update[] {
    this.expire();
    return this.items.slice(0, limit).map((item) => item.update);
  }

  clear(): void {
    this.items = [];
  }

  /**
   * Answers a getUpdates call, holding it up to its timeout when nothing is pending. A
   * newer call terminates a held one with 409, as the real server does for two pollers.
   */
  poll(options: PollOptions, signal: AbortSignal): Promise<Update[]> {
    if (options.allowedUpdates !== undefined) this.allowedUpdates = options.allowedUpdates;
    if (options.offset !== undefined) this.confirm(options.offset);
    if (this.waiter) this.finishWaiter(pollerConflict());
    const ready = this.pending(options.limit);
    if (ready.length > 0 || options.timeoutSeconds <= 0) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        limit: options.limit,
        timer: setTimeout(() => this.finishWaiter([]), options.timeoutSeconds * 1000),
        finish: (result) => (result instanceof BotApiError ? reject(result) : resolve(result)),
      };
      this.waiter = waiter;
      // A client that hung up is no longer a poller: don't let it block or be "terminated".
      signal.addEventListener('abort', () => {
        if (this.waiter === waiter) this.finishWaiter([]);
      });
    });
  }

  /** Ends a held poll now (webhook set, stand-in closing) with the given answer. */
  releaseHeld(result: Update[] | BotApiError = []): void {
    if (this.waiter) this.finishWaiter(result);
  }

  private finishWaiter(result: Update[] | BotApiError): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.finish(result);
  }

  private expire(): void {
    const cutoff = this.now() - retentionMs;
    if (this.items[0] && this.items[0].at < cutoff)
      this.items = this.items.filter((item) => item.at >= cutoff);
  }
}
