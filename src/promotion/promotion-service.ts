// The promotion of develop to main, as a state machine in Postgres: every transition is a
// compare-and-set, so a double tap, a second device or a redelivered webhook cannot merge
// twice or hand over two deploys. The chat is only where it is shown (PromotionChat).
import { createCiFollow } from './ci-follow.js';
import { webhookNews } from './ci-news.js';
import { createMergeFlow } from './merge.js';
import type { CancelOutcome, DecisionOutcome, Requester, RequestOutcome } from './notices.js';
import { type CiNews, createPromotionParts, type PromotionServiceDeps } from './parts.js';
import { refuseButton, WAKING_EVENTS } from './policy.js';
import { requestPromotion } from './start.js';
import { createUpdateFlow } from './update-develop.js';

export { BUTTON_PREFIX, UPDATE_BUTTON_PREFIX } from './ci-follow.js';

/**
 * Webhooks arrive on time while one came about a promotion within this many poll intervals:
 * the reconciling poll skips it meanwhile (each skipped look would be a request, a 304 at
 * best), and looks again once they go quiet, which also catches a webhook GitHub never sent.
 */
const WEBHOOK_QUIET_POLLS = 4;

export type { PromotionServiceDeps } from './parts.js';

export function createPromotionService(deps: PromotionServiceDeps) {
  const parts = createPromotionParts(deps, (id, news) => ci.refresh(id, news));
  const { config, promotions, chat, log, now } = parts;
  const ci = createCiFollow(parts);
  const merge = createMergeFlow(parts, ci);
  const update = createUpdateFlow(parts, ci);

  /** A press of the No button on a promotion awaiting approval. */
  const decline = async (promotionId: number, actor: Requester): Promise<DecisionOutcome> => {
    const declined = await promotions.transition(promotionId, ['awaiting_approval'], {
      status: 'declined',
      reason: `declined by ${actor.name}`,
    });
    if (!declined) return refused(actor, 'promotion decline', promotionId, 'already decided');
    await promotions.markButtonsUsed(promotionId, actor.id);
    await parts.record(actor, 'promotion declined', 'ok', { promotionId });
    if (declined.promptMessageId) {
      await chat.edit(declined.chatId, declined.promptMessageId, { kind: 'declined', by: actor.name });
    }
    return { answer: { kind: 'declined' }, alert: false, final: true };
  };

  const refused = async (
    actor: Requester,
    action: string,
    promotionId: number,
    refusal: Parameters<typeof auditReason>[0],
  ): Promise<DecisionOutcome> => {
    await parts.record(actor, action, 'refused', { promotionId, reason: auditReason(refusal) });
    return { answer: { kind: 'refused', refusal }, alert: true, final: false };
  };

  let pollTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  return {
    /** Checks every refusal, then opens or reuses the PR and starts following CI. */
    request(requester: Requester, chatId: number, chatType: string): Promise<RequestOutcome> {
      return requestPromotion(parts, requester, chatId, chatType);
    },

    /**
     * A press of a Yes/No (or update develop) button, identified only by its opaque id.
     * `onMerging` runs once an approval is accepted and before the merge (seconds with
     * GitHub's write spacing), so the press can be answered while Telegram still takes the
     * answer; its failure is logged and the merge goes on.
     */
    async decide(
      buttonId: string,
      actor: Requester,
      onMerging?: () => Promise<void>,
    ): Promise<DecisionOutcome> {
      const button = await promotions.button(buttonId);
      if (!button) {
        await parts.record(actor, 'promotion button', 'refused', {
          reason: 'unknown button',
          buttonId: buttonId.slice(0, 32),
        });
        return { answer: { kind: 'refused', refusal: 'unknown button' }, alert: true, final: false };
      }
      // A press during the merge is answered now, not once the merge lets go of the promotion.
      const current = await promotions.get(button.promotionId);
      if (current?.status === 'merging') {
        const refusal =
          refuseButton({ actor, button, promotion: current, now: now() }) ?? 'already confirmed';
        return refused(actor, `promotion ${button.action}`, button.promotionId, refusal);
      }
      return parts.serialized(button.promotionId, async () => {
        const p = await promotions.get(button.promotionId);
        const action = `promotion ${button.action}`;
        const refusal = refuseButton({ actor, button, promotion: p, now: now() });
        if (refusal || !p) return refused(actor, action, button.promotionId, refusal ?? 'already decided');
        if (button.action === 'decline') return decline(p.id, actor);
        if (button.action === 'update') return update.updateFromBase(p, button.headSha, actor);
        const merging = await promotions.transition(
          p.id,
          ['awaiting_approval'],
          { status: 'merging', approvedBy: actor.id },
          { headSha: button.headSha },
        );
        if (!merging) return refused(actor, action, p.id, 'already confirmed');
        await promotions.markButtonsUsed(p.id, actor.id);
        await onMerging?.().catch((error: unknown) =>
          log.warn({ err: error, promotionId: p.id }, 'could not answer the approval before merging'),
        );
        try {
          return await merge.mergeAndDeploy(merging, actor);
        } catch (error) {
          log.error({ err: error, promotionId: p.id }, 'the merge was interrupted');
          // When GitHub cannot say yet whether it merged, the recovery poll asks again later.
          await merge
            .recoverMerge(p.id)
            .catch((again: unknown) =>
              log.warn({ err: again, promotionId: p.id }, 'could not recover the merge yet'),
            );
          return { answer: { kind: 'interrupted' }, alert: true, final: false };
        }
      });
    },

    /** /cancel: ends the promotion in flight, as long as the merge has not started. */
    async cancel(actor: Requester): Promise<CancelOutcome> {
      if (!actor.isAdmin) {
        await parts.record(actor, '/cancel', 'refused', { reason: 'not an admin' });
        return { kind: 'not an admin', userId: actor.id };
      }
      const inFlight = await promotions.inFlight();
      if (!inFlight) return { kind: 'nothing in flight' };
      if (inFlight.status === 'merging') {
        // Answered now, not once the merge lets go of the promotion.
        await parts.record(actor, '/cancel', 'refused', {
          promotionId: inFlight.id,
          reason: 'merge started',
        });
        return { kind: 'too late' };
      }
      return parts.serialized(inFlight.id, async () => {
        const done = await promotions.transition(
          inFlight.id,
          ['pending', 'waiting_ci', 'awaiting_approval'],
          {
            status: 'cancelled',
            reason: `cancelled by ${actor.name}`,
          },
        );
        if (!done) {
          await parts.record(actor, '/cancel', 'refused', {
            promotionId: inFlight.id,
            reason: 'merge started',
          });
          return { kind: 'too late' };
        }
        await promotions.markButtonsUsed(done.id, actor.id);
        await parts.record(actor, '/cancel', 'ok', { promotionId: done.id });
        const messageId = done.promptMessageId ?? done.statusMessageId;
        if (messageId) await chat.edit(done.chatId, messageId, { kind: 'cancelled', by: actor.name });
        return { kind: 'cancelled', promotionId: done.id };
      });
    },

    /**
     * A verified, first-seen GitHub webhook: CI events wake the promotions that wait on CI,
     * reading only what the event says changed (see ci-news.ts).
     */
    async handleWebhook(delivery: { event: string; payload: unknown }): Promise<void> {
      if (!WAKING_EVENTS.has(delivery.event)) return;
      const { sha, pullNumber, news } = webhookNews(delivery.event, delivery.payload);
      // If waking fails, the reconciling poll still finds the promotion.
      await this.wake(sha, news, pullNumber).catch((error: unknown) =>
        log.warn({ err: error }, 'could not wake promotions'),
      );
    },

    /**
     * A GitHub webhook says CI of `sha` (or pull request `pullNumber`) changed, or anything
     * did, without either. While webhooks come, the reconciling poll leaves the promotions
     * they are about alone.
     */
    async wake(sha?: string, news?: CiNews, pullNumber?: number): Promise<void> {
      const waiting = await promotions.waitingForCi();
      const about = (p: (typeof waiting)[number]) =>
        pullNumber !== undefined ? p.prNumber === pullNumber : !sha || p.headSha === sha;
      const woken = waiting.filter(about);
      for (const p of woken) parts.heard(p.id);
      const pinned = sha !== undefined || pullNumber !== undefined;
      if (pinned && news && !news.pull && !news.ci) return;
      // Not awaited: the delivery is answered at once, and deliveries that come while a look
      // is under way (or waits out the live message's one edit a second) join the next look.
      for (const p of woken) void parts.schedule(p.id, pinned ? news : undefined);
    },

    /** Starts the reconciling poll: catches missed webhooks and works without any. */
    startPolling(): void {
      if (pollTimer) return;
      const tick = async () => {
        try {
          // A promotion webhooks spoke of lately is theirs: polled again once they go quiet.
          const quietSince = Date.now() - WEBHOOK_QUIET_POLLS * config.promote.pollIntervalMs;
          const waiting = (await promotions.waitingForCi()).filter(
            (p) => (parts.lastHeard(p.id) ?? 0) < quietSince,
          );
          await Promise.all(waiting.map((p) => parts.schedule(p.id)));
          await ci.expirePrompts();
          await merge.recoverInterrupted();
        } catch (error) {
          log.warn({ err: error }, 'promotion poll failed');
        }
        await deps
          .alsoOnPoll?.()
          .catch((error: unknown) => log.warn({ err: error }, 'poll: reconciling more failed'));
        if (stopped) return;
        pollTimer = setTimeout(tick, config.promote.pollIntervalMs);
        pollTimer.unref();
      };
      pollTimer = setTimeout(tick, 0);
      pollTimer.unref();
    },

    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(pollTimer);
      await parts.drain();
    },
  };
}

/** What the audit log records for a refused button press: one word for both kinds of "already decided". */
function auditReason(refusal: NonNullable<ReturnType<typeof refuseButton>>): string {
  return refusal === 'already confirmed' ? 'already decided' : refusal;
}

export type PromotionService = ReturnType<typeof createPromotionService>;
