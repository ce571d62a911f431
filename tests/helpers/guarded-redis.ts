// A Redis server whose default user needs a password, as previews require (the shared test
// Redis from the global setup has an open default user: previews refuse it). One per test
// file; stop it in afterAll.
import { randomBytes } from 'node:crypto';
import { startLocalRedis } from '../../src/sandbox/redis-server.js';

export interface GuardedRedis {
  /** redis://:<password>@127.0.0.1:<port> (lugh's admin login: the default user). */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startGuardedRedis(): Promise<GuardedRedis> {
  const password = randomBytes(12).toString('hex');
  const redis = await startLocalRedis({ password });
  const url = new URL(redis.url);
  url.password = password;
  return { url: url.toString(), stop: () => redis.stop() };
}
