import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { renderDecisionAnswer } from '../../src/bot/promotion/answer-text.js';
import { verifyHandoff } from '../../src/deployer/handoff-signature.js';
import { createRedis } from '../../src/store/redis.js';
import { PROMOTE_KEYS } from '../helpers/instance-env.js';
import {
  admin,
  createPromotionWorld,
  GREEN_CI,
  isPrompt,
  type PromotionWorld,
  secondAdmin,
  stranger,
  WEBHOOK_SECRET,
} from '../helpers/promotion-world.js';

const TIMEOUT = 90_000;

describe('/promote end to end, through the Telegram and GitHub stand-ins', () => {
  let world: PromotionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  async function promoteToPrompt(w: PromotionWorld, chatId = admin.id) {
    const sent = w.say(admin, '/promote');
    const plan = await w.waitFor(
      chatId,
      (m) =>
        m.message_id > sent.message_id && (m.text ?? '').startsWith('🧪 STAGING · Promoting develop → main'),
    );
    const prompt = await w.waitFor(chatId, (m) => m.message_id > plan.message_id && isPrompt(m));
    return { plan, prompt };
  }

  it(
    'happy path: shows what will ship, follows CI in one message, merges on Yes and hands production exactly one deploy',
    async () => {
      world = await createPromotionWorld({ webhooks: true });
      const w = world;
      const { plan, prompt } = await promoteToPrompt(w);

      // What will ship: the three develop commits, newest first, and the PR.
      const developLog = w.git('log', '--format=%h %s', 'main..develop').split('\n');
      for (const line of developLog) expect(plan.text).toContain(line.slice(8));
      expect(plan.text).toContain('3 commits');
      expect(plan.text).toMatch(/Pull request: #1/);

      // One live CI message, edited in place, ending green with a line per check.
      const ci = w.tg
        .transcript(w.config.telegram.token, admin.id)
        .find((e) => e.kind === 'bot_message' && (e.text ?? '').includes('CI for'));
      expect(ci?.kind === 'bot_message' && ci.edits.length).toBeGreaterThanOrEqual(1);
      expect(ci?.kind === 'bot_message' && ci.text).toMatch(/all green/);
      expect(ci?.kind === 'bot_message' && ci.text).toContain('✅ build');
      expect(ci?.kind === 'bot_message' && ci.text).toContain('✅ ci/lint');
      // Never more than one edit a second: lugh waits out the rest of the second itself.
      // (How many edits there are depends on when lugh looks: a loaded machine may see CI
      // only once it is all green, so the count is not asserted beyond the one above.)
      const editTimes = ci?.kind === 'bot_message' ? ci.edits.map((e) => e.at) : [];
      for (let i = 1; i < editTimes.length; i++)
        expect(editTimes[i]! - editTimes[i - 1]!).toBeGreaterThanOrEqual(950);

      // The prompt names the exact head SHA.
      expect(prompt.text).toContain(w.git('rev-parse', 'develop'));

      w.press(admin.id, prompt, 'Yes', admin);
      const done = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
      expect(done.text).toMatch(/Production deploy handed over \(on GitHub\)/);

      // develop really reached main, by a real git merge.
      const main = w.git('rev-parse', 'main');
      expect(done.text).toContain(main.slice(0, 7));
      expect(() => w.git('merge-base', '--is-ancestor', w.seeded.developSha, 'main')).not.toThrow();

      // Exactly one GitHub Deployment hands production its deploy; staging queues nothing
      // itself (production's own instance claims it, into its own database).
      // It is signed with staging's PROMOTE_SIGNING_KEY over that commit, the environment,
      // the promotion, its approver and its chat: production's key verifies it.
      const [promotion] = await w.rows('SELECT id, first_commit_at, head_title FROM promotions');
      // Lead time (/delivery) starts at the oldest commit the promotion shipped: recorded
      // from the compare, and carried to production in the report.
      const authored = w
        .git('log', '--format=%at', `${w.seeded.mainSha}..${w.seeded.developSha}`)
        .split('\n')
        .map((t) => Number(t) * 1000);
      expect(promotion.first_commit_at).toEqual(new Date(Math.min(...authored)));
      // Fix-forwards (/delivery) read the head commit's title, from the same compare.
      const title = w.git('log', '-1', '--format=%s', w.seeded.developSha).trim();
      expect(promotion.head_title).toBe(title);
      const handoffs = await w.handoffs();
      expect(handoffs).toEqual([
        expect.objectContaining({
          sha: main,
          environment: 'production',
          payload: {
            lugh: {
              promotionId: Number(promotion.id),
              approvers: [admin.id],
              chatId: admin.id,
              approvedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
              signature: expect.any(String),
            },
            // What production's report tells (display only, beside the signed claims).
            report: expect.objectContaining({
              promotionId: Number(promotion.id),
              pr: { number: 1, url: expect.stringMatching(/\/pull\/1$/) },
              promotedBy: '@ada',
              approvedBy: '@ada',
              ciMs: expect.any(Number),
              firstCommitAt: new Date(Math.min(...authored)).toISOString(),
              headTitle: title,
            }),
          },
        }),
      ]);
      const verdict = verifyHandoff(handoffs[0]!, handoffs[0]!.payload.lugh, PROMOTE_KEYS.verifyKey);
      expect(verdict).toMatchObject({
        ok: true,
        claims: { sha: main, promotionId: Number(promotion.id), approvers: [admin.id], chatId: admin.id },
      });
      expect((await w.rows('SELECT count(*)::int AS n FROM deployments'))[0].n).toBe(0);

      // A GitHub Deployment for production, and the audit trail.
      expect(
        w.gh.requests().filter((r) => r.method === 'POST' && r.route?.endsWith('/deployments')),
      ).toHaveLength(1);
      const actions = (await w.rows(`SELECT action FROM audit_log WHERE outcome = 'ok' ORDER BY id`)).map(
        (r) => r.action,
      );
      expect(actions).toEqual(expect.arrayContaining(['/promote', 'promotion merged', 'deploy handed over']));

      // Nothing left to promote now.
      const again = w.say(admin, '/promote');
      const nothing = await w.waitFor(admin.id, (m) => m.message_id > again.message_id);
      expect(nothing.text).toContain('Nothing to promote');
    },
    TIMEOUT,
  );

  it(
    'refuses, with the reason and nothing changed: a stranger, a group not allowed, a promotion in flight, a held lock, a freeze',
    async () => {
      world = await createPromotionWorld({
        webhooks: true,
        checks: [{ name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 60_000 }],
      });
      const w = world;
      const ask = async (
        from: typeof admin,
        chat?: { id: number; type: 'private' | 'group'; title?: string },
      ) => {
        const sent = w.say(from, '/promote', chat);
        return (await w.waitFor(chat?.id ?? from.id, (m) => m.message_id > sent.message_id)).text ?? '';
      };
      expect(await ask(stranger)).toContain('/promote is for lugh admins only');
      expect(await ask(admin, { id: -4242, type: 'group', title: 'random group' })).toContain(
        'private chat with me, or in a group listed in PROMOTE_CHAT_IDS',
      );

      // As the production instance publishes it when someone sends it /lock production.
      await w.lockProduction('@ops', 'database maintenance', 2 * 3_600_000);
      // Replies from inside the conversation are marked as staging and rendered as HTML too.
      expect(await ask(admin)).toMatch(
        /^🧪 STAGING · ⛔ Production deploys are locked by @ops: “database maintenance”, for another (1 h 59|2 h 0) min/,
      );
      await w.unlockProduction();

      // A promotion in flight (CI takes a minute here) blocks a second one.
      await ask(admin);
      expect(await ask(secondAdmin)).toMatch(/^🧪 STAGING · ⏳ Promotion #\d+ \(#1\) is already in flight/);
      expect(w.gh.requests().filter((r) => r.method === 'POST' && r.route?.endsWith('/pulls'))).toHaveLength(
        1,
      );
      expect((await w.rows(`SELECT count(*)::int AS n FROM promotions`))[0].n).toBe(1);
      const refusals = await w.rows(
        `SELECT details->>'reason' AS reason FROM audit_log WHERE outcome = 'refused' ORDER BY id`,
      );
      expect(refusals.map((r) => r.reason)).toEqual([
        'not an admin',
        'chat not allowed',
        'deploy lock held',
        'in flight',
      ]);
    },
    TIMEOUT,
  );

  it(
    'refuses during a freeze window',
    async () => {
      world = await createPromotionWorld({
        env: { FREEZE_WINDOWS: 'Mon 00:00-Sun 23:59', FREEZE_TIMEZONE: 'Europe/Berlin' },
      });
      const w = world;
      const sent = w.say(admin, '/promote');
      const reply = await w.waitFor(admin.id, (m) => m.message_id > sent.message_id);
      expect(reply.text).toContain('Promotions are frozen now (Mon 00:00-Sun 23:59, Europe/Berlin)');
      expect(w.gh.requests().filter((r) => r.method !== 'GET')).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'red CI: lists the failed checks with their links and offers no merge button',
    async () => {
      world = await createPromotionWorld({
        checks: [
          { name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 200 },
          { name: 'tests', kind: 'check_run', conclusion: 'failure', afterMs: 400 },
        ],
      });
      const w = world;
      w.say(admin, '/promote');
      const failed = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('CI failed'));
      expect(failed.text).toContain('tests — failure');
      expect(failed.text).not.toContain('build — success');
      expect(failed.entities?.some((e) => e.type === 'text_link')).toBe(true);
      const prompts = w.tg
        .transcript(w.config.telegram.token, admin.id)
        .filter((e) => e.kind === 'bot_message' && e.reply_markup);
      expect(prompts).toEqual([]);
      expect((await w.rows(`SELECT status FROM promotions`))[0].status).toBe('failed');
    },
    TIMEOUT,
  );

  it(
    'CI timeout: the promotion expires and says so',
    async () => {
      world = await createPromotionWorld({
        checks: [{ name: 'slow', kind: 'check_run', conclusion: 'success', afterMs: 600_000 }],
        webhooks: false,
      });
      const w = world;
      w.say(admin, '/promote');
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('slow — '));
      w.advanceClock(31 * 60_000);
      const expired = await w.waitFor(admin.id, (m) =>
        (m.text ?? '').includes('CI did not finish within 30 min'),
      );
      expect(expired.text).toContain('nothing was merged');
      expect((await w.rows(`SELECT status, reason FROM promotions`))[0]).toEqual({
        status: 'expired',
        reason: 'CI timeout',
      });
    },
    TIMEOUT,
  );

  it(
    'head moved before Yes: nothing is merged, CI is followed again and a new prompt names the new head',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      const { prompt } = await promoteToPrompt(w);
      const moved = await w.gh.pushCommit('develop', {
        message: 'Late fix',
        files: { 'late.txt': 'late\n' },
      });
      w.press(admin.id, prompt, 'Yes', admin);
      const notice = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('develop moved'));
      expect(notice.text).toContain(moved.slice(0, 7));
      expect(w.git('rev-parse', 'main')).toBe(w.seeded.mainSha);
      const second = await w.waitFor(admin.id, (m) => m.message_id > notice.message_id && isPrompt(m));
      expect(second.text).toContain(moved);
      w.press(admin.id, second, 'Yes', admin);
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
      expect(() => w.git('merge-base', '--is-ancestor', moved, 'main')).not.toThrow();
    },
    TIMEOUT,
  );

  it(
    'survives a restart between the prompt and the tap: the pending buttons still work',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      const { prompt } = await promoteToPrompt(w);
      await w.restart();
      w.press(admin.id, prompt, 'Yes', admin);
      const done = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
      expect(done.text).toMatch(/Production deploy handed over/);
      expect(await w.handoffs()).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'the double-tap storm: Yes 20 times from two devices plus a redelivered webhook give one merge and one handed-over deploy',
    async () => {
      world = await createPromotionWorld({ webhooks: true });
      const w = world;
      const { prompt } = await promoteToPrompt(w);
      const presses = Array.from({ length: 20 }, () => w.press(admin.id, prompt, 'Yes', admin));
      const lastCi = w.gh
        .deliveries()
        .filter((d) => d.event === 'check_run')
        .at(-1);
      expect(lastCi).toBeDefined();
      await w.gh.redeliver(lastCi!.id);
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
      // Let every press be answered.
      await expect
        .poll(() => presses.filter((id) => w.callbackAnswer(admin.id, id)).length, { timeout: 20_000 })
        .toBe(20);
      expect(w.gh.requests().filter((r) => r.method === 'PUT' && r.route?.endsWith('/merge'))).toHaveLength(
        1,
      );
      expect(await w.handoffs()).toHaveLength(1);
      expect(
        w.gh.requests().filter((r) => r.method === 'POST' && r.route?.endsWith('/deployments')),
      ).toHaveLength(1);
      const merged = w.tg
        .transcript(w.config.telegram.token, admin.id)
        .filter((e) => e.kind === 'bot_message' && (e.text ?? '').includes('✅ Merged'));
      expect(merged).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'refuses a stranger pressing an admin’s button, a forged id, and an expired button; nothing changes',
    async () => {
      const group = -777001;
      world = await createPromotionWorld({ env: { PROMOTE_CHAT_IDS: String(group) } });
      const w = world;
      const sent = w.say(admin, '/promote', { id: group, type: 'group', title: 'ops' });
      const prompt = await w.waitFor(group, (m) => m.message_id > sent.message_id && isPrompt(m));

      const strangerPress = w.press(group, prompt, 'Yes', stranger);
      await expect
        .poll(() => w.callbackAnswer(group, strangerPress)?.text ?? '')
        .toContain('Only lugh admins can use this button');
      const otherAdminPress = w.press(group, prompt, 'Yes', secondAdmin);
      await expect
        .poll(() => w.callbackAnswer(group, otherAdminPress)?.text ?? '')
        .toContain('Only the admin who asked for this promotion');

      const forged = await w.instance.promotion!.decide('not-a-real-button-id', {
        id: admin.id,
        name: '@ada',
        isAdmin: true,
      });
      // The service answers with a reason; the bot words it.
      expect({ ...forged, answer: renderDecisionAnswer(forged.answer) }).toEqual({
        answer: 'This button is not valid.',
        alert: true,
        final: false,
      });

      w.advanceClock(16 * 60_000);
      const late = w.press(group, prompt, 'Yes', admin);
      await expect
        .poll(() => w.callbackAnswer(group, late)?.text ?? '')
        .toContain('These buttons have expired');

      expect(w.git('rev-parse', 'main')).toBe(w.seeded.mainSha);
      expect(await w.handoffs()).toHaveLength(0);
      const refused = await w.rows(
        `SELECT details->>'reason' AS reason FROM audit_log WHERE outcome = 'refused' ORDER BY id`,
      );
      expect(refused.map((r) => r.reason)).toEqual(
        expect.arrayContaining(['not an admin', 'not the requester', 'unknown button']),
      );
    },
    TIMEOUT,
  );

  it(
    'No ends the promotion, leaves the PR open and records it; /cancel stops one before the merge',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      const { prompt } = await promoteToPrompt(w);
      w.press(admin.id, prompt, 'No', admin);
      const declined = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('Declined by @ada'));
      expect(declined.reply_markup).toBeUndefined();
      expect((await w.rows(`SELECT status FROM promotions`))[0].status).toBe('declined');

      await promoteToPrompt(w);
      const cancel = w.say(admin, '/cancel');
      const reply = await w.waitFor(
        admin.id,
        (m) => m.message_id > cancel.message_id && (m.text ?? '').includes('cancelled'),
      );
      expect(reply.text).toContain('nothing was merged');
      expect(w.git('rev-parse', 'main')).toBe(w.seeded.mainSha);
      const statuses = (await w.rows(`SELECT status FROM promotions ORDER BY id`)).map((r) => r.status);
      expect(statuses).toEqual(['declined', 'cancelled']);
      // The PR stayed open throughout, and was reused by the second promotion: its attempt
      // to open one was answered 422 (one exists), and the open one was listed.
      const opens = w.gh.requests().filter((r) => r.method === 'POST' && r.route?.endsWith('/pulls'));
      expect(opens.map((r) => r.status)).toEqual([201, 422]);
      expect(w.gh.requests().filter((r) => r.path.includes('/pulls?state=open'))).toHaveLength(1);
      expect(new Set((await w.rows(`SELECT pr_number FROM promotions`)).map((r) => r.pr_number))).toEqual(
        new Set([1]),
      );
    },
    TIMEOUT,
  );

  /** GitHub requests of the promotion (staging's deployment watcher polls on its own). */
  const promotionRequests = (w: PromotionWorld, from: number) =>
    w.gh
      .requests()
      .slice(from)
      .filter((r) => !r.path.includes('/deployments?environment='));

  /**
   * A webhook-mode promotion whose one check runs for an hour (until the test completes it),
   * started and shown in its live CI message, GitHub's answers settled.
   */
  const promotingWithWebhooks = async (env: Record<string, string> = {}) => {
    world = await createPromotionWorld({
      webhooks: true,
      checks: [{ name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 3_600_000 }],
      env,
    });
    const w = world;
    const sent = w.say(admin, '/promote');
    await w.waitFor(admin.id, (m) => m.message_id > sent.message_id && (m.text ?? '').includes('build — '));
    await w.gh.settled();
    return w;
  };

  it(
    'webhook mode: while webhooks come, the reconciling poll leaves CI to them: no GitHub request while CI runs',
    async () => {
      const w = await promotingWithWebhooks({ PROMOTE_POLL_SECONDS: '2' });
      const from = w.gh.requests().length;
      // Two poll intervals: the poll would have read the pull request and CI twice.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(promotionRequests(w, from)).toEqual([]);
      // The check's webhook drives the rest: CI read to confirm, the pull request's mergeability, the prompt.
      await w.gh.completeCheck(w.seeded.developSha, 'build', 'success');
      const prompt = await w.waitFor(admin.id, (m) => isPrompt(m));
      expect(prompt.text).toContain(w.seeded.developSha);
    },
    TIMEOUT,
  );

  it(
    'webhook mode: the first look reads the pull request and its CI (the check reported before any webhook) in one GraphQL request',
    async () => {
      const w = await promotingWithWebhooks();
      const asked = () => promotionRequests(w, 0).map((r) => `${r.method} ${r.path.split('?')[0]}`);
      // The live message shows the pending check (promotingWithWebhooks waited for it), read by
      // the first look, or by the look of a check webhook that came before it (then the first
      // look finds it read and reads nothing): one GraphQL query either way, never the pull
      // request, check runs or statuses over REST.
      for (let i = 0; i < 100 && !asked().includes('POST /graphql'); i++) await sleep(50);
      await sleep(500);
      expect(asked()).toEqual([
        'GET /repos/acme/app/compare/main...develop',
        'POST /repos/acme/app/pulls',
        'POST /graphql',
      ]);
    },
    TIMEOUT,
  );

  it(
    'webhook mode: once the webhooks say every check passed, the pull request read decides (GitHub says clean): CI is not read again',
    async () => {
      const w = await promotingWithWebhooks();
      const from = w.gh.requests().length;
      await w.gh.completeCheck(w.seeded.developSha, 'build', 'success');
      await w.waitFor(admin.id, (m) => isPrompt(m));
      const asked = promotionRequests(w, from).map((r) => `${r.method} ${r.path.split('?')[0]}`);
      expect(asked.filter((r) => r.includes('/check-runs') || r.includes('/status'))).toEqual([]);
      expect(asked).toContain('GET /repos/acme/app/pulls/1');
    },
    TIMEOUT,
  );

  it(
    'webhook mode: a red status the hook never told of (it does not subscribe to status events) is found: GitHub says unstable, CI is read, the promotion fails',
    async () => {
      const w = await promotingWithWebhooks();
      w.gh.setWebhook({
        url: `http://127.0.0.1:${w.instance.port}/webhooks/github`,
        secret: WEBHOOK_SECRET,
        events: ['check_run', 'check_suite', 'workflow_run', 'pull_request', 'push'],
      });
      const res = await fetch(
        `${w.gh.apiUrl}/repos/${w.gh.repo.owner}/${w.gh.repo.name}/statuses/${w.seeded.developSha}`,
        {
          method: 'POST',
          headers: { authorization: `token ${w.config.github.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ state: 'failure', context: 'lint' }),
        },
      );
      expect(res.status).toBe(201);
      await w.gh.completeCheck(w.seeded.developSha, 'build', 'success');
      const failed = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('CI failed'));
      expect(failed.text).toContain('lint — failure');
      expect((await w.rows(`SELECT status FROM promotions`))[0].status).toBe('failed');
      const prompts = w.tg
        .transcript(w.config.telegram.token, admin.id)
        .filter((e) => e.kind === 'bot_message' && e.reply_markup);
      expect(prompts).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'webhook mode: a webhook GitHub never sent (the hook gone quiet) is caught by the reconciling poll',
    async () => {
      const w = await promotingWithWebhooks({ PROMOTE_POLL_SECONDS: '1' });
      w.gh.setWebhook(undefined);
      await w.gh.completeCheck(w.seeded.developSha, 'build', 'success');
      const prompt = await w.waitFor(admin.id, (m) => isPrompt(m), 30_000);
      expect(prompt.text).toContain(w.seeded.developSha);
    },
    TIMEOUT,
  );

  it(
    'polling mode: with no webhooks, conditional requests find CI done; most polls are free 304s',
    async () => {
      world = await createPromotionWorld({ webhooks: false, checks: [{ ...GREEN_CI[0]!, afterMs: 3_000 }] });
      const w = world;
      const { prompt } = await promoteToPrompt(w);
      expect(prompt.text).toContain(w.seeded.developSha);
      const gets = w.gh.requests().filter((r) => r.method === 'GET');
      expect(gets.filter((r) => r.status === 304).length).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    'the pull request body lists the commits and who promoted from Telegram',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      await promoteToPrompt(w);
      const res = await fetch(`${w.gh.apiUrl}/repos/${w.gh.repo.owner}/${w.gh.repo.name}/pulls/1`, {
        headers: { authorization: `token ${w.config.github.token}` },
      });
      const pull = (await res.json()) as { body: string; base: { ref: string }; head: { ref: string } };
      expect([pull.base.ref, pull.head.ref]).toEqual(['main', 'develop']);
      expect(pull.body).toContain('requested from Telegram by @ada');
      for (const title of w.git('log', '--format=%s', 'main..develop').split('\n'))
        expect(pull.body).toContain(title);
    },
    TIMEOUT,
  );

  it(
    'two-person rule: the requester cannot approve their own promotion; another admin can',
    async () => {
      const group = -777002;
      world = await createPromotionWorld({
        env: { PROMOTE_CHAT_IDS: String(group), FEATURE_TWO_PERSON_RULE: 'true' },
      });
      const w = world;
      const sent = w.say(admin, '/promote', { id: group, type: 'group', title: 'ops' });
      const prompt = await w.waitFor(group, (m) => m.message_id > sent.message_id && isPrompt(m));
      expect(prompt.text).toContain('Two-person rule: another admin must approve.');
      const own = w.press(group, prompt, 'Yes', admin);
      await expect
        .poll(() => w.callbackAnswer(group, own)?.text ?? '')
        .toContain('another admin must approve your promotion');
      expect(w.git('rev-parse', 'main')).toBe(w.seeded.mainSha);
      w.press(group, prompt, 'Yes', secondAdmin);
      const done = await w.waitFor(group, (m) => (m.text ?? '').includes('✅ Merged'));
      expect(done.text).toContain('Production deploy');
      expect((await w.rows('SELECT approved_by FROM promotions'))[0].approved_by).toBe(
        String(secondAdmin.id),
      );
    },
    TIMEOUT,
  );

  it(
    'GitHub failures: a rate limit at /promote changes nothing; a 5xx on merge is not retried blindly and leaves it resumable',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      w.gh.injectFault({ route: 'GET /repos/{owner}/{repo}/compare/{basehead}', kind: 'primary-rate-limit' });
      const first = w.say(admin, '/promote');
      const limited = await w.waitFor(admin.id, (m) => m.message_id > first.message_id);
      expect(limited.text).toMatch(
        /GitHub's rate limit is used up until \d\d:\d\d UTC\. Nothing was changed/,
      );
      expect(await w.rows('SELECT * FROM promotions')).toEqual([]);

      const { prompt } = await promoteToPrompt(w);
      w.gh.injectFault({ route: 'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge', kind: '5xx' });
      w.press(admin.id, prompt, 'Yes', admin);
      const notice = await w.waitFor(admin.id, (m) =>
        (m.text ?? '').includes('GitHub is not answering right now'),
      );
      expect(notice.text).toContain('The pull request was not merged');
      expect(w.git('rev-parse', 'main')).toBe(w.seeded.mainSha);
      const again = await w.waitFor(admin.id, (m) => m.message_id > notice.message_id && isPrompt(m));
      w.press(admin.id, again, 'Yes', admin);
      await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
      const merges = w.gh.requests().filter((r) => r.method === 'PUT' && r.route?.endsWith('/merge'));
      expect(merges.map((r) => r.status)).toEqual([502, 200]);
      expect(await w.handoffs()).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'GitHub refuses the merge (405, a conflict on main): a clear message, nothing merged, no deploy',
    async () => {
      world = await createPromotionWorld();
      const w = world;
      const { prompt } = await promoteToPrompt(w);
      const file = w.git('diff', '--name-only', 'main', 'develop').split('\n')[0]!;
      await w.gh.pushCommit('main', {
        message: 'Hotfix straight on main',
        files: { [file]: 'conflicting content\n' },
      });
      w.press(admin.id, prompt, 'Yes', admin);
      const refused = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('GitHub refused the merge'));
      expect(refused.text).toContain('Nothing was merged');
      expect(await w.handoffs()).toHaveLength(0);
      expect((await w.rows('SELECT status FROM promotions'))[0].status).toBe('failed');
    },
    TIMEOUT,
  );

  it(
    'an interrupted merge is recovered: before GitHub merged it, a new prompt; after, the deploy is handed over once',
    async () => {
      world = await createPromotionWorld({ env: { PROMOTE_POLL_SECONDS: '1' } });
      const w = world;
      const { prompt } = await promoteToPrompt(w);
      // A crash right after the confirmation was recorded, before the merge call.
      await w.rows(
        `UPDATE promotions SET status = 'merging', approved_by = $1, updated_at = now() - interval '2 minutes'`,
        [admin.id],
      );
      const notice = await w.waitFor(admin.id, (m) =>
        (m.text ?? '').includes('was interrupted before GitHub merged it'),
      );
      const again = await w.waitFor(admin.id, (m) => m.message_id > notice.message_id && isPrompt(m));
      expect(again.message_id).not.toBe(prompt.message_id);
      expect(w.git('rev-parse', 'main')).toBe(w.seeded.mainSha);

      // A crash after GitHub merged but before anything was recorded or queued.
      const merged = await fetch(`${w.gh.apiUrl}/repos/${w.gh.repo.owner}/${w.gh.repo.name}/pulls/1/merge`, {
        method: 'PUT',
        headers: { authorization: `token ${w.config.github.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sha: w.seeded.developSha, merge_method: 'merge' }),
      });
      expect(merged.status).toBe(200);
      const { sha } = (await merged.json()) as { sha: string };
      await w.rows(`UPDATE promotions SET status = 'merging', updated_at = now() - interval '2 minutes'`);
      const done = await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
      expect(done.text).toContain(sha.slice(0, 7));
      expect((await w.handoffs()).map((d) => d.sha)).toEqual([sha]);
      expect(w.gh.requests().filter((r) => r.method === 'PUT' && r.route?.endsWith('/merge'))).toHaveLength(
        1,
      );

      // A crash after GitHub created the Deployment but before its id was recorded: the
      // next poll finds that Deployment and records it; it does not hand over twice.
      const [{ id: handedOver }] = await w.rows('SELECT github_deployment_id AS id FROM promotions');
      await w.rows('UPDATE promotions SET github_deployment_id = NULL');
      await expect
        .poll(async () => (await w.rows('SELECT github_deployment_id AS id FROM promotions'))[0].id, {
          timeout: 10_000,
        })
        .toBe(handedOver);
      expect(await w.handoffs()).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'a restart while CI runs: the conversation is in Redis under the prefix, CI is followed again, and the conversation itself takes the tap',
    async () => {
      world = await createPromotionWorld({
        checks: [{ name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 4_000 }],
        env: { PROMOTE_POLL_SECONDS: '1' },
      });
      const w = world;
      const redis = createRedis(w.config.redisUrl, { connectionName: 'conversation-observer' });
      try {
        const key = `${w.config.redisPrefix}:conversations:${admin.id}`;
        const sent = w.say(admin, '/promote');
        await w.waitFor(
          admin.id,
          (m) => m.message_id > sent.message_id && (m.text ?? '').includes('Promoting develop'),
        );
        await expect.poll(() => redis.exists(key)).toBe(1);
        await w.restart();
        const prompt = await w.waitFor(admin.id, (m) => isPrompt(m));
        w.press(admin.id, prompt, 'Yes', admin);
        await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
        // The conversation, restored from Redis, received the tap and ended.
        await expect.poll(() => redis.exists(key)).toBe(0);
      } finally {
        await redis.quit();
      }
    },
    TIMEOUT,
  );

  it(
    'does not edit the live CI message when nothing changed, however often it looks',
    async () => {
      world = await createPromotionWorld({
        webhooks: false,
        checks: [{ name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 5_000 }],
        env: { PROMOTE_POLL_SECONDS: '1' },
      });
      const w = world;
      await promoteToPrompt(w);
      const looks = w.gh.requests().filter((r) => r.path.includes('/check-runs')).length;
      const ci = w.tg
        .transcript(w.config.telegram.token, admin.id)
        .find((e) => e.kind === 'bot_message' && (e.text ?? '').includes('CI for'));
      // Several looks while the check ran, but only two changes to show: running, then green.
      expect(looks).toBeGreaterThanOrEqual(4);
      expect(ci?.kind === 'bot_message' && ci.edits.map((e) => (e.text ?? '').includes('all green'))).toEqual(
        [false, true],
      );
    },
    TIMEOUT,
  );
});
