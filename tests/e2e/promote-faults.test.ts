// Exactly once through GitHub's faults: GitHub sometimes does what a POST asked and still
// answers 502, or never answers. Through the real promotion, with lugh's GitHub client as
// production runs it (retries on), each such fault still gives one merge, one release, one
// GitHub Deployment and one handoff to production.
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultSpec } from '../../src/sandbox/github/index.js';
import { admin, createPromotionWorld, isPrompt, type PromotionWorld } from '../helpers/promotion-world.js';

const TIMEOUT = 90_000;
/** The client's deadline per request: an injected hang becomes a timeout after it. */
const CLIENT_TIMEOUT_MS = 1_500;

const ROUTES = {
  merge: 'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge',
  release: 'POST /repos/{owner}/{repo}/releases',
  deployment: 'POST /repos/{owner}/{repo}/deployments',
} as const;
const PULL_READ = 'GET /repos/{owner}/{repo}/pulls/{pull_number}';

describe('/promote exactly once through GitHub faults', () => {
  let world: PromotionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  async function faultyWorld(env: Record<string, string> = {}) {
    world = await createPromotionWorld({
      webhooks: true,
      resilientGitHub: { timeoutMs: CLIENT_TIMEOUT_MS, retryBaseMs: 50 },
      env: { FEATURE_RELEASE_TAGS: 'true', ...env },
    });
    return world;
  }

  async function promoteToPrompt(w: PromotionWorld) {
    const sent = w.say(admin, '/promote');
    return w.waitFor(admin.id, (m) => m.message_id > sent.message_id && isPrompt(m));
  }

  const requestsTo = (w: PromotionWorld, route: string) => w.gh.requests().filter((r) => r.route === route);

  async function releases(w: PromotionWorld) {
    const res = await fetch(`${w.gh.apiUrl}/repos/${w.gh.repo.owner}/${w.gh.repo.name}/releases`, {
      headers: { authorization: `token ${w.config.github.token}` },
    });
    return (await res.json()) as Array<{ tag_name: string; target_commitish: string }>;
  }

  /** One merge, one release, one GitHub Deployment, one handoff told to the chat and audited. */
  async function expectExactlyOnce(w: PromotionWorld) {
    const main = w.git('rev-parse', 'main');
    expect(w.git('rev-list', '--merges', `${w.seeded.mainSha}..main`).split('\n')).toEqual([main]);
    expect(() => w.git('merge-base', '--is-ancestor', w.seeded.developSha, 'main')).not.toThrow();
    expect(requestsTo(w, ROUTES.merge)).toHaveLength(1);

    expect((await releases(w)).map((r) => [r.tag_name, r.target_commitish])).toEqual([['v0.1.0', main]]);
    expect(requestsTo(w, ROUTES.release)).toHaveLength(1);

    const [promotion] = await w.rows('SELECT id, status, github_deployment_id, tag FROM promotions');
    const handoffs = await w.handoffs();
    expect(handoffs).toEqual([
      expect.objectContaining({
        sha: main,
        // The signed handoff, and beside it the report production's final message tells.
        payload: {
          lugh: expect.objectContaining({ promotionId: Number(promotion.id) }),
          report: expect.objectContaining({ promotionId: Number(promotion.id) }),
        },
      }),
    ]);
    expect(requestsTo(w, ROUTES.deployment)).toHaveLength(1);
    expect(promotion).toMatchObject({ status: 'merged', tag: 'v0.1.0' });
    expect(Number(promotion.github_deployment_id)).toBe(handoffs[0]!.id);

    const told = w.tg
      .transcript(w.config.telegram.token, admin.id)
      .filter((e) => e.kind === 'bot_message' && (e.text ?? '').includes('Production deploy handed over'));
    expect(told).toHaveLength(1);
    const audited = await w.rows(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'deploy handed over' AND outcome = 'ok'`,
    );
    expect(audited[0].n).toBe(1);
    // Never told that nothing was merged.
    const wrong = w.tg
      .transcript(w.config.telegram.token, admin.id)
      .filter((e) => e.kind === 'bot_message' && /Nothing was merged|was not merged/.test(e.text ?? ''));
    expect(wrong).toEqual([]);
  }

  const cases = (['5xx', 'hang'] as const).flatMap((kind) =>
    (Object.keys(ROUTES) as Array<keyof typeof ROUTES>).map((target) => ({ kind, target })),
  );

  it.each(cases)(
    'GitHub performs the $target, then answers $kind: one merge, one release, one Deployment, one handoff',
    async ({ kind, target }) => {
      const w = await faultyWorld();
      const prompt = await promoteToPrompt(w);
      const fault: FaultSpec = { route: ROUTES[target], kind, performed: true };
      w.gh.injectFault(fault);
      w.press(admin.id, prompt, 'Yes', admin);
      const done = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('Production deploy handed over'));
      expect(done.text).toContain('v0.1.0');
      expect(requestsTo(w, ROUTES[target]).map((r) => r.status)).toEqual([kind === 'hang' ? 0 : 502]);
      await expectExactlyOnce(w);
    },
    TIMEOUT,
  );

  it.each(['5xx', 'hang'] as const)(
    'GitHub opens the pull request, then answers %s: one pull request, and the promotion goes on',
    async (kind) => {
      const w = await faultyWorld();
      const route = 'POST /repos/{owner}/{repo}/pulls';
      w.gh.injectFault({ route, kind, performed: true });
      const prompt = await promoteToPrompt(w);
      expect(prompt.text).toContain('PR: #1');
      expect(requestsTo(w, route).map((r) => r.status)).toEqual([kind === 'hang' ? 0 : 502]);
      w.press(admin.id, prompt, 'Yes', admin);
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('Production deploy handed over'));
      await expectExactlyOnce(w);
    },
    TIMEOUT,
  );

  it(
    'a merge whose answer was lost while the pull request cannot be read either is known from main',
    async () => {
      const w = await faultyWorld();
      const prompt = await promoteToPrompt(w);
      w.gh.injectFault({ route: ROUTES.merge, kind: '5xx', performed: true });
      // The read before the merge gets through; every read after it fails, retries included.
      w.gh.injectFault({
        route: 'GET /repos/{owner}/{repo}/pulls/{pull_number}',
        kind: '5xx',
        after: 1,
        times: 20,
      });
      w.press(admin.id, prompt, 'Yes', admin);
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('Production deploy handed over'));
      await expectExactlyOnce(w);
    },
    TIMEOUT,
  );

  it(
    'a merge whose answer was lost and GitHub cannot say whether it merged: the recovery poll finds it merged and hands over once',
    async () => {
      const w = await faultyWorld({ PROMOTE_POLL_SECONDS: '1' });
      const prompt = await promoteToPrompt(w);
      w.gh.injectFault({ route: ROUTES.merge, kind: 'hang', performed: true });
      const reads = [
        'GET /repos/{owner}/{repo}/pulls/{pull_number}',
        'GET /repos/{owner}/{repo}/compare/{basehead}',
      ];
      // Each read fails with its three retries, after the merge and again in the recovery at once
      // (the merge itself reads nothing first: its SHA guards it).
      w.gh.injectFault({ route: reads[0]!, kind: '5xx', times: 8 });
      w.gh.injectFault({ route: reads[1]!, kind: '5xx', times: 8 });
      w.press(admin.id, prompt, 'Yes', admin);
      await expect
        .poll(() => reads.map((route) => requestsTo(w, route).filter((r) => r.status === 502).length), {
          timeout: 20_000,
        })
        .toEqual([8, 8]);
      // lugh does not know: it neither says nothing was merged nor merges again.
      const tapped = await w.waitFor(admin.id, (m) => m.text?.includes('Merging') ?? false);
      expect(tapped.reply_markup).toBeUndefined();
      await expect
        .poll(async () => (await w.rows('SELECT status FROM promotions'))[0].status)
        .toBe('merging');
      // Later, as the recovery poll sees a merge left undecided for a while.
      await w.rows(`UPDATE promotions SET updated_at = now() - interval '2 minutes'`);
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('Production deploy handed over'));
      await expectExactlyOnce(w);
    },
    TIMEOUT,
  );

  it(
    'a merge whose answer was lost, read back stale: a later tap gets 405, and the merge is recognised and handed over once',
    async () => {
      // Squash: main then holds no merge commit with the head as a parent, so only the pull
      // request's own read can tell that it merged.
      const w = await faultyWorld({ PROMOTE_MERGE_METHOD: 'squash' });
      const prompt = await promoteToPrompt(w);
      w.gh.injectFault({ route: ROUTES.merge, kind: '5xx', performed: true });
      // GitHub's reads lag behind its write: the merged pull request still reads open and
      // unmerged after the lost answer, at the next tap, and right after that tap's 405.
      w.gh.injectFault({ route: PULL_READ, kind: 'stale', times: 3 });
      w.press(admin.id, prompt, 'Yes', admin);
      const again = await w.waitFor(admin.id, (m) => m.message_id > prompt.message_id && isPrompt(m));
      w.press(admin.id, again, 'Yes', admin);
      const done = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('Production deploy handed over'));
      expect(done.text).toContain('v0.1.0');

      // The later tap reached the merge: the pull request read as unmerged, and GitHub said 405.
      expect(requestsTo(w, ROUTES.merge).map((r) => r.status)).toEqual([502, 405]);
      // One merge: one squashed commit on main, with develop's content.
      const main = w.git('rev-parse', 'main');
      expect(w.git('rev-list', `${w.seeded.mainSha}..main`).split('\n')).toEqual([main]);
      expect(w.git('rev-parse', 'main^{tree}')).toBe(w.git('rev-parse', `${w.seeded.developSha}^{tree}`));
      expect((await releases(w)).map((r) => [r.tag_name, r.target_commitish])).toEqual([['v0.1.0', main]]);
      // One GitHub Deployment for production, recorded on the promotion.
      const [promotion] = await w.rows('SELECT id, status, github_deployment_id, merge_sha FROM promotions');
      const handoffs = await w.handoffs();
      expect(handoffs).toEqual([
        expect.objectContaining({
          sha: main,
          // The signed handoff, and beside it the report production's final message tells.
          payload: {
            lugh: expect.objectContaining({ promotionId: Number(promotion.id) }),
            report: expect.objectContaining({ promotionId: Number(promotion.id) }),
          },
        }),
      ]);
      expect(requestsTo(w, ROUTES.deployment)).toHaveLength(1);
      expect(promotion).toMatchObject({ status: 'merged', merge_sha: main });
      expect(Number(promotion.github_deployment_id)).toBe(handoffs[0]!.id);
      // Told once, audited once, and never told that nothing was merged or that GitHub refused it.
      const said = w.tg
        .transcript(w.config.telegram.token, admin.id)
        .flatMap((e) => (e.kind === 'bot_message' ? [e.text ?? ''] : []));
      expect(said.filter((text) => text.includes('Production deploy handed over'))).toHaveLength(1);
      expect(said.filter((text) => /Nothing was merged|GitHub refused the merge/.test(text))).toEqual([]);
      const audited = await w.rows(
        `SELECT count(*)::int AS n FROM audit_log WHERE action = 'deploy handed over' AND outcome = 'ok'`,
      );
      expect(audited[0].n).toBe(1);
    },
    TIMEOUT,
  );
});
