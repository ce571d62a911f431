// The merge stage: merge the approved head (never forcing), then hand production its
// deploy. Also finishes or undoes what a crash left half-done between the two.
import { setTimeout as sleep } from 'node:timers/promises';
import { signHandoff } from '../deployer/handoff-signature.js';
import { ConflictError, ForgeUnavailableError, HeadMovedError, NotMergeableError } from '../forge/errors.js';
import type { DeploymentContext } from '../store/deployments.js';
import type { Promotion } from '../store/promotions.js';
import type { CiFollow } from './ci-follow.js';
import type { DecisionOutcome, Requester } from './notices.js';
import type { PromotionParts } from './parts.js';
import { describeForgeProblem, forgeProblemOf, nextTag } from './policy.js';
import { realignDevelop } from './realign-develop.js';

/** A merge under way for this long without an owner in this process was interrupted. */
const STUCK_MERGE_SECONDS = 60;
/**
 * GitHub's reads lag behind its writes: right after a 405, the pull request may still read
 * open and unmerged although an earlier attempt merged it. Asked again after these pauses
 * before the 405 counts as a refusal.
 */
const LAGGING_READ_PAUSES_MS = [500, 1500];

/**
 * What production's report of this promotion tells (`report` in the GitHub Deployment's
 * payload, beside the signed `lugh`): display only, production decides nothing on it.
 */
export function reportOf(
  p: Promotion,
  approver: Requester,
  release?: { readonly url?: string; readonly tag: string },
): DeploymentContext {
  const ciMs =
    p.ciStartedAt && p.ciPassedAt ? Math.max(0, p.ciPassedAt.getTime() - p.ciStartedAt.getTime()) : undefined;
  return {
    promotionId: p.id,
    ...(p.prNumber ? { pr: { number: p.prNumber, ...(p.prUrl ? { url: p.prUrl } : {}) } } : {}),
    ...(release ? { release } : {}),
    ...(p.requestedByName ? { promotedBy: p.requestedByName } : {}),
    // A merge finished by the recovery knows the approver by id only ("user 42"): said as such.
    approvedBy: approver.name,
    ...(ciMs !== undefined ? { ciMs } : {}),
    ...(p.firstCommitAt ? { firstCommitAt: p.firstCommitAt.toISOString() } : {}),
    ...(p.headTitle ? { headTitle: p.headTitle } : {}),
  };
}

export function createMergeFlow(parts: PromotionParts, ci: Pick<CiFollow, 'prompt' | 'finish'>) {
  const { config, promotions, chat, log } = parts;

  /** The release tag of a merge, when the flag asks for one; a failure never stops the deploy. */
  const tagRelease = async (p: Promotion, mergeSha: string) => {
    if (!config.flags.release_tags || p.tag) return {};
    const forge = parts.requireForge();
    try {
      const release = await forge.releaseNext(mergeSha, nextTag);
      const tag = release.tag;
      await promotions.update(p.id, { tag });
      return { release: { url: release.url, tag } };
    } catch (error) {
      log.warn({ err: error, promotionId: p.id }, 'tagging the release failed');
      // A tag that exists already is refused, never reused: say which and what to do.
      const reason = error instanceof ConflictError ? { reason: error.message } : {};
      return { tagFailed: { problem: forgeProblemOf(error), ...reason } };
    }
  };

  /**
   * The payload that hands production its deploy, signed with PROMOTE_SIGNING_KEY over the
   * commit, the environment, the promotion, its approver, its chat and the time; without
   * the key it goes unsigned, and production refuses it (saying why, in its notify chat).
   */
  const handoffPayload = (
    p: Promotion,
    mergeSha: string,
    actor: Requester,
    release?: { readonly url?: string; readonly tag: string },
  ) => {
    const report = reportOf(p, actor, release);
    const claims = {
      sha: mergeSha,
      environment: 'production',
      promotionId: p.id,
      approvers: [actor.id],
      chatId: p.chatId,
      approvedAt: parts.now().toISOString(),
    };
    const key = config.promote.signingKey;
    if (key) return { lugh: signHandoff(claims, key), report };
    log.warn({ promotionId: p.id }, 'PROMOTE_SIGNING_KEY is not set: the handoff goes unsigned');
    const { sha: _sha, environment: _environment, ...unsigned } = claims;
    return { lugh: unsigned, report };
  };

  /**
   * The handoff: production's own instance claims this GitHub Deployment (its database
   * makes it exactly one deployment there). Looked up before creating, so a crash between
   * creating it and recording its id does not hand over twice.
   */
  const handOver = async (
    p: Promotion,
    mergeSha: string,
    actor: Requester,
    release?: { readonly url?: string; readonly tag: string },
    firstAttempt = false,
  ): Promise<number> => {
    if (p.githubDeploymentId != null) return p.githubDeploymentId;
    const forge = parts.requireForge();
    const existing = async () =>
      (await forge.listDeployments('production')).find(
        (d) =>
          d.sha === mergeSha &&
          (d.payload.lugh as { promotionId?: number } | undefined)?.promotionId === p.id,
      )?.id;
    const create = async () =>
      (
        await forge.createDeployment(
          mergeSha,
          'production',
          `Promotion #${p.id} from Telegram`,
          handoffPayload(p, mergeSha, actor, release),
        )
      ).id;
    // The first attempt (the merge just made, in this process) has nothing to look up: no
    // earlier attempt can have created one. A recovery looks first.
    const id =
      (firstAttempt ? undefined : await existing()) ??
      (await create().catch(async (error: unknown) => {
        // A 5xx or a timeout may come after GitHub created it: look again before creating again.
        if (!(error instanceof ForgeUnavailableError)) throw error;
        return (await existing()) ?? (await create());
      }));
    await promotions.update(p.id, { githubDeploymentId: id });
    return id;
  };

  /**
   * The merge of the approved head, when GitHub made it although its answer was lost: the
   * pull request says merged, or main contains the head. Undefined when it surely did not;
   * throws when GitHub cannot say.
   */
  const mergedAs = async (p: Promotion): Promise<string | undefined> => {
    const forge = parts.requireForge();
    let pullError: unknown;
    const pull = await forge.pull(p.prNumber!).catch((error: unknown) => {
      pullError = error;
      return undefined;
    });
    if (pull?.merged && pull.mergeCommitSha) return pull.mergeCommitSha;
    // A merge commit keeps the head as a parent; a squash or a rebase does not.
    if (config.promote.mergeMethod !== 'merge') {
      if (pull) return undefined;
      throw pullError;
    }
    const since = await forge.compare(p.headSha!, p.baseRef);
    return since.behindBy === 0 ? since.headSha : undefined;
  };

  /**
   * Everything after main moved: the release tag, the handoff, and (after a squash or
   * rebase) develop brought back in line with main. Also how a merge
   * interrupted by a crash is finished later: running it twice hands over nothing new.
   */
  const afterMerge = async (p: Promotion, mergeSha: string, actor: Requester, firstAttempt = false) => {
    await promotions.update(p.id, { status: 'merged', mergeSha });
    if (p.promptMessageId) {
      await chat.edit(p.chatId, p.promptMessageId, { kind: 'approved', approver: actor.name, mergeSha });
    }
    await parts.record(actor, 'promotion merged', 'ok', {
      promotionId: p.id,
      headSha: p.headSha,
      mergeSha,
      pr: p.prNumber,
    });
    const tagged = await tagRelease(p, mergeSha);
    const release = tagged.release ?? (p.tag ? { tag: p.tag } : undefined);
    const deploymentId = await handOver(p, mergeSha, actor, release, firstAttempt);
    await parts.record(actor, 'deploy handed over', 'ok', {
      promotionId: p.id,
      githubDeploymentId: deploymentId,
      sha: mergeSha,
    });
    const productionBot = await parts.deps.productionBot?.().catch(() => undefined);
    await chat.send(p.chatId, {
      kind: 'handed over',
      promotion: p,
      mergeSha,
      ...tagged,
      deploymentId,
      productionBot,
    });
    // After the handoff, so that production's deploy never waits for it.
    await realignDevelop(parts, p, mergeSha, actor);
  };

  /**
   * Finishes or undoes what an interruption (a crash, a restart, an unexpected error) left
   * half-done between the confirmation and the handoff. GitHub is asked whether the pull
   * request merged; nothing is merged again.
   */
  const recoverMerge = async (id: number) => {
    const p = await promotions.get(id);
    if (!p?.prNumber) return;
    const approver = p.approvedBy ?? p.requestedBy;
    const actor: Requester = { id: approver, name: `user ${approver}`, isAdmin: true };
    if (p.status === 'merged' && p.mergeSha) {
      await afterMerge(p, p.mergeSha, actor);
      return;
    }
    if (p.status !== 'merging') return;
    const mergeSha = await mergedAs(p);
    if (mergeSha) {
      await parts.record(undefined, 'promotion merge recovered', 'ok', { promotionId: p.id, mergeSha });
      await afterMerge(p, mergeSha, actor);
      return;
    }
    const back = await promotions.transition(p.id, ['merging'], { status: 'awaiting_approval' });
    if (!back) return;
    await parts.record(undefined, 'promotion merge', 'failed', {
      promotionId: p.id,
      reason: 'interrupted before the merge',
    });
    await chat.send(p.chatId, { kind: 'merge interrupted', prNumber: p.prNumber });
    await ci.prompt(back);
  };

  /** Looks for interrupted merges and merges that were never handed over. */
  const recoverInterrupted = async () => {
    const candidates = [
      ...(await promotions.stuckMerging(STUCK_MERGE_SECONDS)),
      ...(await promotions.mergedWithoutHandoff()),
    ];
    for (const p of candidates) {
      // This process is still working on it: not interrupted.
      if (parts.busy(p.id)) continue;
      await parts
        .serialized(p.id, () => recoverMerge(p.id))
        .catch((error: unknown) =>
          log.warn({ err: error, promotionId: p.id }, 'could not recover an interrupted merge'),
        );
    }
  };

  /**
   * GitHub answered 409: develop moved since the prompt, or (the head unchanged) main moved and
   * strict protection finds develop out of date. Back to CI, which looks at the head again.
   */
  const backToCi = async (p: Promotion, approvedSha: string) => {
    const pull = await parts.requireForge().pull(p.prNumber!);
    await promotions.transition(p.id, ['merging'], {
      status: 'waiting_ci',
      headSha: pull.headSha,
      headTitle: null,
    });
    await chat.send(
      p.chatId,
      pull.headSha === approvedSha
        ? { kind: 'out of date before merge', headSha: pull.headSha }
        : { kind: 'head moved before merge', approvedSha, headSha: pull.headSha },
    );
    void parts.schedule(p.id);
  };

  /** Merges the approved head and hands production its deploy; `p` is in `merging`. */
  const mergeAndDeploy = async (p: Promotion, actor: Requester): Promise<DecisionOutcome> => {
    const forge = parts.requireForge();
    const headSha = p.headSha!;
    if (p.promptMessageId) {
      await chat.edit(p.chatId, p.promptMessageId, { kind: 'merging', headSha, approver: actor.name });
    }
    let mergeSha: string;
    try {
      // No read first: GitHub's own answer says it. A head that moved is a 409 (the merge
      // names the approved SHA), and a pull request an earlier tap merged (its answer lost)
      // a 405 that mergedAs below recognizes as merged.
      mergeSha = (await forge.merge(p.prNumber!, { sha: headSha, method: config.promote.mergeMethod })).sha;
    } catch (error) {
      if (error instanceof HeadMovedError) {
        await parts.record(actor, 'promotion merge', 'refused', {
          promotionId: p.id,
          reason: 'head moved',
          approvedSha: headSha,
        });
        await backToCi(p, headSha);
        return { answer: { kind: 'head moved' }, alert: true, final: false };
      }
      // 405 to a merge that an earlier answer-less attempt made: merged, not refused.
      let earlier = error instanceof NotMergeableError ? await mergedAs(p) : undefined;
      for (const pause of error instanceof NotMergeableError ? LAGGING_READ_PAUSES_MS : []) {
        if (earlier) break;
        await sleep(pause);
        earlier = await mergedAs(p);
      }
      if (earlier) {
        await afterMerge(p, earlier, actor);
        return { answer: { kind: 'merged' }, alert: false, final: true };
      }
      if (error instanceof NotMergeableError) {
        const notice = { kind: 'merge refused', message: error.message } as const;
        await ci.finish(p, 'failed', `not mergeable: ${error.message}`, notice);
        return { answer: { kind: 'merge refused' }, alert: true, final: true };
      }
      const problem = forgeProblemOf(error);
      if (!problem) throw error;
      // The merge may or may not have happened: ask GitHub instead of retrying blindly. When
      // GitHub cannot say, this throws: the promotion stays merging for the recovery to decide.
      const merged = await mergedAs(p);
      if (!merged) {
        await promotions.transition(p.id, ['merging'], { status: 'awaiting_approval' });
        await parts.record(actor, 'promotion merge', 'failed', {
          promotionId: p.id,
          reason: describeForgeProblem(problem),
        });
        await chat.send(p.chatId, { kind: 'merge failed', problem });
        const again = await promotions.get(p.id);
        if (again) await ci.prompt(again);
        return { answer: { kind: 'merge failed', problem }, alert: true, final: false };
      }
      mergeSha = merged;
    }
    await afterMerge(p, mergeSha, actor, true);
    return { answer: { kind: 'merged' }, alert: false, final: true };
  };

  return { mergeAndDeploy, recoverMerge, recoverInterrupted };
}
