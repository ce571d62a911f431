// /promote against a protected main: GitHub's mergeable_state, not `mergeable`, says whether
// a merge can happen (blocked, behind, draft), and lugh acts on it instead of asking for a
// Yes that GitHub then refuses.
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/sandbox/telegram/index.js';
import {
  admin,
  createPromotionWorld,
  GITHUB_TOKEN,
  isPrompt,
  type PromotionWorld,
  STAGING_TOKEN,
} from '../helpers/promotion-world.js';

const TIMEOUT = 90_000;
const MERGE_ROUTE = 'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge';

/** main's protection as GitHub's PUT …/branches/main/protection takes it. */
function protection(p: { reviews?: number; contexts?: string[]; strict?: boolean }) {
  return {
    required_status_checks: p.contexts ? { strict: p.strict ?? false, contexts: p.contexts } : null,
    enforce_admins: true,
    required_pull_request_reviews: p.reviews ? { required_approving_review_count: p.reviews } : null,
    restrictions: null,
  };
}

const buttonsOf = (m: Message) => m.reply_markup?.inline_keyboard.flat() ?? [];
const isUpdateOffer = (m: Message) => buttonsOf(m).some((b) => b.text.includes('Update develop from main'));

/** What lugh says once CI is green: the Yes/No prompt, or why it will not ask. */
async function afterCi(w: PromotionWorld, words: RegExp): Promise<Message> {
  const sent = w.say(admin, '/promote');
  return w.waitFor(
    admin.id,
    (m) => m.message_id > sent.message_id && (isPrompt(m) || isUpdateOffer(m) || words.test(m.text ?? '')),
  );
}

describe('/promote and main’s branch protection (mergeable_state)', () => {
  let world: PromotionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it(
    'blocked by a missing approving review: says so, offers no approve button, merges nothing',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      w.gh.setBranchProtection('main', protection({ reviews: 1 }));
      const said = await afterCi(w, /approving review/);
      expect(isPrompt(said)).toBe(false);
      expect(said.text).toContain('1 approving review');
      expect(said.text).toContain('blocked');
      expect(buttonsOf(said)).toEqual([]);
      expect(w.gh.requests().filter((r) => r.route === MERGE_ROUTE)).toEqual([]);
      expect((await w.rows('SELECT status FROM promotions'))[0].status).toBe('failed');
    },
    TIMEOUT,
  );

  it(
    'blocked by a required check that never reported: names it, offers no approve button',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      w.gh.setBranchProtection('main', protection({ contexts: ['build', 'security-scan'] }));
      const said = await afterCi(w, /security-scan/);
      expect(isPrompt(said)).toBe(false);
      expect(said.text).toContain('security-scan');
      expect(said.text).toContain('has not reported');
      expect(buttonsOf(said)).toEqual([]);
      expect(w.gh.requests().filter((r) => r.route === MERGE_ROUTE)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'a draft pull request: says it is a draft and asks for nothing',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      // Someone opened the develop → main pull request as a draft; lugh reuses it.
      const opened = await fetch(`${w.gh.apiUrl}/repos/${w.gh.repo.owner}/${w.gh.repo.name}/pulls`, {
        method: 'POST',
        headers: { authorization: `token ${GITHUB_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'WIP promotion', head: 'develop', base: 'main', draft: true }),
      });
      expect(opened.status).toBe(201);
      const said = await afterCi(w, /draft/);
      expect(isPrompt(said)).toBe(false);
      expect(said.text).toContain('draft');
      expect(said.text).toContain('Ready for review');
      expect(w.gh.requests().filter((r) => r.route === MERGE_ROUTE)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'GitHub still computing mergeability when CI turns green (mergeable null, unknown): read again, then asked Yes/No',
    async () => {
      world = await createPromotionWorld({
        checks: [{ name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 600_000 }],
      });
      const w = world;
      const sent = w.say(admin, '/promote');
      await w.waitFor(admin.id, (m) => m.message_id > sent.message_id && (m.text ?? '').includes('build — '));
      const head = w.git('rev-parse', 'develop');
      w.gh.setMergeabilityLag(3);
      await w.gh.completeCheck(head, 'build', 'success');
      const prompt = await w.waitFor(admin.id, (m) => isPrompt(m) || (m.text ?? '').includes('❌'));
      expect(isPrompt(prompt)).toBe(true);
      expect(prompt.text).toContain(head);
    },
    TIMEOUT,
  );

  it(
    'main moves between the prompt and Yes under strict protection: GitHub’s 409 is not taken for a moved develop; the update is offered',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      w.gh.setBranchProtection('main', protection({ contexts: ['build'], strict: true }));
      const prompt = await afterCi(w, /behind/);
      expect(isPrompt(prompt)).toBe(true);
      await w.gh.pushCommit('main', { message: 'Hotfix on main', files: { 'HOTFIX.md': 'fixed\n' } });
      w.press(admin.id, prompt, 'Yes', admin);
      const notice = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('main moved since the prompt'));
      expect(notice.text).not.toContain('develop moved');
      const offer = await w.waitFor(admin.id, (m) => m.message_id > notice.message_id && isUpdateOffer(m));
      expect(offer.text).toContain('behind main');
      expect(
        w.gh
          .requests()
          .filter((r) => r.route === MERGE_ROUTE)
          .map((r) => r.status),
      ).toEqual([409]);
    },
    TIMEOUT,
  );

  it.each([
    ['update-branch', "Merge branch 'main' into develop"],
    ['merge', "Merge main into develop: main's protection wants it up to date (promotion #1)"],
  ])(
    'behind main under strict protection: one tap updates develop from main (PROMOTE_UPDATE_METHOD=%s), CI is followed again, then Yes merges',
    async (method, commitTitle) => {
      world = await createPromotionWorld({ env: { PROMOTE_UPDATE_METHOD: method } });
      const w = world;
      const hotfix = await w.gh.pushCommit('main', {
        message: 'Hotfix on main',
        files: { 'HOTFIX.md': 'fixed\n' },
      });
      w.gh.setBranchProtection('main', protection({ contexts: ['build'], strict: true }));
      const offer = await afterCi(w, /behind/);
      expect(isPrompt(offer)).toBe(false);
      expect(offer.text).toContain('behind main');
      expect(w.gh.requests().filter((r) => r.route === MERGE_ROUTE)).toEqual([]);

      const button = buttonsOf(offer).find((b) => b.text.includes('Update develop from main'));
      w.tg.pressButton({
        token: STAGING_TOKEN,
        chatId: admin.id,
        messageId: offer.message_id,
        data: button!.callback_data!,
        from: admin,
      });
      // develop now has main's hotfix (merged into it by GitHub's update-branch or merges API) ...
      const prompt = await w.waitFor(admin.id, (m) => m.message_id > offer.message_id && isPrompt(m));
      const develop = w.git('rev-parse', 'develop');
      expect(() => w.git('merge-base', '--is-ancestor', hotfix, develop)).not.toThrow();
      expect(w.git('log', '-1', '--format=%s', develop)).toBe(commitTitle);
      // ... and the prompt is for that new head, whose CI was followed again.
      expect(prompt.text).toContain(develop);
      const ciLines = w.tg
        .transcript(STAGING_TOKEN, admin.id)
        .filter((e) => e.kind === 'bot_message' && (e.text ?? '').includes(`CI for ${develop.slice(0, 7)}`));
      expect(ciLines.length).toBeGreaterThanOrEqual(1);

      w.press(admin.id, prompt, 'Yes', admin);
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
      expect(() => w.git('merge-base', '--is-ancestor', develop, 'main')).not.toThrow();
      expect(
        w.gh
          .requests()
          .filter((r) => r.route === MERGE_ROUTE)
          .map((r) => r.status),
      ).toEqual([200]);
    },
    TIMEOUT,
  );
});
