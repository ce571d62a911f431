// How lugh sets itself up on Telegram: the update types it asks for, and commands meant
// for other bots in a group.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/sandbox/free-port.js';
import {
  admin,
  createPromotionWorld,
  isPrompt,
  type PromotionWorld,
  STAGING_TOKEN,
} from '../helpers/promotion-world.js';

const TIMEOUT = 90_000;

describe('lugh’s Telegram setup', () => {
  let world: PromotionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  /** The token's previous program took messages only; Telegram remembers that until told otherwise. */
  async function previousOwnerTookMessagesOnly(tg: PromotionWorld['tg']) {
    const res = await fetch(`${tg.apiRoot}/bot${STAGING_TOKEN}/getUpdates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ timeout: 0, allowed_updates: ['message'] }),
    });
    expect(res.status).toBe(200);
  }

  async function promoteAndMerge(w: PromotionWorld) {
    w.say(admin, '/promote');
    const prompt = await w.waitFor(admin.id, isPrompt);
    w.press(admin.id, prompt, 'Yes', admin);
    await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
  }

  it(
    'webhook: setWebhook names exactly the updates lugh handles, so buttons work on a token whose previous owner excluded callback_query',
    async () => {
      const port = await freePort();
      world = await createPromotionWorld({
        beforeStart: previousOwnerTookMessagesOnly,
        env: {
          PORT: String(port),
          TELEGRAM_WEBHOOK_URL: `http://127.0.0.1:${port}/webhooks/telegram`,
          TELEGRAM_WEBHOOK_SECRET: 'world-webhook-secret_0123',
        },
      });
      const w = world;
      await promoteAndMerge(w);
      const setWebhook = w.tg.calls(STAGING_TOKEN).filter((c) => c.method === 'setWebhook');
      expect(setWebhook.at(-1)?.params.allowed_updates).toEqual(['message', 'callback_query']);
    },
    TIMEOUT,
  );

  it(
    'polling: getUpdates names exactly the updates lugh handles',
    async () => {
      world = await createPromotionWorld({ beforeStart: previousOwnerTookMessagesOnly });
      const w = world;
      await promoteAndMerge(w);
      const polls = w.tg.calls(STAGING_TOKEN).filter((c) => c.method === 'getUpdates');
      // Telegram keeps the last list when a call omits it (grammY names it on the first poll only).
      const named = polls.filter((c) => c.params.allowed_updates !== undefined);
      expect(named.at(-1)?.params.allowed_updates).toEqual(['message', 'callback_query']);
    },
    TIMEOUT,
  );

  it(
    'ignores a command addressed to another bot in a group, and answers its own',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      const group = { id: -4343, type: 'group' as const, title: 'ops' };
      const other = w.say(admin, '/status@OtherBot', group);
      w.say(admin, '/nosuchthing@OtherBot', group);
      w.say(admin, '/version@LughDevBot', group);
      const reply = await w.waitFor(group.id, (m) => m.message_id > other.message_id);
      expect(reply.text).toContain('staging');
      expect(reply.text).not.toContain('I don’t know that one');
      const own = w.say(admin, '/nosuchthing@LughDevBot', group);
      const unknown = await w.waitFor(group.id, (m) => m.message_id > own.message_id);
      expect(unknown.text).toContain('I don’t know that one');
    },
    TIMEOUT,
  );
});
