import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployQueue } from '../../../src/deployer/queue.js';
import { registerInstance } from '../../../src/store/instance-registry.js';
import { createRedis, createRedisKeyValue, keyspace, type Redis } from '../../../src/store/redis.js';
import { redisUrl } from '../../helpers/services.js';

// This file alone uses Redis database 7, so "every key in the database" means every key
// these two instances wrote; the run-unique sub-prefix guards against a rerun's leftovers.
const ISOLATED_DB = 7;
const run = randomUUID().slice(0, 8);
const STAGING = `staging:${run}`;
const PROD = `prod:${run}`;

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

describe('two environments on one Redis', () => {
  let staging: Redis;
  let prod: Redis;
  let observer: Redis;
  beforeAll(() => {
    const url = new URL(redisUrl());
    url.pathname = `/${ISOLATED_DB}`;
    staging = createRedis(url.toString(), { connectionName: 'test-staging' });
    prod = createRedis(url.toString(), { connectionName: 'test-prod' });
    observer = createRedis(url.toString(), { connectionName: 'test-observer' });
  });
  afterAll(async () => {
    for (const prefix of [STAGING, PROD]) {
      const keys = await keysUnder(observer, `${prefix}:`);
      if (keys.length) await observer.del(...keys);
    }
    await Promise.all([staging.quit(), prod.quit(), observer.quit()]);
  });

  it('every key an instance writes lives under its own prefix, and neither reads nor deletes the other’s', async () => {
    // Session / conversation state, the same chat key in both environments.
    const stagingSessions = createRedisKeyValue<{ step: string }>(staging, keyspace(STAGING), 'session');
    const prodSessions = createRedisKeyValue<{ step: string }>(prod, keyspace(PROD), 'session');
    await stagingSessions.write('chat:42', { step: 'staging-step' });
    await prodSessions.write('chat:42', { step: 'prod-step' });

    // BullMQ queues with the same name.
    const stagingQueue = createDeployQueue(staging, STAGING);
    const prodQueue = createDeployQueue(prod, PROD);
    await stagingQueue.add('deploy', { deploymentId: 1 }, { jobId: 'deployment-1' });
    await prodQueue.add('deploy', { deploymentId: 1 }, { jobId: 'deployment-1' });

    // Instance records.
    await registerInstance(staging, STAGING, PROD, {
      env: 'staging',
      botId: 1,
      botUsername: 'LughDevBot',
      startedAt: new Date().toISOString(),
    });
    await registerInstance(prod, PROD, STAGING, {
      env: 'production',
      botId: 2,
      botUsername: 'LughBot',
      startedAt: new Date().toISOString(),
    });

    const stagingKeys = await keysUnder(observer, `${STAGING}:`);
    const prodKeys = await keysUnder(observer, `${PROD}:`);
    expect(stagingKeys).toEqual(
      expect.arrayContaining([`${STAGING}:session:chat:42`, `${STAGING}:instance`]),
    );
    expect(stagingKeys.some((k) => k.startsWith(`${STAGING}:deploys:`))).toBe(true);
    expect(prodKeys.some((k) => k.startsWith(`${PROD}:deploys:`))).toBe(true);
    // Nothing outside the two prefixes was written by either instance.
    const everything = await keysUnder(observer, '');
    expect(everything).toEqual([...stagingKeys, ...prodKeys].sort());
    // …and each prefix holds only what that environment writes.
    const expected = (p: string) => (k: string) =>
      k === `${p}:session:chat:42` || k === `${p}:instance` || k.startsWith(`${p}:deploys:`);
    expect(stagingKeys.filter((k) => !expected(STAGING)(k))).toEqual([]);
    expect(prodKeys.filter((k) => !expected(PROD)(k))).toEqual([]);

    // Reads see only their own environment.
    expect(await stagingSessions.read('chat:42')).toEqual({ step: 'staging-step' });
    expect(await prodSessions.read('chat:42')).toEqual({ step: 'prod-step' });
    expect((await stagingQueue.getJob('deployment-1'))?.queueName).toBe('deploys');
    expect(await stagingQueue.count()).toBe(1);

    // Deleting everything staging owns leaves production's keys exactly as they were.
    await stagingSessions.delete('chat:42');
    await stagingQueue.obliterate({ force: true });
    expect(await keysUnder(observer, `${PROD}:`)).toEqual(prodKeys);
    expect(await prodSessions.read('chat:42')).toEqual({ step: 'prod-step' });
    expect(await prodQueue.count()).toBe(1);
    await Promise.all([stagingQueue.close(), prodQueue.close()]);
  });

  it('refuses the same bot token in both environments', async () => {
    const sub = randomUUID().slice(0, 8);
    const record = { botId: 777, botUsername: 'SameBot', startedAt: new Date().toISOString() };
    expect(
      await registerInstance(prod, `prod:${sub}`, `staging:${sub}`, { ...record, env: 'production' }),
    ).toBe(undefined);
    const clash = await registerInstance(staging, `staging:${sub}`, `prod:${sub}`, {
      ...record,
      env: 'staging',
    });
    expect(clash).toMatchObject({ env: 'production', botUsername: 'SameBot' });
    await observer.del(`prod:${sub}:instance`, `staging:${sub}:instance`);
  });
});
