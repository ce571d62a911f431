// The live CI message against Telegram's limits: a text is at most 4096 characters after
// entity parsing, and a message a user deleted can no longer be edited. Both must leave the
// promotion going.
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/sandbox/telegram/index.js';
import {
  admin,
  type CheckPlan,
  createPromotionWorld,
  isPrompt,
  type PromotionWorld,
} from '../helpers/promotion-world.js';

const TIMEOUT = 90_000;
const TELEGRAM_TEXT_LIMIT = 4096;

/** A matrix big enough that one line per check no longer fits one message (fewer than 100: one page). */
function matrix(count: number, conclusion: 'success' | 'failure'): CheckPlan {
  return Array.from({ length: count }, (_, i) => ({
    name: `test (ubuntu-latest, node-22, shard ${String(i + 1).padStart(2, '0')} of ${count})`,
    kind: 'check_run' as const,
    conclusion,
    afterMs: 200,
  }));
}

const isCi = (m: Message) => (m.text ?? '').includes('CI for');

describe('/promote within Telegram’s message limits', () => {
  let world: PromotionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  /** Every version of every bot message in the admin's chat, as Telegram stored it. */
  function everyText(w: PromotionWorld): string[] {
    return w.tg
      .transcript(w.config.telegram.token, admin.id)
      .flatMap((e) =>
        e.kind === 'bot_message' ? [e.original.text ?? '', ...e.edits.map((x) => x.text ?? '')] : [],
      );
  }

  it(
    'a 95-check CI summarises in one message under 4096 characters and the promotion prompts',
    async () => {
      world = await createPromotionWorld({ checks: matrix(95, 'success') });
      const w = world;
      w.say(admin, '/promote');
      const prompt = await w.waitFor(admin.id, isPrompt);
      expect(prompt.text).toContain('Merge and deploy to production?');
      const ci = await w.waitFor(admin.id, (m) => isCi(m) && (m.text ?? '').includes('all green'));
      expect(ci.text).toContain('95 passed');
      for (const text of everyText(w)) expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    },
    TIMEOUT,
  );

  it(
    'a 95-check red CI names the failures it can, says how many more, and fits one message',
    async () => {
      world = await createPromotionWorld({ checks: matrix(95, 'failure') });
      const w = world;
      w.say(admin, '/promote');
      const failed = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('CI failed'));
      expect(failed.text).toContain('shard 01 of 95');
      expect(failed.text).toMatch(/and \d+ more/);
      expect((await w.rows(`SELECT status FROM promotions`))[0].status).toBe('failed');
      for (const text of everyText(w)) expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    },
    TIMEOUT,
  );

  it(
    'a CI message the user deleted is sent again, and the promotion still prompts',
    async () => {
      world = await createPromotionWorld({
        checks: [{ name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 600_000 }],
      });
      const w = world;
      w.say(admin, '/promote');
      const running = await w.waitFor(admin.id, (m) => isCi(m) && (m.text ?? '').includes('⏳ build'));
      w.tg.deleteMessage(w.config.telegram.token, admin.id, running.message_id);
      await w.gh.completeCheck(w.git('rev-parse', 'develop'), 'build', 'success');

      const prompt = await w.waitFor(admin.id, isPrompt);
      const again = await w.waitFor(
        admin.id,
        (m) => isCi(m) && m.message_id > running.message_id && (m.text ?? '').includes('all green'),
      );
      expect(again.message_id).toBeLessThan(prompt.message_id);
      expect((await w.rows(`SELECT status FROM promotions`))[0].status).toBe('awaiting_approval');
    },
    TIMEOUT,
  );
});
