// Telegram keeps a button press answerable for ~10–15 s and then refuses the answer
// ("query is too old"). A merge with GitHub's write spacing takes longer than that: the
// press must be answered before the merge starts, and the merge's outcome shown in the
// edited message.
import { afterEach, describe, expect, it } from 'vitest';
import { admin, createPromotionWorld, isPrompt, type PromotionWorld } from '../helpers/promotion-world.js';

const TIMEOUT = 90_000;
const MERGE = 'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge';

describe('button presses are answered before the slow work', () => {
  let world: PromotionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it(
    'Yes on /promote is answered “Merging…” before the merge; a merge longer than Telegram keeps the press brings no “Something went wrong”',
    async () => {
      let telegramSkew = 0;
      world = await createPromotionWorld({
        webhooks: true,
        // A merge whose answer is slow: the client gives up after 1.5 s and asks GitHub.
        resilientGitHub: { timeoutMs: 1_500, retryBaseMs: 50 },
        telegramNow: () => Date.now() + telegramSkew,
      });
      const w = world;
      const sent = w.say(admin, '/promote');
      const prompt = await w.waitFor(admin.id, (m) => m.message_id > sent.message_id && isPrompt(m));
      w.gh.injectFault({ route: MERGE, kind: 'hang', performed: true });
      const queryId = w.press(admin.id, prompt, 'Yes', admin);

      // While GitHub works on the merge, Telegram's patience with the press runs out.
      await expect
        .poll(() => w.gh.requests().filter((r) => r.route === MERGE).length, { timeout: 20_000 })
        .toBe(1);
      telegramSkew += 16_000;
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('Production deploy handed over'));

      expect(w.callbackAnswer(admin.id, queryId)).toMatchObject({
        text: expect.stringContaining('Merging…'),
      });
      const said = w.tg
        .transcript(w.config.telegram.token, admin.id)
        .flatMap((e) => (e.kind === 'bot_message' ? [e.text ?? ''] : []));
      expect(said.filter((text) => text.includes('Something went wrong'))).toEqual([]);
      expect(w.logLines.join('')).not.toContain('update failed');
    },
    TIMEOUT,
  );

  it(
    'while the merge runs lugh goes on answering: a second tap (a stale keyboard on another device) is told “Already confirmed” and a command is answered, before the merge ends',
    async () => {
      world = await createPromotionWorld({
        webhooks: true,
        // The merge's answer never comes: the client waits 8 s, then asks GitHub.
        resilientGitHub: { timeoutMs: 8_000, retryBaseMs: 50 },
      });
      const w = world;
      const sent = w.say(admin, '/promote');
      const prompt = await w.waitFor(admin.id, (m) => m.message_id > sent.message_id && isPrompt(m));
      const yes = prompt.reply_markup?.inline_keyboard.flat().find((b) => b.text === 'Merge & deploy');
      w.gh.injectFault({ route: MERGE, kind: 'hang', performed: true });
      w.press(admin.id, prompt, 'Yes', admin);
      await expect
        .poll(() => w.gh.requests().filter((r) => r.route === MERGE).length, { timeout: 20_000 })
        .toBe(1);

      // The keyboard is gone from this chat, but another device still showed it.
      w.tg.injectUpdate(w.config.telegram.token, {
        callback_query: {
          id: 'stale-tap-1',
          from: { ...admin, is_bot: false },
          chat_instance: '42',
          message: prompt,
          data: yes?.callback_data,
        },
      });
      const whoami = w.say(admin, '/whoami');
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('Production deploy handed over'));
      const reply = await w.waitFor(
        admin.id,
        (m) => m.message_id > whoami.message_id && !!m.text?.includes('Role'),
      );

      const transcript = w.tg.transcript(w.config.telegram.token, admin.id);
      const at = (found: (e: (typeof transcript)[number]) => boolean) => transcript.findIndex(found);
      const handedOver = at(
        (e) => e.kind === 'bot_message' && (e.text ?? '').includes('Production deploy handed over'),
      );
      const staleAnswer = at((e) => e.kind === 'callback_answer' && e.callback_query_id === 'stale-tap-1');
      const whoamiReply = at((e) => e.kind === 'bot_message' && e.message_id === reply.message_id);
      expect(w.callbackAnswer(admin.id, 'stale-tap-1')?.text).toContain(
        'Already confirmed: the merge is under way',
      );
      expect(staleAnswer).toBeLessThan(handedOver);
      expect(whoamiReply).toBeLessThan(handedOver);
      expect(w.gh.requests().filter((r) => r.route === MERGE)).toHaveLength(1);
    },
    TIMEOUT,
  );
});
