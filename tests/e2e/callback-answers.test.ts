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
});
