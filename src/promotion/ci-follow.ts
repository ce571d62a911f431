// The CI stage: follow the pull request's checks until they pass (then ask for approval),
// fail, time out, or the pull request closes. Every move is a compare-and-set on the store.
import { setTimeout as sleep } from 'node:timers/promises';
import { summarizeChecks } from '../forge/ci-summary.js';
import type { CheckLine, CiState, PullRequestInfo } from '../forge/forge.js';
import type { Promotion } from '../store/promotions.js';
import type { PromotionNotice } from './notices.js';
import type { CiNews, PromotionParts } from './parts.js';
import { blockersOf, mergeReadiness } from './policy.js';

/**
 * CI with the checks webhooks reported since: each replaces the line of its name and kind.
 * Undefined when a line would take a finished check back to pending: a delivery older than
 * the last read or than another delivery (they arrive and are handled concurrently, in any
 * order), or a re-run. Either way GitHub is read instead of believing it.
 */
function withLines(ci: CiState, lines: readonly CheckLine[]): CiState | undefined {
  const checks = new Map(ci.checks.map((c) => [`${c.kind}\x00${c.name}`, c]));
  for (const line of lines) {
    const key = `${line.kind}\x00${line.name}`;
    const seen = checks.get(key);
    if (line.state === 'pending' && seen && seen.state !== 'pending') return undefined;
    checks.set(key, line);
  }
  const sorted = [...checks.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { overall: summarizeChecks(sorted), checks: sorted };
}

/** Callback data of a promotion button: a prefix and an opaque id looked up in Postgres. */
export const BUTTON_PREFIX = 'pb:';
/**
 * The update-develop button's prefix: a bot of the release before ignores it (it would take
 * any `pb:` button that is not No for a Yes).
 */
export const UPDATE_BUTTON_PREFIX = 'pu:';
const MIN_EDIT_INTERVAL_MS = 1_000;
/** Pauses between reads of a pull request whose mergeability GitHub is still computing. */
const UNKNOWN_PAUSES_MS = [500, 1_000, 2_000, 3_000];

export function createCiFollow(parts: PromotionParts) {
  const { config, promotions, chat, now } = parts;

  const lastShown = new Map<number, { key: string; at: number }>();
  /** Each promotion's CI as last read from GitHub, and moved on by webhooks since. */
  const known = new Map<number, { sha: string; ci: CiState }>();
  /**
   * Edits the live CI message only when what it shows changed, and at most once a second;
   * a message that can no longer be edited is replaced by a new one (PromotionChat.edit).
   */
  const showCi = async (p: Promotion, ci: CiState) => {
    if (!p.statusMessageId) {
      // Its chat moved (refresh below): the live message starts over in the new one.
      const sent = await chat.send(p.chatId, { kind: 'ci', promotion: p, ci });
      await promotions.update(p.id, { statusMessageId: sent });
      lastShown.set(p.id, { key: JSON.stringify([p.headSha, ci]), at: Date.now() });
      return;
    }
    const key = JSON.stringify([p.headSha, ci]);
    const last = lastShown.get(p.id);
    if (last?.key === key) return;
    const wait = last ? last.at + MIN_EDIT_INTERVAL_MS - Date.now() : 0;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const shownIn = await chat.edit(p.chatId, p.statusMessageId, { kind: 'ci', promotion: p, ci });
    // The message was deleted and sent anew: later edits go to the new one.
    if (shownIn !== p.statusMessageId) await promotions.update(p.id, { statusMessageId: shownIn });
    lastShown.set(p.id, { key, at: Date.now() });
  };

  /** Posts fresh Yes/No buttons for the promotion's current head. */
  const prompt = async (p: Promotion) => {
    const expiresAt = new Date(now().getTime() + config.promote.approvalTtlMs);
    const twoPerson = config.flags.two_person_rule;
    const ids = await promotions.createButtons({
      promotionId: p.id,
      headSha: p.headSha!,
      boundUserId: twoPerson ? null : p.requestedBy,
      notUserId: twoPerson ? p.requestedBy : null,
      expiresAt,
    });
    const messageId = await chat.send(
      p.chatId,
      { kind: 'prompt', promotion: p, expiresAt, now: now(), twoPerson },
      [
        { action: 'approve', data: `${BUTTON_PREFIX}${ids.approve}` },
        { action: 'decline', data: `${BUTTON_PREFIX}${ids.decline}` },
      ],
    );
    await promotions.update(p.id, { promptMessageId: messageId });
  };

  /** Ends a promotion that has not merged; `reason` is what the store and the audit log keep. */
  const finish = async (
    p: Promotion,
    status: 'failed' | 'expired' | 'cancelled',
    reason: string,
    notice: PromotionNotice,
  ) => {
    const done = await promotions.transition(
      p.id,
      ['pending', 'waiting_ci', 'awaiting_approval', 'merging'],
      {
        status,
        reason,
      },
    );
    if (!done) return;
    known.delete(p.id);
    await parts.record(undefined, `promotion ${status}`, status === 'failed' ? 'failed' : 'ok', {
      promotionId: p.id,
      reason,
    });
    await chat.send(p.chatId, notice);
  };

  /**
   * Looks at CI once: edits the live message, and moves the promotion on when CI is done.
   * Woken by a webhook (`news`), it reads only what the webhook says changed: a CI event
   * does not read the pull request (a moved head or a closed pull request comes as a
   * pull_request event of its own, and the reconciling poll reads everything when webhooks
   * go quiet), and a pull_request event reads CI only when the head moved.
   */
  const refresh = async (id: number, news?: CiNews): Promise<void> => {
    const p = await promotions.get(id);
    if (p?.status !== 'waiting_ci' || !p.prNumber || !p.headSha) return;
    const forge = parts.requireForge();
    if (p.ciDeadline && now() > p.ciDeadline) {
      const timeoutMinutes = config.promote.ciTimeoutMs / 60_000;
      await finish(p, 'expired', 'CI timeout', { kind: 'ci timeout', headSha: p.headSha, timeoutMinutes });
      return;
    }
    // The pull request and its CI both wanted (the first look with nothing known yet, or news
    // of both): one read
    // (GitHub: one GraphQL query, one point, not three requests). The reconciling poll (no
    // news) reads them over REST instead: its unchanged reads are 304s, which cost no point,
    // where a GraphQL query always costs one.
    const opening = news?.opening === true && known.get(p.id)?.sha !== p.headSha;
    const both = (news?.pull && news.ci) || opening ? await forge.pullWithCi(p.prNumber) : undefined;
    const pull = both?.pull ?? (!news || news.pull ? await forge.pull(p.prNumber) : undefined);
    if (pull && pull.state !== 'open') {
      const notice = { kind: 'pull closed', prNumber: p.prNumber, merged: pull.merged } as const;
      await finish(p, 'cancelled', 'pull request closed', notice);
      return;
    }
    let current = p;
    const movedTo = await chat.where?.(p.chatId);
    if (movedTo !== undefined && movedTo !== p.chatId) {
      // The group became a supergroup: follow the promotion there, with a new live message.
      current = await promotions.update(p.id, { chatId: movedTo, statusMessageId: null });
    }
    const headMoved = pull !== undefined && pull.headSha !== p.headSha;
    if (pull && headMoved) {
      // develop moved while CI ran: follow the new head from scratch.
      current = await promotions.update(p.id, { headSha: pull.headSha, headTitle: null });
      await chat.send(p.chatId, { kind: 'head moved during ci', headSha: pull.headSha });
    }
    if (news && !news.ci && !headMoved) return;
    const before = known.get(p.id);
    if (!both && news?.lines && !headMoved && before?.sha === current.headSha) {
      // While CI runs, the webhooks' own lines move the live message: no request. Once they
      // say it may be over, GitHub is read (below) and decides.
      const told = withLines(before.ci, news.lines);
      if (told?.overall === 'pending' || told?.overall === 'none') {
        known.set(p.id, { sha: before.sha, ci: told });
        await showCi(current, told);
        return;
      }
      if (told?.overall === 'success') {
        // Every check they told of passed. The pull request read that decides next says
        // whether GitHub agrees for every check and status of the head: `clean` (or
        // `has_hooks`) is "passing commit status". Anything else (`unstable`: a check the
        // webhooks never told of is pending or red) has CI read below, as without them.
        known.set(p.id, { sha: before.sha, ci: told });
        await showCi(current, told);
        if ((await decideAfterCi(current, told, { confirmsCi: true })) !== 'read ci') return;
      }
    }
    // CI of the head the pull request read names, which `current` follows now. A webhook's look
    // that must read CI from GitHub reads it with the pull request (one GraphQL query where REST
    // takes two: check runs, statuses); the poll reads over REST, where unchanged reads are free.
    const ci =
      both?.ci ??
      (news ? await ciViaSnapshot(p.prNumber, current.headSha!) : undefined) ??
      (await forge.ciState(current.headSha!));
    known.set(p.id, { sha: current.headSha!, ci });
    await showCi(current, ci);
    if (ci.overall === 'failure') {
      await finish(current, 'failed', 'CI failed', { kind: 'ci failed', promotion: current, ci });
      return;
    }
    if (ci.overall !== 'success') return;
    await decideAfterCi(current, ci);
  };

  /** CI of `sha` read together with the pull request; undefined when its head is no longer `sha`. */
  const ciViaSnapshot = async (prNumber: number, sha: string): Promise<CiState | undefined> => {
    const { pull, ci } = await parts.requireForge().pullWithCi(prNumber);
    return pull.headSha === sha ? ci : undefined;
  };

  /**
   * CI is green (`confirmsCi`: as far as the webhooks told; 'read ci' when GitHub's
   * mergeable_state does not say every check passed): what GitHub's mergeable_state says now decides (the pull request read before
   * CI finished may still say blocked). GitHub computes it in the background, so `unknown`,
   * and a `blocked` that nothing lugh can see explains yet, are read again after short pauses
   * (a bounded wait) before deciding; still unknown after that, the next look asks again.
   */
  const decideAfterCi = async (
    p: Promotion,
    ci: CiState,
    { confirmsCi = false } = {},
  ): Promise<'read ci' | undefined> => {
    const forge = parts.requireForge();
    for (let attempt = 0; ; attempt++) {
      const pull = await forge.pull(p.prNumber!);
      if (pull.state !== 'open' || pull.headSha !== p.headSha) return; // the next look follows it
      const pause = UNKNOWN_PAUSES_MS[attempt];
      const readiness = mergeReadiness(pull);
      if (readiness === 'ask again') {
        // No webhook will say when GitHub is done computing: the poll asks again.
        if (pause === undefined) {
          parts.unheard(p.id);
          return;
        }
        await sleep(pause);
        continue;
      }
      // `ci` is only what the webhooks told: it stands only when GitHub says every check passed.
      if (confirmsCi && pull.mergeableState !== 'clean' && pull.mergeableState !== 'has_hooks') {
        return 'read ci';
      }
      if (readiness === 'conflicts') {
        await finish(p, 'failed', 'not mergeable', { kind: 'not mergeable', pull });
        return;
      }
      if (readiness === 'draft') {
        await finish(p, 'failed', 'draft pull request', { kind: 'draft', pull });
        return;
      }
      if (readiness === 'blocked') {
        const [rules, approvals] = await Promise.all([
          forge.branchRules(pull.baseRef),
          forge.approvals(pull.number),
        ]);
        const blockers = blockersOf({ rules, approvals, ci });
        const maybeLagging = blockers.every(
          (b) => b.kind === 'unexplained' || (b.kind === 'check' && b.state === 'not reported'),
        );
        if (maybeLagging && pause !== undefined) {
          await sleep(pause);
          continue;
        }
        const reason = `blocked: ${blockers.map((b) => (b.kind === 'check' ? `${b.name} ${b.state}` : b.kind)).join(', ')}`;
        await finish(p, 'failed', reason, { kind: 'blocked', pull, blockers });
        return;
      }
      const next = await promotions.transition(
        p.id,
        ['waiting_ci'],
        { status: 'awaiting_approval' },
        { headSha: pull.headSha },
      );
      if (!next) return;
      if (readiness === 'behind') await offerUpdate(next, pull);
      else await prompt(next);
      return;
    }
  };

  /** develop is behind main under strict protection: one button updates it from main. */
  const offerUpdate = async (p: Promotion, pull: PullRequestInfo) => {
    const expiresAt = new Date(now().getTime() + config.promote.approvalTtlMs);
    const id = await promotions.createUpdateButton({
      promotionId: p.id,
      headSha: p.headSha!,
      // The requester, or under the two-person rule any admin: updating develop merges nothing.
      boundUserId: config.flags.two_person_rule ? null : p.requestedBy,
      expiresAt,
    });
    await parts.record(undefined, 'promotion behind', 'ok', { promotionId: p.id, headSha: p.headSha });
    const messageId = await chat.send(p.chatId, { kind: 'behind', pull, expiresAt, now: now() }, [
      { action: 'update', data: `${UPDATE_BUTTON_PREFIX}${id}` },
    ]);
    await promotions.update(p.id, { promptMessageId: messageId });
  };

  /** Ends approval prompts whose buttons have expired. */
  const expirePrompts = async () => {
    for (const p of await promotions.awaitingApproval()) {
      const latest = await promotions.latestButtonExpiry(p.id);
      if (!latest || latest >= now()) continue;
      await parts.serialized(p.id, async () => {
        const reason = 'approval expired';
        const done = await promotions.transition(p.id, ['awaiting_approval'], { status: 'expired', reason });
        if (!done) return;
        await parts.record(undefined, 'promotion expired', 'ok', { promotionId: p.id, reason });
        if (p.promptMessageId) await chat.edit(p.chatId, p.promptMessageId, { kind: 'approval expired' });
      });
    }
  };

  return { refresh, prompt, finish, expirePrompts };
}

export type CiFollow = ReturnType<typeof createCiFollow>;
