import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { withDeadline } from '../deadline.js';
import type { Keyspace, Redis } from './redis.js';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface PollerLease {
  readonly owner: string;
  /**
   * Resolves once this instance holds the lease (false if `signal` aborted first);
   * `onWaiting` runs once when another instance holds it.
   */
  acquire(signal: AbortSignal, onWaiting?: () => void): Promise<boolean>;
  /** Gives the lease up at once, so the next instance starts polling without waiting out the TTL. */
  release(): Promise<void>;
}

/**
 * Who may long-poll this environment's bot. Telegram answers 409 to a second poller of
 * one token, so during a deploy the new container waits here until the old one has
 * stopped polling and released the lease (or died and let it expire).
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
  let renewTimer: NodeJS.Timeout | undefined;

  const wait = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });

  return {
    owner,
    async acquire(signal, onWaiting) {
      let told = false;
      while (!signal.aborted) {
        const got = await redis.set(key, owner, 'PX', ttlMs, 'NX');
        if (got === 'OK') {
          renewTimer = setInterval(() => {
            void redis.eval(RENEW, 1, key, owner, String(ttlMs)).catch(() => {});
          }, ttlMs / 3);
          renewTimer.unref();
          return true;
        }
        if (!told) {
          told = true;
          onWaiting?.();
        }
        await wait(retryMs, signal);
      }
      return false;
    },
    async release() {
      clearInterval(renewTimer);
      renewTimer = undefined;
      // Unreleased, the lease expires by itself: a Redis that is gone must not hold a shutdown.
      await withDeadline(redis.eval(RELEASE, 1, key, owner), 1_000).catch(() => {});
    },
  };
}
