import type { ConversationData, ConversationStorage, VersionedState } from '@grammyjs/conversations';
import type { Context } from 'grammy';

type Stored = VersionedState<ConversationData>;
type Adapter = {
  read(key: string): Promise<Stored | undefined> | Stored | undefined;
  write(key: string, state: Stored): Promise<void> | void;
  delete(key: string): Promise<void> | void;
};

/**
 * The conversations plugin's storage, keyed by chat id as the plugin's default (so state
 * written before stays readable), with a read that can start early: `readAhead(ctx)` asks
 * for the chat's state while the update's claim is on its way (oncePerUpdate), and the
 * plugin's read then takes that answer instead of a second round trip. Updates of one
 * chat are handled one after another, so nothing writes the state in between.
 */
export function createConversationStorage<C extends Context>(adapter: Adapter, version: string | number) {
  const ahead = new WeakMap<C, Promise<Stored | undefined>>();
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
        return key === undefined ? undefined : adapter.read(key);
      },
      write(ctx, state) {
        const key = keyOf(ctx);
        return key === undefined ? undefined : adapter.write(key, state);
      },
      delete(ctx) {
        const key = keyOf(ctx);
        return key === undefined ? undefined : adapter.delete(key);
      },
    },
  };
  return {
    storage,
    /** Starts reading the chat's state now; the plugin's read for this update gets it. */
    readAhead(ctx: C): void {
      const key = keyOf(ctx);
      if (key === undefined) return;
      const read = Promise.resolve(adapter.read(key));
      // A failure reaches the plugin's read; an update not claimed never reads it.
      read.catch(() => {});
      ahead.set(ctx, read);
    },
  };
}
