// After a squash or rebase promotion main has new commits (the squash, or the replayed
// copies) that develop lacks, though their content is develop's: left alone, the next
// comparison lists the shipped commits again and pull requests into develop drift into
// conflicts. This brings develop back in line with main.
import { NotMergeableError } from '../forge/errors.js';
import type { Promotion } from '../store/promotions.js';
import type { Requester } from './notices.js';
import type { PromotionParts } from './parts.js';
import { forgeProblemOf } from './policy.js';

/**
 * develop unchanged since the promoted head: it is moved to main's new commit (a forced move,
 * since main's commit does not descend from develop's; nothing is lost: main has all of it).
 * develop moved on since, or protected against force pushes: a main → develop pull request
 * (opened, or the open one reused) for people to merge. Never fails the promotion.
 */
export async function realignDevelop(
  parts: PromotionParts,
  p: Promotion,
  mergeSha: string,
  actor: Requester,
) {
  const { config, chat, log } = parts;
  if (config.promote.mergeMethod === 'merge') return; // main's merge commit has develop as a parent
  const forge = parts.requireForge();
  const promoted = p.headSha!;
  try {
    const develop = await forge.branchSha(p.headRef);
    // Already in line: moved by an earlier run of this (a recovered merge), or merged back.
    if (develop === mergeSha || (await forge.isAncestor(mergeSha, p.headRef))) return;
    if (develop === promoted) {
      try {
        await forge.moveBranch(p.headRef, mergeSha);
        await parts.record(actor, 'develop realigned', 'ok', {
          promotionId: p.id,
          from: develop,
          to: mergeSha,
        });
        await chat.send(p.chatId, { kind: 'develop realigned', mergeSha, previousSha: develop });
        return;
      } catch (error) {
        if (!(error instanceof NotMergeableError)) throw error;
        return await backMerge(parts, p, actor, 'develop protected');
      }
    }
    await backMerge(parts, p, actor, 'develop moved');
  } catch (error) {
    const problem = forgeProblemOf(error);
    log.warn({ err: error, promotionId: p.id }, 'could not bring develop back in line with main');
    await parts.record(actor, 'develop realigned', 'failed', {
      promotionId: p.id,
      reason: error instanceof Error ? error.message : String(error),
    });
    await chat.send(p.chatId, {
      kind: 'develop not realigned',
      ...(problem ? { problem } : { message: error instanceof Error ? error.message : String(error) }),
    });
  }
}

async function backMerge(
  parts: PromotionParts,
  p: Promotion,
  actor: Requester,
  why: 'develop moved' | 'develop protected',
) {
  const forge = parts.requireForge();
  const method = parts.config.promote.mergeMethod;
  const title = `Back-merge ${p.baseRef} into ${p.headRef} after promotion #${p.id}`;
  const body = [
    `Promotion #${p.id} merged ${p.headRef} into ${p.baseRef} by ${method}, which wrote new commits on ${p.baseRef}.`,
    `Merging this brings ${p.baseRef}'s commits into ${p.headRef}, so that pull requests into ${p.headRef} do not drift into conflicts.`,
    `Opened by lugh because ${why === 'develop moved' ? `${p.headRef} has new commits since the promoted head ${p.headSha}` : `${p.headRef} may not be force-pushed, so lugh could not move it to ${p.baseRef}`}.`,
  ].join('\n\n');
  const { pull, created } = await forge.openOrReusePull(p.headRef, p.baseRef, title, body);
  await parts.record(actor, 'back-merge opened', 'ok', {
    promotionId: p.id,
    pr: pull.number,
    why,
    reused: !created,
  });
  await parts.chat.send(p.chatId, {
    kind: 'back-merge opened',
    why,
    prUrl: pull.url,
    prNumber: pull.number,
    reused: !created,
  });
}
