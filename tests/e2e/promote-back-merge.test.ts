// A squash or rebase promotion writes new commits on main that develop does not have: left
// alone, the next /promote lists the shipped commits again and pull requests drift into
// conflicts. lugh brings develop back in line with main after such a promotion.
import { afterEach, describe, expect, it } from 'vitest';
import {
  admin,
  createPromotionWorld,
  GITHUB_TOKEN,
  isPrompt,
  type PromotionWorld,
  STAGING_TOKEN,
} from '../helpers/promotion-world.js';

const TIMEOUT = 90_000;
const REALIGNED = /develop (now points at main|has new commits)/;

async function promoteAndApprove(w: PromotionWorld) {
  const sent = w.say(admin, '/promote');
  const prompt = await w.waitFor(admin.id, (m) => m.message_id > sent.message_id && isPrompt(m));
  return { prompt };
}

/** Open pull requests from main into develop, as GitHub lists them. */
async function backMerges(w: PromotionWorld) {
  const res = await fetch(
    `${w.gh.apiUrl}/repos/${w.gh.repo.owner}/${w.gh.repo.name}/pulls?state=open&base=develop&head=${w.gh.repo.owner}:main`,
    { headers: { authorization: `token ${GITHUB_TOKEN}` } },
  );
  return (await res.json()) as Array<{ number: number; title: string; html_url: string }>;
}

describe('develop after a squash or rebase promotion', () => {
  let world: PromotionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it.each(['squash', 'rebase'])(
    '%s, develop unchanged since the promoted head: develop is moved to main, and the next /promote has nothing to ship',
    async (method) => {
      world = await createPromotionWorld({ env: { PROMOTE_MERGE_METHOD: method } });
      const w = world;
      const { prompt } = await promoteAndApprove(w);
      const promoted = w.git('rev-parse', 'develop');
      w.press(admin.id, prompt, 'Yes', admin);
      const merged = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
      // main has new commits (not develop's): git ancestry alone would call develop diverged.
      const main = w.git('rev-parse', 'main');
      expect(() => w.git('merge-base', '--is-ancestor', promoted, 'main')).toThrow();

      const realigned = await w.waitFor(
        admin.id,
        (m) => m.message_id > merged.message_id && REALIGNED.test(m.text ?? ''),
      );
      expect(realigned.text).toContain(`develop now points at main (${main.slice(0, 7)})`);
      expect(w.git('rev-parse', 'develop')).toBe(main);
      // Same content as what was promoted: nothing of develop was lost.
      expect(w.git('rev-parse', `${main}^{tree}`)).toBe(w.git('rev-parse', `${promoted}^{tree}`));

      // (Moving develop is a push to develop: staging may deploy it meanwhile, in its own messages.)
      const again = w.say(admin, '/promote');
      const reply = await w.waitFor(
        admin.id,
        (m) => m.message_id > again.message_id && /Nothing to promote|Promoting develop/.test(m.text ?? ''),
      );
      expect(reply.text).toContain('Nothing to promote');
    },
    TIMEOUT,
  );

  it(
    'rebase, develop protected against force pushes: develop is left as it is and a back-merge pull request is opened',
    async () => {
      world = await createPromotionWorld({ env: { PROMOTE_MERGE_METHOD: 'rebase' } });
      const w = world;
      w.gh.setBranchProtection('develop', {
        required_status_checks: null,
        enforce_admins: true,
        required_pull_request_reviews: null,
        restrictions: null,
      });
      const { prompt } = await promoteAndApprove(w);
      const promoted = w.git('rev-parse', 'develop');
      w.press(admin.id, prompt, 'Yes', admin);
      const said = await w.waitFor(admin.id, (m) => /develop may not be force-pushed/.test(m.text ?? ''));
      const [pull] = await backMerges(w);
      expect(said.text).toContain(`#${pull!.number}`);
      expect(pull!.title).toBe('Back-merge main into develop after promotion #1');
      expect(w.git('rev-parse', 'develop')).toBe(promoted);
    },
    TIMEOUT,
  );

  it(
    'squash, develop moved on meanwhile: develop is left as it is and a back-merge pull request main → develop is opened',
    async () => {
      world = await createPromotionWorld({ env: { PROMOTE_MERGE_METHOD: 'squash' } });
      const w = world;
      const { prompt } = await promoteAndApprove(w);
      // Hold the "Merged" message (Telegram asks to retry in 5 s) so that develop moves after
      // the merge and before lugh looks at it again.
      w.tg.injectFault({ method: 'sendMessage', chatId: admin.id, kind: '429', retryAfter: 5 });
      w.press(admin.id, prompt, 'Yes', admin);
      await expect
        .poll(
          () =>
            w.tg
              .calls(STAGING_TOKEN)
              .some((c) => c.method === 'sendMessage' && String(c.params.text).includes('✅ Merged')),
          { timeout: 20_000, interval: 20 },
        )
        .toBe(true);
      const late = await w.gh.pushCommit('develop', {
        message: 'Work after the promotion',
        files: { 'later.txt': 'later\n' },
      });

      const said = await w.waitFor(admin.id, (m) => REALIGNED.test(m.text ?? ''));
      const [pull] = await backMerges(w);
      expect(pull).toBeDefined();
      expect(said.text).toContain('develop has new commits');
      expect(said.text).toContain(`#${pull!.number}`);
      // develop keeps its new work; nothing was forced.
      expect(w.git('rev-parse', 'develop')).toBe(late);
    },
    TIMEOUT,
  );
});
