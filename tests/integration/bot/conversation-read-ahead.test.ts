// Every update reads its chat's conversation state (@grammyjs/conversations). lugh asks
// for it alongside the update's once-per-environment claim, so an update waits for one
// Redis round trip, not two; an update it does not take is never handled.
import { afterEach, describe, expect, it } from 'vitest';
import type { BotDeps, UpdateGate } from '../../../src/bot/context.js';
import { createBot } from '../../../src/bot/create-bot.js';
import { type Config, secretsOf } from '../../../src/config/index.js';
import { createLogger } from '../../../src/logger.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { instanceConfig } from '../../helpers/instance-env.js';

const TOKEN = '5550102:AAReadAheadTestToken_abcdefghijklmno';
const NO_DATABASE = 'postgres://lugh:unused@127.0.0.1:1/staging_lugh';
const user = { id: 4242, first_name: 'Bea' };

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('conversation state read ahead', () => {
  let tg: TelegramStandIn | undefined;
  afterEach(async () => {
    await tg?.close();
    tg = undefined;
  });

  async function botWith(gate: UpdateGate) {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    const config: Config = instanceConfig({ databaseUrl: NO_DATABASE, apiRoot: tg.apiRoot, token: TOKEN });
    const reads: string[] = [];
    const deps: BotDeps = {
      config,
      logger: createLogger({ level: 'silent', secrets: secretsOf(config) }),
      audit: { record: async () => {} } as unknown as BotDeps['audit'],
      redact: createRedactor(secretsOf(config)),
      updateGate: gate,
      conversationStorage: {
        read: async (key) => {
          reads.push(key);
          return undefined;
        },
        write: async () => {},
        delete: async () => {},
      },
    };
    const { bot } = createBot(deps);
    await bot.init();
    /** A /help as the chat's user writes it, taken from the stand-in as getUpdates would. */
    const help = async () => {
      tg!.sendText({ token: TOKEN, chat: { id: user.id, type: 'private' }, from: user, text: '/help' });
      const updates = await bot.api.getUpdates();
      const update = updates.at(-1)!;
      await bot.api.getUpdates({ offset: update.update_id + 1 });
      return update;
    };
    const replies = () =>
      tg!.transcript(TOKEN, user.id).flatMap((e) => (e.kind === 'bot_message' ? [e.text ?? ''] : []));
    return { bot, reads, replies, help };
  }

  it('asks for the chat’s conversation while the claim is unanswered, once, and answers once claimed', async () => {
    const claim = deferred<boolean>();
    const { bot, reads, replies, help } = await botWith({ mayTake: () => true, claim: () => claim.promise });
    const handled = bot.handleUpdate(await help());
    await new Promise((resolve) => setImmediate(resolve));
    // Before: [] (the read waited for the claim's answer: two round trips in a row).
    expect(reads).toEqual([String(user.id)]);
    claim.resolve(true);
    await handled;
    expect(reads).toEqual([String(user.id)]);
    expect(replies().some((text) => text.includes('/help'))).toBe(true);
  });

  it('an update claimed elsewhere is not handled, whatever was read ahead', async () => {
    const { bot, replies, help } = await botWith({ mayTake: () => true, claim: async () => false });
    await bot.handleUpdate(await help());
    expect(replies()).toEqual([]);
  });

  it('an update the gate knows is new is handled without waiting for its claim, which is still sent first', async () => {
    const claims: number[] = [];
    const { bot, replies, help } = await botWith({
      mayTake: () => true,
      claim: (updateId) => {
        claims.push(updateId);
        return new Promise<boolean>(() => {}); // never answered
      },
      knowsNew: () => true,
    });
    const update = await help();
    await bot.handleUpdate(update);
    // Before the fast path: handleUpdate never settles (the claim is awaited).
    expect(claims).toEqual([update.update_id]);
    expect(replies().some((text) => text.includes('/help'))).toBe(true);
  });

  it('after a claim written behind failed, the next update waits for its claim again', async () => {
    const later = deferred<boolean>();
    const answers = [Promise.reject(new Error('READONLY')), later.promise];
    for (const a of answers) a.catch(() => {});
    const { bot, replies, help } = await botWith({
      mayTake: () => true,
      claim: () => answers.shift()!,
      knowsNew: () => true,
    });
    await bot.handleUpdate(await help());
    expect(replies()).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = bot.handleUpdate(await help());
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Before: answered at once, unclaimed.
    expect(replies()).toHaveLength(1);
    later.resolve(true);
    await second;
    expect(replies()).toHaveLength(2);
  });

  it('an update the gate does not know to be new still waits for its claim', async () => {
    const claim = deferred<boolean>();
    const { bot, replies, help } = await botWith({
      mayTake: () => true,
      claim: () => claim.promise,
      knowsNew: () => false,
    });
    const handled = bot.handleUpdate(await help());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(replies()).toEqual([]);
    claim.resolve(false);
    await handled;
    expect(replies()).toEqual([]);
  });

  it('an update this instance does not take reads nothing', async () => {
    const { bot, reads, replies, help } = await botWith({ mayTake: () => false, claim: async () => true });
    await bot.handleUpdate(await help());
    expect(reads).toEqual([]);
    expect(replies()).toEqual([]);
  });
});
