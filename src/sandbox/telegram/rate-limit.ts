import { tooManyRequests } from './errors.js';
import type { ChatType } from './types.js';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Optional emulation of the real server's send limits (about 1 message/s per chat with
 * short bursts, 20/min per group, 30/s per bot), answering 429 with retry_after. Sends and
 * edits of text, captions and keyboards share them, as on the real server.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number) {}

  /** Throws the 429 a send or edit would get now, or takes a slot for it. */
  take(token: string, chatId: number, chatType: ChatType): void {
    const limits: Array<[string, number, number]> = [
      [`${token}`, 30, 30],
      [`${token}:${chatId}`, 3, 1],
    ];
    if (chatType !== 'private') limits.push([`${token}:${chatId}:group`, 20, 20 / 60]);
    let wait = 0;
    for (const [key, capacity, perSecond] of limits) {
      const bucket = this.refill(key, capacity, perSecond);
      if (bucket.tokens < 1) wait = Math.max(wait, (1 - bucket.tokens) / perSecond);
    }
    if (wait > 0) throw tooManyRequests(Math.max(1, Math.ceil(wait)));
    for (const [key] of limits) this.buckets.get(key)!.tokens -= 1;
  }

  private refill(key: string, capacity: number, perSecond: number): Bucket {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: capacity, updatedAt: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * perSecond);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    return bucket;
  }
}
