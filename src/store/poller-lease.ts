import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { withDeadline } from '../deadline.js';
import type { Keyspace, Redis } from './redis.js';

// Taking the lease again is allowed to its owner: a poller that stopped after one failed
// renewal resumes at once when Redis answers again, instead of waiting out its own lease.
const ACQUIRE = `local v = redis.call('get', KEYS[1]) if v == false or v == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
// Released, the lease is handed over: a standby listening on KEYS[2] tries for it at once.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) redis.call('publish', KEYS[2], ARGV[1]) return 1 else return 0 end`;

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
  /**
   * Gives the lease up at once and tells a standby, which takes it without waiting for its
   * next try (the caller releases only once grammY confirmed the updates it handled).
   */
  release(): Promise<void>;
}

/**
 * Who may long-poll this environment's bot. Telegram answers 409 to a second poller of
 * one token, so during a deploy the new container waits here until the old one has
 * stopped polling and released the lease (or died, or lost it, and let it expire). A
 * standby listens for the release (a Redis channel under the prefix, on a connection of
 * its own while it waits) and tries again the moment it comes; it also retries every
 * `retryMs`, for a holder that died without releasing.
 */
export function createPollerLease(
  redis: Redis,
  space: Keyspace,
  options: { ttlMs?: number; retryMs?: number } = {},
): PollerLease {
  const key = space.key('telegram', 'poller');
  const released = space.key('telegram', 'poller', 'released');
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const ttlMs = options.ttlMs ?? 15_000;
  const retryMs = options.retryMs ?? 1_000;
  // Renewed every third of the TTL, each renewal answered within a third: a renewal that
  // fails is noticed at most two thirds of a TTL after the last one that succeeded.
  const renewEveryMs = Math.floor(ttlMs / 3);
  let renewTimer: NodeJS.Timeout | undefined;
  /** Measured from when the last successful renewal was sent: Redis counts from later. */
  let validUntil = 0;

  /** Resolves after `ms`, on abort, or when `wake` is called (a release was heard). */
  const wait = (ms: number, signal: AbortSignal, listen: (wake: () => void) => () => void) =>
    new Promise<void>((resolve) => {
      // The listeners go with the wait: a standby waits many times on one signal.
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        unlisten();
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      const unlisten = listen(done);
    });

  /**
   * The standby's ear for releases: subscribed once it finds the lease held, closed once it
   * holds the lease or stops waiting. Without it (Redis refused the subscription) the
   * standby goes by its retries alone.
   */
  const listenForReleases = async () => {
    const sub = redis.duplicate();
    let wake: (() => void) | undefined;
    sub.on('message', () => wake?.());
    sub.on('error', () => {}); // a standby that cannot listen still retries
    const ok = await withDeadline(sub.subscribe(released), Math.max(renewEveryMs, retryMs)).then(
      () => true,
      () => false,
    );
    return {
      ok,
      listen: (w: () => void) => {
        wake = w;
        return () => {
          if (wake === w) wake = undefined;
        };
      },
      close: () => sub.disconnect(),
    };
  };

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
    await withDeadline(redis.eval(RELEASE, 2, key, released, owner), 1_000).catch(() => {});
  };

  return {
    owner,
    async acquire(signal, handlers = {}) {
      let told = false;
      let ear: Awaited<ReturnType<typeof listenForReleases>> | undefined;
      try {
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
          if (!ear) {
            // Listening from now on, then at once another try: a release between the try
            // above and the subscription would not be heard.
            ear = await listenForReleases();
            if (ear.ok) continue;
          }
          await wait(retryMs, signal, ear.ok ? ear.listen : () => () => {});
        }
        return false;
      } finally {
        ear?.close();
      }
    },
    held: () => renewTimer !== undefined && Date.now() < validUntil,
    release,
  };
}
