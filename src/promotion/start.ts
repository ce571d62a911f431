// Starting a promotion: the refusal rules, then the pull request and the live CI message.

import { activeFreeze } from '../config/freeze-windows.js';
import type { Comparison } from '../forge/forge.js';
import { type Promotion, PromotionInFlightError } from '../store/promotions.js';
import type { Requester, RequestOutcome } from './notices.js';
import type { PromotionParts } from './parts.js';
import {
  describeForgeProblem,
  forgeProblemOf,
  type RequestRefusal,
  refuseAsker,
  refuseMoment,
} from './policy.js';
import { pullBody } from './pull-body.js';

const PRODUCTION = 'main';
const STAGING = 'develop';

/** Checks every refusal, then opens or reuses the PR and starts following CI. */
export async function requestPromotion(
  parts: PromotionParts,
  requester: Requester,
  chatId: number,
  chatType: string,
): Promise<RequestOutcome> {
  const { config, promotions, deps, now } = parts;
  const refuse = async (refusal: RequestRefusal): Promise<RequestOutcome> => {
    await parts.record(requester, '/promote', 'refused', { reason: refusal.reason, chatId });
    return { kind: 'refused', refusal };
  };
  const asker = refuseAsker({
    userId: requester.id,
    isAdmin: requester.isAdmin,
    chatId,
    chatType,
    allowedChatIds: (await deps.promoteChatIds?.()) ?? config.promote.allowedChatIds,
    twoPersonRule: config.flags.two_person_rule,
    promoteFlag: config.flags.promote,
    forgeConfigured: deps.forge !== undefined,
  });
  if (asker) return refuse(asker);
  const inFlight = await promotions.inFlight();
  const lock = inFlight ? undefined : await deps.productionLock();
  const freeze = activeFreeze(config.promote.freezeWindows, now(), config.promote.timeZone);
  const moment = refuseMoment({
    inFlight,
    lock,
    freeze: freeze?.text,
    timeZone: config.promote.timeZone,
    now: now(),
  });
  if (moment) return refuse(moment);
  const forge = parts.requireForge();
  let comparison: Comparison;
  try {
    comparison = await forge.compare(PRODUCTION, STAGING);
  } catch (error) {
    const problem = forgeProblemOf(error);
    if (!problem) throw error;
    return refuse({ reason: 'github unavailable', problem, started: false });
  }
  if (comparison.aheadBy === 0) return refuse({ reason: 'nothing to promote', status: comparison.status });

  let promotion: Promotion;
  try {
    promotion = await promotions.start({
      requestedBy: requester.id,
      requestedByName: requester.name,
      chatId,
      baseRef: PRODUCTION,
      headRef: STAGING,
    });
  } catch (error) {
    if (!(error instanceof PromotionInFlightError)) throw error;
    return refuse({ reason: 'in flight', promotion: error.existing, raced: true });
  }
  try {
    promotion = await openPull(parts, promotion, comparison, requester);
  } catch (error) {
    const problem = forgeProblemOf(error);
    await promotions.transition(promotion.id, ['pending'], {
      status: 'failed',
      reason: problem ? describeForgeProblem(problem) : String(error),
    });
    if (!problem) throw error;
    return refuse({ reason: 'github unavailable', problem, started: true });
  }
  // With webhooks, theirs are the next looks (the pull request's own may come before its
  // row waited on CI, and found nothing to wake): the poll leaves it to them a while.
  if (config.github.webhookSecret) parts.heard(promotion.id);
  // The first look reads the pull request and its CI (checks posted before the promotion reach
  // lugh by no webhook); asked for its mergeability now, GitHub computes it while CI runs, so
  // that it is known when CI is done rather than 'ask again' and a pause. With webhooks, in one
  // GraphQL query (`opening`; nothing when a check's webhook read them first); polling alone, over REST, whose ETags make the poll's
  // unchanged reads free 304s after it (a GraphQL query always costs a point).
  void parts.schedule(
    promotion.id,
    config.github.webhookSecret ? { pull: false, ci: true, lines: [], opening: true } : undefined,
  );
  return { kind: 'started', promotionId: promotion.id };
}

/**
 * When the oldest commit the promotion ships was written (lead time for changes starts
 * there): the oldest the forge listed (GitHub lists the newest 250), or undefined.
 */
export function firstCommitAt(comparison: Comparison): Date | undefined {
  const times = comparison.commits.flatMap((c) => (c.authoredAt ? [c.authoredAt.getTime()] : []));
  return times.length ? new Date(Math.min(...times)) : undefined;
}

/** The head commit's title as the compare listed it (its first line), or undefined when not listed. */
export function headTitle(comparison: Comparison): string | undefined {
  return comparison.commits.find((c) => c.sha === comparison.headSha)?.title || undefined;
}

/** Opens (or reuses) the develop → main pull request and posts the plan and the live CI message. */
async function openPull(
  parts: PromotionParts,
  promotion: Promotion,
  comparison: Comparison,
  requester: Requester,
): Promise<Promotion> {
  const { config, promotions, chat, now } = parts;
  const forge = parts.requireForge();
  const chatId = promotion.chatId;
  const body = pullBody(comparison, requester.name);
  const title = `Promote develop to main (${comparison.aheadBy} commits)`;
  const { pull, created } = await forge.openOrReusePull(PRODUCTION, STAGING, title, body);
  if (!created) await forge.updatePullBody(pull.number, body);
  await chat.send(chatId, {
    kind: 'plan',
    comparison,
    prUrl: pull.url,
    prNumber: pull.number,
    reused: !created,
  });
  await warnIfProductionCannotReach(parts, chatId, requester);
  const statusMessageId = await chat.send(chatId, { kind: 'ci looking', headSha: pull.headSha });
  const updated = await promotions.update(promotion.id, {
    status: 'waiting_ci',
    prNumber: pull.number,
    prUrl: pull.url,
    headSha: pull.headSha,
    commitCount: comparison.aheadBy,
    firstCommitAt: firstCommitAt(comparison),
    // Only while the pull request's head is the commit compared (a moved head forgets it).
    headTitle: pull.headSha === comparison.headSha ? (headTitle(comparison) ?? null) : null,
    statusMessageId,
    ciDeadline: new Date(now().getTime() + config.promote.ciTimeoutMs),
  });
  await parts.record(requester, '/promote', 'ok', {
    promotionId: updated.id,
    pr: pull.number,
    headSha: pull.headSha,
    reused: !created,
  });
  return updated;
}

/**
 * Before any approval: when the production bot says it cannot write to the requester
 * (they never opened a chat with it), tell them now, with the way to open it, rather than
 * after the merge. Never fails the promotion: a Redis or chat problem here is logged.
 */
async function warnIfProductionCannotReach(
  parts: PromotionParts,
  chatId: number,
  requester: Requester,
): Promise<void> {
  try {
    const reach = await parts.deps.productionReach?.();
    if (!reach?.unreachableAdmins.includes(requester.id)) return;
    await parts.chat.send(chatId, { kind: 'production cannot reach', bot: reach.botUsername });
  } catch (error) {
    parts.log.warn({ err: error }, 'could not tell whether the production bot reaches the requester');
  }
}
