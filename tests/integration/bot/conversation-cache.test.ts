// Chats' conversation states cached within one poller lease holding: a chat's later
// updates read nothing, and a new holding, another instance's write or a scope that
// forbids caching makes the next update read Redis again.
import { describe, expect, it } from 'vitest';
import type { BotContext, ConversationCacheScope } from '../../../src/bot/context.js';
import { createConversationStorage } from '../../../src/bot/conversation-storage.js';

type Stored = Parameters<
  ReturnType<typeof createConversationStorage<BotContext>>['storage']['adapter']['write']
>[1];

function world(initial: Record<string, Stored> = {}) {
  const redis = new Map<string, Stored>(Object.entries(initial));
  const reads: string[] = [];
  const adapter = {
    read: async (key: string) => {
      reads.push(key);
      return redis.get(key);
    },
    write: async (key: string, state: Stored) => {
      redis.set(key, state);
    },
    delete: async (key: string) => {
      redis.delete(key);
    },
  };
  let epoch: string | undefined = 'holding-1';
  let written: (key: string) => void = () => {};
  const scope: ConversationCacheScope = {
    epoch: () => epoch,
    listen: (listener) => {
      written = listener;
    },
  };
  const { storage, readAhead } = createConversationStorage<BotContext>(adapter, 1, scope);
  const ctxOf = (chatId: number) => ({ chatId }) as unknown as BotContext;
  const read = (chatId: number) => Promise.resolve(storage.adapter.read(ctxOf(chatId)));
  return {
    redis,
    reads,
    read,
    readAhead: (chatId: number) => readAhead(ctxOf(chatId)),
    write: (chatId: number, state: Stored) => storage.adapter.write(ctxOf(chatId), state),
    setEpoch: (e: string | undefined) => {
      epoch = e;
    },
    /** Another instance wrote this chat's state (heard on the channel). */
    writtenElsewhere: (chatId: number, state: Stored) => {
      redis.set(String(chatId), state);
      written(String(chatId));
    },
  };
}

const promoting = { version: [0, 1], state: { promote: [{ args: '[]' }] } } as unknown as Stored;

describe('conversation state cached within a lease holding', () => {
  it('a chat with no conversation is read once, then not again while the holding lasts', async () => {
    const w = world();
    expect(await w.read(7)).toBeUndefined();
    expect(await w.read(7)).toBeUndefined();
    w.readAhead(7);
    expect(await w.read(7)).toBeUndefined();
    // Before the cache: ['7', '7', '7'].
    expect(w.reads).toEqual(['7']);
  });

  it('after a lease change, a chat with a conversation reads Redis again and finds what another instance wrote', async () => {
    const w = world();
    expect(await w.read(7)).toBeUndefined();
    w.redis.set('7', promoting); // the old poller's last update, unheard
    w.setEpoch('holding-2');
    expect(await w.read(7)).toEqual(promoting);
    expect(w.reads).toEqual(['7', '7']);
  });

  it('another instance’s write heard on the channel makes the next update read it', async () => {
    const w = world();
    expect(await w.read(7)).toBeUndefined();
    w.writtenElsewhere(7, promoting);
    expect(await w.read(7)).toEqual(promoting);
    expect(w.reads).toEqual(['7', '7']);
  });

  it('a read overtaken by another instance’s write is not kept', async () => {
    const w = world();
    const reading = w.read(7);
    w.writtenElsewhere(7, promoting);
    expect(await reading).toBeUndefined();
    expect(await w.read(7)).toEqual(promoting);
  });

  it('its own writes are kept (a copy is handed out: the plugin changes state in place)', async () => {
    const w = world();
    await w.write(7, promoting);
    const first = await w.read(7);
    expect(first).toEqual(promoting);
    (first as unknown as { state: Record<string, unknown> }).state.other = [];
    expect(await w.read(7)).toEqual(promoting);
    expect(w.reads).toEqual([]);
    expect(w.redis.get('7')).toEqual(promoting);
  });

  it('without a scope that allows caching (webhook mode, not holding the lease), every update reads', async () => {
    const w = world();
    w.setEpoch(undefined);
    await w.read(7);
    await w.read(7);
    expect(w.reads).toEqual(['7', '7']);
  });
});
