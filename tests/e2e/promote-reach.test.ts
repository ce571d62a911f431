// Staging's /promote warns the requester before asking for approval when the production bot
// cannot write to them (they never opened a chat with it, as production's instance
// publishes in Redis), with a button that opens the production bot.
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/sandbox/telegram/index.js';
import { admin, createPromotionWorld, isPrompt, type PromotionWorld } from '../helpers/promotion-world.js';

const TIMEOUT = 90_000;
const isReachNotice = (m: Message) => (m.text ?? '').includes('cannot write to you');

describe('/promote and a production bot the requester never opened', () => {
  let world: PromotionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it(
    'tells the requester before the approval prompt, with a t.me button that opens the production bot',
    async () => {
      world = await createPromotionWorld({ webhooks: true });
      const w = world;
      await w.productionReach([admin.id], 'LughBot');
      const sent = w.say(admin, '/promote');
      const prompt = await w.waitFor(admin.id, (m) => m.message_id > sent.message_id && isPrompt(m), 60_000);
      const notice = w.tg
        .transcript(w.config.telegram.token, admin.id)
        .flatMap((e) => (e.kind === 'bot_message' && e.message_id > sent.message_id ? [e.message] : []))
        .find(isReachNotice);
      expect(notice?.message_id).toBeLessThan(prompt.message_id);
      expect(notice?.text).toMatch(/@LughBot cannot write to you.*\/start/s);
      expect(notice?.reply_markup?.inline_keyboard.flat()).toEqual([
        { text: 'Open @LughBot', url: 'https://t.me/LughBot?start=reports' },
      ]);
    },
    TIMEOUT,
  );

  it(
    'says nothing of it when the production bot can write to the requester',
    async () => {
      world = await createPromotionWorld({ webhooks: true });
      const w = world;
      await w.productionReach([], 'LughBot');
      const sent = w.say(admin, '/promote');
      await w.waitFor(admin.id, (m) => m.message_id > sent.message_id && isPrompt(m), 60_000);
      const texts = w.tg
        .transcript(w.config.telegram.token, admin.id)
        .flatMap((e) => (e.kind === 'bot_message' ? [e.message] : []));
      expect(texts.filter(isReachNotice)).toEqual([]);
    },
    TIMEOUT,
  );
});
