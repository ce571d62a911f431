// A group upgraded to a supergroup gets a new chat id (Telegram sends `migrate_to_chat_id`
// in the old group and `migrate_from_chat_id` in the new one; the old id then answers 400
// "group chat was upgraded to a supergroup chat"). lugh follows it and says which setting
// to update.
import { afterEach, describe, expect, it } from 'vitest';
import {
  admin,
  createPromotionWorld,
  isPrompt,
  type PromotionWorld,
  STAGING_TOKEN,
} from '../helpers/promotion-world.js';

const TIMEOUT = 90_000;
const GROUP = { id: -5001, type: 'group' as const, title: 'ops' };
const SUPERGROUP_ID = -1000000005001;

describe('a group upgraded to a supergroup', () => {
  let world: PromotionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it(
    'is followed when lugh sees the upgrade: the operator is told which settings to change, /promote works there, after a restart too',
    async () => {
      world = await createPromotionWorld({
        env: { PROMOTE_CHAT_IDS: String(GROUP.id), NOTIFY_CHAT_ID: String(GROUP.id) },
      });
      const w = world;
      const hello = w.say(admin, '/version', GROUP);
      await w.waitFor(GROUP.id, (m) => m.message_id > hello.message_id);

      expect(w.tg.migrateGroup(STAGING_TOKEN, GROUP.id, admin)).toBe(SUPERGROUP_ID);
      const told = await w.waitFor(SUPERGROUP_ID, (m) => (m.text ?? '').includes('supergroup'));
      expect(told.text).toContain(String(SUPERGROUP_ID));
      expect(told.text).toContain('PROMOTE_CHAT_IDS');
      expect(told.text).toContain('NOTIFY_CHAT_ID');

      const supergroup = { id: SUPERGROUP_ID, type: 'supergroup' as const, title: 'ops' };
      const ask = w.say(admin, '/promote', supergroup);
      const plan = await w.waitFor(SUPERGROUP_ID, (m) => m.message_id > ask.message_id);
      expect(plan.text).toContain('Promoting develop → main');

      // Remembered: a restarted instance still takes /promote in the supergroup.
      await w.restart();
      // The restarted instance's start-up check names the setting to change.
      expect(w.logLines.join('\n')).toContain('set NOTIFY_CHAT_ID=-1000000005001');
      const cancel = w.say(admin, '/cancel', supergroup);
      await w.waitFor(
        SUPERGROUP_ID,
        (m) => m.message_id > cancel.message_id && (m.text ?? '').includes('cancelled: nothing was merged'),
      );
      const again = w.say(admin, '/promote', supergroup);
      const replan = await w.waitFor(
        SUPERGROUP_ID,
        (m) => m.message_id > again.message_id && (m.text ?? '').includes('Promoting'),
      );
      expect(replan.text).toContain('Promoting develop → main');
      const refused = await w.rows(
        `SELECT count(*)::int AS n FROM audit_log WHERE outcome = 'refused' AND details->>'reason' = 'chat not allowed'`,
      );
      expect(refused[0].n).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'is followed when lugh missed the upgrade: a notice for the old id reaches the supergroup',
    async () => {
      world = await createPromotionWorld({
        checks: [{ name: 'tests', kind: 'check_run', conclusion: 'failure', afterMs: 200 }],
        env: { NOTIFY_CHAT_ID: String(GROUP.id), NOTIFY_HEALTH_INTERVAL_SECONDS: '1' },
        beforeStart: async (tg) => {
          // Upgraded while lugh was not listening: the service messages were taken by no one.
          tg.sendText({ token: STAGING_TOKEN, chat: GROUP, from: admin, text: 'hello' });
          tg.migrateGroup(STAGING_TOKEN, GROUP.id, admin);
          const pending = await fetch(`${tg.apiRoot}/bot${STAGING_TOKEN}/getUpdates`).then(
            (r) => r.json() as Promise<{ result: Array<{ update_id: number }> }>,
          );
          const last = pending.result.at(-1)?.update_id ?? 0;
          await fetch(`${tg.apiRoot}/bot${STAGING_TOKEN}/getUpdates?offset=${last + 1}&timeout=0`);
        },
      });
      const w = world;
      w.say(admin, '/promote');
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('CI failed'));
      const notice = await w.waitFor(SUPERGROUP_ID, (m) => (m.text ?? '').includes('failed'));
      expect(notice.text).toContain('promotion #');
      const told = await w.waitFor(SUPERGROUP_ID, (m) => (m.text ?? '').includes('NOTIFY_CHAT_ID'));
      expect(told.text).toContain(String(SUPERGROUP_ID));
    },
    TIMEOUT,
  );

  it(
    'a promotion in flight when its group is upgraded goes on in the supergroup',
    async () => {
      world = await createPromotionWorld({
        checks: [{ name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 600_000 }],
        env: { PROMOTE_CHAT_IDS: String(GROUP.id) },
      });
      const w = world;
      w.say(admin, '/promote', GROUP);
      await w.waitFor(GROUP.id, (m) => (m.text ?? '').includes('⏳ build'));
      w.tg.migrateGroup(STAGING_TOKEN, GROUP.id, admin);
      await w.gh.completeCheck(w.git('rev-parse', 'develop'), 'build', 'success');
      const prompt = await w.waitFor(SUPERGROUP_ID, isPrompt);
      expect(prompt.text).toContain(w.git('rev-parse', 'develop'));
      const ci = await w.waitFor(SUPERGROUP_ID, (m) => (m.text ?? '').includes('all green'));
      expect(ci.message_id).toBeLessThan(prompt.message_id);
      // The promotion now lives in the supergroup: its deploy reports there too.
      expect(Number((await w.rows('SELECT chat_id FROM promotions'))[0].chat_id)).toBe(SUPERGROUP_ID);
    },
    TIMEOUT,
  );
});
