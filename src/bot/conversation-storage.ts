import type { ConversationData, ConversationStorage, VersionedState } from '@grammyjs/conversations';
import type { Context } from 'grammy';
import type { ConversationCacheScope } from './context.js';

type Stored = VersionedState<ConversationData>;
type Adapter = {
  read(key: string): Promise<Stored | undefined> | Stored | undefined;
  write(key: string, state: Stored): Promise<void> | void;
  delete(key: string): Promise<void> | void;
};

/** Past this many chats the cache starts over (each chat then reads Redis once more). */
const MAX_CACHED_CHATS = 10_000;

/**
 * The conversations plugin's storage, keyed by chat id as the plugin's default (so state
 * written before stays readable), with a read that can start early: `readAhead(ctx)` asks
 * for the chat's state while the update's claim is on its way (oncePerUpdate), and the
 * plugin's read then takes that answer instead of a second round trip. Updates of one
 * chat are handled one after another, so nothing writes the state in between.
 *
 * With a cache scope, each chat's state (most often: none) is kept after its first read
 * and written through, so a chat's later updates need no read at all. An entry holds only
 * within the scope's epoch (one uninterrupted poller lease holding, while other instances'
 * writes are heard) and is dropped when another instance writes that chat's state; a read
 * that an epoch change or such a write overtook is not kept.
 */
export function createConversationStorage<C extends Context>(
  adapter: Adapter,
  version: string | number,
  scope?: ConversationCacheScope,
) {
  const ahead = new WeakMap<C, Promise<Stored | undefined>>();
  const cache = new Map<string, Stored | undefined>();
  let cachedIn: string | undefined;
  /** Counts other instances' writes heard: a read they overtook is not cached. */
  let heard = 0;
  scope?.listen((key) => {
    heard++;
    cache.delete(key);
  });
  /** The scope's epoch when caching is allowed now; drops entries of an older one. */
  const epochNow = () => {
    const epoch = scope?.epoch();
    if (epoch !== cachedIn) {
      cache.clear();
      cachedIn = epoch;
    }
    return epoch;
  };
  const remember = (key: string, state: Stored | undefined, epoch: string | undefined, seen: number) => {
    if (epoch === undefined || seen !== heard || epochNow() !== epoch) return;
    if (cache.size >= MAX_CACHED_CHATS) cache.clear();
    cache.set(key, state);
  };
  const readThrough = (key: string) => {
    const epoch = epochNow();
    const seen = heard;
    const read = Promise.resolve(adapter.read(key));
    if (epoch !== undefined)
      read.then(
        (state) => remember(key, state, epoch, seen),
        () => {},
      );
    return read;
  };
  const keyOf = (ctx: C) => ctx.chatId?.toString();
  const storage: ConversationStorage<C, ConversationData> = {
    type: 'context',
    version,
    adapter: {
      read(ctx) {
        const early = ahead.get(ctx);
        if (early) {
          ahead.delete(ctx);
          return early;
        }
        const key = keyOf(ctx);
        if (key === undefined) return undefined;
        // A copy: the plugin changes the state it is given in place.
        if (epochNow() !== undefined && cache.has(key)) return structuredClone(cache.get(key));
        return readThrough(key);
      },
      async write(ctx, state) {
        const key = keyOf(ctx);
        if (key === undefined) return;
        cache.delete(key);
        const epoch = epochNow();
        const seen = heard;
        await adapter.write(key, state);
        remember(key, state, epoch, seen);
      },
      async delete(ctx) {
        const key = keyOf(ctx);
        if (key === undefined) return;
        cache.delete(key);
        const epoch = epochNow();
        const seen = heard;
        await adapter.delete(key);
        remember(key, undefined, epoch, seen);
      },
    },
  };
  return {
    storage,
    /** Starts reading the chat's state now; the plugin's read for this update gets it. */
    readAhead(ctx: C): void {
      const key = keyOf(ctx);
      if (key === undefined) return;
      if (epochNow() !== undefined && cache.has(key)) return; // the plugin's read takes it from the cache
      const read = readThrough(key);
      // A failure reaches the plugin's read; an update not claimed never reads it.
      read.catch(() => {});
      ahead.set(ctx, read);
    },
  };
}
