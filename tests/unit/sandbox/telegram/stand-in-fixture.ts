import { Bot } from 'grammy';
import {
  type SandboxUser,
  startTelegramStandIn,
  type TelegramStandIn,
  type TelegramStandInOptions,
} from '../../../../src/sandbox/telegram/index.js';

export const TOKEN = '7000001:AAE-test_token-secret';
export const OTHER_TOKEN = '7000002:AAF-other_token-secret';
export const alice: SandboxUser = { id: 1001, first_name: 'Alice', username: 'alice' };
export const bob: SandboxUser = { id: 1002, first_name: 'Bob' };
export const privateChat = (user: SandboxUser) => ({ id: user.id, type: 'private' as const });

/** A stand-in with the test bot registered. */
export async function startWithBot(options: TelegramStandInOptions = {}): Promise<TelegramStandIn> {
  const tg = await startTelegramStandIn(options);
  tg.registerBot({ token: TOKEN, username: 'lugh_test_bot', firstName: 'Lugh Test' });
  return tg;
}

/** A real grammY bot pointed at the stand-in; botInfo is not preset, so init calls getMe. */
export function grammyBot(tg: TelegramStandIn, token = TOKEN, timeoutSeconds?: number): Bot {
  return new Bot(token, {
    client: { apiRoot: tg.apiRoot, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) },
  });
}

/** Starts grammY's long polling and resolves once it is running. */
export async function startPolling(bot: Bot): Promise<{ stop: () => Promise<void>; done: Promise<void> }> {
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const done = bot.start({ onStart: () => markStarted() });
  await Promise.race([started, done]);
  return {
    done,
    stop: async () => {
      if (bot.isRunning()) await bot.stop();
      await done;
    },
  };
}

/** A user opens a private chat with the bot, so the bot may write to it. */
export function openChat(tg: TelegramStandIn, user: SandboxUser = alice, token = TOKEN): number {
  tg.sendText({ token, chat: privateChat(user), from: user, text: '/start' });
  return user.id;
}

/** Resolves once `condition` holds, polling briefly; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The number of calls of a method the stand-in has seen for the test bot. */
export const callCount = (tg: TelegramStandIn, method: string, token = TOKEN): number =>
  tg.calls(token).filter((call) => call.method === method).length;
