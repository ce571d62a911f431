import { randomBytes } from 'node:crypto';
import type { Keyspace, Redis } from './redis.js';

// The state and the news that it changed, in one step: a listener that hears nothing
// about a chat may trust what it read of it.
const WRITE = `redis.call('set', KEYS[1], ARGV[1]) redis.call('publish', KEYS[2], ARGV[2]) return 1`;
const DELETE = `redis.call('del', KEYS[1]) redis.call('publish', KEYS[2], ARGV[1]) return 1`;

export interface ConversationStatesWatch {
  /** Each chat key whose state another instance wrote, heard while subscribed. */
  onWritten(listener: (key: string) => void): void;
  /** Changes on every (re)subscription; undefined while not subscribed (nothing may be cached). */
  epoch(): number | undefined;
  close(): void;
}

/**
 * The conversations plugin's states, `<prefix>:conversations:<chat id>` as JSON (as
 * createRedisKeyValue wrote them before), each write and delete announced on
 * `<prefix>:conversations:written` with the writer's id, so that an instance caching
 * states hears what another one (the old poller finishing its last update) changed.
 */
export function createConversationStates<T>(redis: Redis, space: Keyspace) {
  const channel = space.key('conversations', 'written');
  const writer = randomBytes(4).toString('hex');
  const keyOf = (key: string) => space.key('conversations', key);
  return {
    async read(key: string): Promise<T | undefined> {
      const raw = await redis.get(keyOf(key));
      return raw === null ? undefined : (JSON.parse(raw) as T);
    },
    async write(key: string, value: T): Promise<void> {
      await redis.eval(WRITE, 2, keyOf(key), channel, JSON.stringify(value), `${writer} ${key}`);
    },
    async delete(key: string): Promise<void> {
      await redis.eval(DELETE, 2, keyOf(key), channel, `${writer} ${key}`);
    },
    /**
     * Listens (on a connection of its own) for other instances' writes. A dropped
     * connection ends the epoch at once; ioredis reconnects and subscribes again.
     */
    watch(): ConversationStatesWatch {
      const sub = redis.duplicate();
      const listeners: Array<(key: string) => void> = [];
      let epoch: number | undefined;
      let count = 0;
      let closed = false;
      sub.on('error', () => {}); // a watch that cannot listen only leaves the cache off
      sub.on('message', (_channel: string, message: string) => {
        const space = message.indexOf(' ');
        if (message.slice(0, space) === writer) return;
        const key = message.slice(space + 1);
        for (const l of listeners) l(key);
      });
      const subscribe = () => {
        const attempt = ++count;
        sub.subscribe(channel).then(
          () => {
            if (!closed && attempt === count && sub.status === 'ready') epoch = attempt;
          },
          () => {},
        );
      };
      sub.on('close', () => {
        epoch = undefined;
        count++;
      });
      sub.on('ready', subscribe);
      return {
        onWritten: (listener) => {
          listeners.push(listener);
        },
        epoch: () => epoch,
        close: () => {
          closed = true;
          epoch = undefined;
          sub.disconnect();
        },
      };
    },
  };
}
