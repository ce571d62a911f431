// Conversation states in Redis, each write announced: an instance that caches states
// hears what another one wrote, and not its own writes.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createConversationStates } from '../../../src/store/conversation-states.js';
import {
  closeRedis,
  createRedis,
  createRedisKeyValue,
  keyspace,
  type Redis,
} from '../../../src/store/redis.js';
import { redisUrl } from '../../helpers/services.js';

describe('conversation states', () => {
  const connections: Redis[] = [];
  const closes: Array<() => void> = [];
  afterAll(async () => {
    for (const c of closes) c();
    for (const c of connections) await closeRedis(c);
  });
  const connect = () => {
    const redis = createRedis(redisUrl(), { connectionName: 'conversation-states-test' });
    connections.push(redis);
    return redis;
  };

  it('another instance’s write and delete are heard by the watch, its own are not', async () => {
    const space = keyspace(`staging:conv${randomUUID().slice(0, 8)}`);
    const mine = createConversationStates<{ n: number }>(connect(), space);
    const theirs = createConversationStates<{ n: number }>(connect(), space);
    const watch = mine.watch();
    closes.push(watch.close);
    const heard: string[] = [];
    watch.onWritten((key) => heard.push(key));
    await expect.poll(() => watch.epoch()).toBeDefined();

    await mine.write('41', { n: 1 });
    await theirs.write('42', { n: 2 });
    await theirs.delete('43');
    await expect.poll(() => heard).toEqual(['42', '43']);
    expect(await mine.read('42')).toEqual({ n: 2 });
    expect(await theirs.read('41')).toEqual({ n: 1 });
  });

  it('reads what the key-value store wrote before (same keys, same JSON)', async () => {
    const redis = connect();
    const space = keyspace(`staging:conv${randomUUID().slice(0, 8)}`);
    await createRedisKeyValue<{ n: number }>(redis, space, 'conversations').write('7', { n: 7 });
    expect(await createConversationStates<{ n: number }>(redis, space).read('7')).toEqual({ n: 7 });
  });

  it('a closed watch allows no cache', async () => {
    const watch = createConversationStates(
      connect(),
      keyspace(`staging:conv${randomUUID().slice(0, 8)}`),
    ).watch();
    await expect.poll(() => watch.epoch()).toBeDefined();
    watch.close();
    expect(watch.epoch()).toBeUndefined();
  });
});
