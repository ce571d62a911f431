import { Redis } from 'ioredis';
import { withDeadline } from '../deadline.js';

export type { Redis } from 'ioredis';

/**
 * The one way lugh connects to Redis. `maxRetriesPerRequest: null` is what BullMQ
 * workers require; lugh never uses ioredis' `keyPrefix` (BullMQ rejects it) and instead
 * builds every key with `keyspace(prefix)`.
 */
export function createRedis(url: string, options: { connectionName: string; lazyConnect?: boolean }): Redis {
  const redis = new Redis(url, {
    connectionName: options.connectionName,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: options.lazyConnect ?? false,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  });
  // Connection errors are reported by health checks and by the commands that fail.
  redis.on('error', () => {});
  return redis;
}

/**
 * Closes a connection without waiting on a Redis that is gone: QUIT when it answers,
 * otherwise (or after `ms`) the socket is dropped. ioredis would hold QUIT in its offline
 * queue until a reconnect that may never come.
 */
export async function closeRedis(redis: Redis, ms = 1_000): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await withDeadline(redis.quit(), ms, 'QUIT unanswered');
      return;
    } catch {
      // fall through: drop the socket
    }
  }
  redis.disconnect(false);
}

export interface Keyspace {
  readonly prefix: string;
  /** `key('session', '42')` → `<prefix>:session:42`. */
  key(...parts: Array<string | number>): string;
}

export function keyspace(prefix: string): Keyspace {
  return { prefix, key: (...parts) => [prefix, ...parts].join(':') };
}

/**
 * A JSON key-value store under `<prefix>:<namespace>:`, with an optional time to live.
 * Its read/write/delete shape is the one grammY's session and conversations plugins take.
 */
export function createRedisKeyValue<T>(
  redis: Redis,
  space: Keyspace,
  namespace: string,
  options: { ttlSeconds?: number } = {},
) {
  const keyOf = (key: string) => space.key(namespace, key);
  return {
    async read(key: string): Promise<T | undefined> {
      const raw = await redis.get(keyOf(key));
      return raw === null ? undefined : (JSON.parse(raw) as T);
    },
    async write(key: string, value: T): Promise<void> {
      const json = JSON.stringify(value);
      if (options.ttlSeconds) await redis.set(keyOf(key), json, 'EX', options.ttlSeconds);
      else await redis.set(keyOf(key), json);
    },
    async delete(key: string): Promise<void> {
      await redis.del(keyOf(key));
    },
  };
}
