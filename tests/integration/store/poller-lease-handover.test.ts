import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPollerLease } from '../../../src/store/poller-lease.js';
import { closeRedis, createRedis, keyspace, type Redis } from '../../../src/store/redis.js';
import { redisUrl } from '../../helpers/services.js';

// A standby retries the lease only this often: whatever takes the lease sooner was woken
// by the holder's release, not by its own retry.
const NEVER_RETRIES_MS = 10 * 60_000;

describe('the poller lease handed over', () => {
  const connections: Redis[] = [];
  const stops: AbortController[] = [];
  afterAll(async () => {
    for (const s of stops) s.abort();
    for (const c of connections) await closeRedis(c);
  });
  const connect = (name: string) => {
    const redis = createRedis(redisUrl(), { connectionName: `lease-handover-${name}` });
    connections.push(redis);
    return redis;
  };

  it('a standby takes the lease the moment its holder releases it, not at its next retry', async () => {
    const space = keyspace(`staging:handover${randomUUID().slice(0, 8)}`);
    const old = createPollerLease(connect('old'), space, { retryMs: NEVER_RETRIES_MS });
    const next = createPollerLease(connect('next'), space, { retryMs: NEVER_RETRIES_MS });
    const stop = new AbortController();
    stops.push(stop);
    expect(await old.acquire(stop.signal)).toBe(true);

    let waiting!: () => void;
    const standingBy = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const taken = next.acquire(stop.signal, { onWaiting: () => waiting() });
    await standingBy;
    expect(next.held()).toBe(false);

    await old.release();
    expect(await taken).toBe(true);
    expect([old.held(), next.held()]).toEqual([false, true]);
    await next.release();
  }, 20_000);

  it('a standby given up on (stopped) takes nothing when the holder releases later', async () => {
    const space = keyspace(`staging:handover${randomUUID().slice(0, 8)}`);
    const old = createPollerLease(connect('old2'), space, { retryMs: NEVER_RETRIES_MS });
    const next = createPollerLease(connect('next2'), space, { retryMs: NEVER_RETRIES_MS });
    const oldStop = new AbortController();
    stops.push(oldStop);
    expect(await old.acquire(oldStop.signal)).toBe(true);
    const nextStop = new AbortController();
    let waiting!: () => void;
    const standingBy = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const taken = next.acquire(nextStop.signal, { onWaiting: () => waiting() });
    await standingBy;
    nextStop.abort();
    expect(await taken).toBe(false);
    await old.release();
    // Free for whoever comes next: a third lease takes it at its first try.
    const third = createPollerLease(connect('third'), space, { retryMs: NEVER_RETRIES_MS });
    expect(await third.acquire(oldStop.signal)).toBe(true);
    expect(next.held()).toBe(false);
    await third.release();
  }, 20_000);
});
