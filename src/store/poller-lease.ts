import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { withDeadline } from '../deadline.js';
import type { Keyspace, Redis } from './redis.js';

// Taking the lease again is allowed to its owner: a poller that stopped after one failed
// renewal resumes at once when Redis answers again, instead of waiting out its own lease.
const ACQUIRE = `local v = redis.call('get', KEYS[1]) if v == false or v == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface PollerLease {
  readonly owner: string;
  /**
   * Resolves once this instance holds the lease (false if `signal` aborted first).
   * `onWaiting` runs once when another instance holds it; `onLost` runs when a renewal
   * fails (another holds the lease, or Redis gave no answer in time), before the lease
   * can have expired: the holder must stop polling then, and may acquire again.
   */
  acquire(
    signal: AbortSignal,
    handlers?: { readonly onWaiting?: () => void; readonly onLost?: () => void },
  ): Promise<boolean>;
  /** True while this instance holds the lease: acquired, renewed in time, not lost or released. */
  held(): boolean;
  /** Gives the lease up at once, so the next instance starts polling without waiting out the TTL. */
  release(): Promise<void>;
}

/**
 * Who may long-poll this environment's bot. Telegram answers 409 to a second poller of
 * one token, so during a deploy the new container waits here until the old one has
 * stopped polling and released the lease (or died, or lost it, and let it expire).
 */
export function createPollerLease(
  redis: Redis,
  space: Keyspace,
  options: { ttlMs?: number; retryMs?: number } = {},
): PollerLease {
  const key = space.key('telegram', 'poller');
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const ttlMs = options.ttlMs ?? 15_000;
  const retryMs = options.retryMs ?? 1_000;
  // Renewed every third of the TTL, each renewal answered within a third: a renewal that
  // fails is noticed at most two thirds of a TTL after the last one that succeeded.
  const renewEveryMs = Math.floor(ttlMs / 3);
  let renewTimer: NodeJS.Timeout | undefined;
  /** Measured from when the last successful renewal was sent: Redis counts from later. */
  let validUntil = 0;

  const wait = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      // The listener goes with the wait: a standby waits many times on one signal.
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

  const stopRenewing = () => {
    clearInterval(renewTimer);
    renewTimer = undefined;
    validUntil = 0;
  };

  const startRenewing = (onLost: (() => void) | undefined) => {
    let renewing = false;
    const timer = setInterval(async () => {
      if (renewing) return;
      renewing = true;
      const sentAt = Date.now();
      const renewed = await withDeadline(
        redis.eval(RENEW, 1, key, owner, String(ttlMs)) as Promise<number>,
        renewEveryMs,
      ).catch(() => 0);
      renewing = false;
      if (renewTimer !== timer) return; // released or lost meanwhile
      if (renewed === 1) {
        validUntil = sentAt + ttlMs;
        return;
      }
      stopRenewing();
      onLost?.();
    }, renewEveryMs);
    timer.unref();
    renewTimer = timer;
  };

  const release = async () => {
    stopRenewing();
    // Unreleased, the lease expires by itself: a Redis that is gone must not hold a shutdown.
    await withDeadline(redis.eval(RELEASE, 1, key, owner), 1_000).catch(() => {});
  };

  return {
    owner,
    async acquire(signal, handlers = {}) {
      let told = false;
      while (!signal.aborted) {
        const sentAt = Date.now();
        const got = await withDeadline(
          redis.eval(ACQUIRE, 1, key, owner, String(ttlMs)) as Promise<number>,
          Math.max(renewEveryMs, retryMs),
        ).catch(() => 0);
        if (got === 1 && signal.aborted) {
          await release();
          return false;
        }
        if (got === 1) {
          validUntil = sentAt + ttlMs;
          startRenewing(handlers.onLost);
          return true;
        }
        if (!told) {
          told = true;
          handlers.onWaiting?.();
        }
        await wait(retryMs, signal);
      }
      return false;
    },
    held: () => renewTimer !== undefined && Date.now() < validUntil,
    release,
  };
}
