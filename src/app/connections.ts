import type { Queue } from 'bullmq';
import { type AppEnv, ENVIRONMENTS, otherEnv } from '../config/environments.js';
import type { Config } from '../config/index.js';
import { withDeadline } from '../deadline.js';
import type { DeployJobData } from '../deployer/queue.js';
import { createPool, type Pool } from '../store/pool.js';
import { closeRedis, createRedis, type Redis } from '../store/redis.js';

/** One instance's Postgres pool, Redis connection and deploy queue. */
export interface Connections {
  readonly pool: Pool;
  readonly redis: Redis;
  /**
   * The deploy queue, made on first use: BullMQ (~170 CommonJS files) is loaded then, not
   * before `lugh start` takes updates.
   */
  deployQueue(): Promise<Queue<DeployJobData>>;
  /** Closes the queue (bounded: a Redis that went away must not hold it), the pool and Redis. */
  close(): Promise<void>;
}

/** `name` tells the connections apart in pg_stat_activity and CLIENT LIST (e.g. `lugh-staging-runner`). */
export function openConnections(config: Config, name = `lugh-${config.appEnv}`): Connections {
  const pool = createPool(config.databaseUrl, name);
  const redis = createRedis(config.redisUrl, { connectionName: name });
  let queue: Promise<Queue<DeployJobData>> | undefined;
  return {
    pool,
    redis,
    deployQueue: () =>
      (queue ??= import('../deployer/queue.js').then((m) => m.createDeployQueue(redis, config.redisPrefix))),
    close: async () => {
      // BullMQ's close waits for Redis: a Redis that went away first must not hold the shutdown.
      if (queue)
        await withDeadline(
          queue.then((q) => q.close()),
          1_000,
        ).catch(() => {});
      await Promise.allSettled([pool.end(), closeRedis(redis)]);
    },
  };
}

/** The prefix the other environment would use with the same sub-prefix as ours. */
export function otherPrefixOf(config: { appEnv: AppEnv; redisPrefix: string }): string {
  const own = ENVIRONMENTS[config.appEnv].redisPrefix;
  return ENVIRONMENTS[otherEnv(config.appEnv)].redisPrefix + config.redisPrefix.slice(own.length);
}
