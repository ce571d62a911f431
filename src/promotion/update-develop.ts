// The "Update develop from main" button: when main's strict protection finds develop behind
// (GitHub's mergeable_state `behind`), merge main into develop, then follow CI again.
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadMovedError, NotMergeableError } from '../forge/errors.js';
import type { Promotion } from '../store/promotions.js';
import type { CiFollow } from './ci-follow.js';
import type { DecisionOutcome, Requester } from './notices.js';
import type { PromotionParts } from './parts.js';
import { describeForgeProblem, forgeProblemOf } from './policy.js';

/** GitHub's update-branch answers 202 and moves the branch after: how long to look for that. */
const HEAD_MOVE_PAUSES_MS = [250, 500, 1_000, 1_000, 2_000, 2_000, 3_000];

export function createUpdateFlow(parts: PromotionParts, ci: Pick<CiFollow, 'finish'>) {
  const { config, promotions, chat } = parts;

  /** The head of the pull request once it is no longer `from`; undefined if it has not moved yet. */
  const movedHead = async (number: number, from: string): Promise<string | undefined> => {
    const forge = parts.requireForge();
    for (const pause of HEAD_MOVE_PAUSES_MS) {
      await sleep(pause);
      const { headSha } = await forge.pull(number);
      if (headSha !== from) return headSha;
    }
    return undefined;
  };

  /** Merges main into develop the configured way; the new head when it is known. */
  const bringUpToDate = async (p: Promotion, headSha: string): Promise<string | undefined> => {
    const forge = parts.requireForge();
    if (config.promote.updateMethod === 'merge') {
      const message = `Merge ${p.baseRef} into ${p.headRef}: ${p.baseRef}'s protection wants it up to date (promotion #${p.id})`;
      return forge.mergeBranch(p.headRef, p.baseRef, message);
    }
    await forge.updatePullBranch(p.prNumber!, headSha);
    return movedHead(p.prNumber!, headSha);
  };

  /** A press of the update button; `p` is awaiting it, `headSha` is the head it was offered for. */
  const updateFromBase = async (
    p: Promotion,
    headSha: string,
    actor: Requester,
  ): Promise<DecisionOutcome> => {
    const following = await promotions.transition(
      p.id,
      ['awaiting_approval'],
      { status: 'waiting_ci' },
      { headSha },
    );
    if (!following) {
      await parts.record(actor, 'promotion update', 'refused', {
        promotionId: p.id,
        reason: 'already decided',
      });
      return { answer: { kind: 'refused', refusal: 'already decided' }, alert: true, final: false };
    }
    await promotions.markButtonsUsed(p.id, actor.id);
    const method = config.promote.updateMethod;
    if (p.promptMessageId) {
      await chat.edit(p.chatId, p.promptMessageId, { kind: 'updating develop', by: actor.name, method });
    }
    let newHead: string | undefined;
    try {
      newHead = await bringUpToDate(following, headSha);
    } catch (error) {
      if (error instanceof HeadMovedError) {
        // develop moved since the offer: the CI look follows its new head (and says so).
        await parts.record(actor, 'promotion update', 'refused', {
          promotionId: p.id,
          reason: 'develop moved',
        });
        void parts.schedule(p.id);
        return { answer: { kind: 'head moved' }, alert: true, final: false };
      }
      if (error instanceof NotMergeableError) {
        await parts.record(actor, 'promotion update', 'refused', {
          promotionId: p.id,
          reason: error.message,
        });
        await ci.finish(following, 'failed', `update refused: ${error.message}`, {
          kind: 'update refused',
          message: error.message,
        });
        return { answer: { kind: 'update refused' }, alert: true, final: true };
      }
      const problem = forgeProblemOf(error);
      if (!problem) throw error;
      const reason = describeForgeProblem(problem);
      await parts.record(actor, 'promotion update', 'failed', { promotionId: p.id, reason });
      await ci.finish(following, 'failed', `update failed: ${reason}`, { kind: 'update failed', problem });
      return { answer: { kind: 'update refused' }, alert: true, final: true };
    }
    await promotions.update(p.id, {
      ...(newHead ? { headSha: newHead } : {}),
      ciDeadline: new Date(parts.now().getTime() + config.promote.ciTimeoutMs),
    });
    await parts.record(actor, 'develop updated from main', 'ok', {
      promotionId: p.id,
      method,
      from: headSha,
      to: newHead ?? null,
    });
    if (newHead) await chat.send(p.chatId, { kind: 'develop updated', headSha: newHead });
    void parts.schedule(p.id);
    return { answer: { kind: 'updating' }, alert: false, final: false };
  };

  return { updateFromBase };
}
