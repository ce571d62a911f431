import type { Config } from '../../config.js';
import {
  AccessDeniedError,
  ForgeUnavailableError,
  HeadMovedError,
  NotMergeableError,
  RateLimitedError,
} from '../../forge/errors.js';
import type { CiState, Forge } from '../../forge/forge.js';
import { activeFreeze } from '../../freeze-windows.js';
import type { Logger } from '../../logger.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { HeldLock } from '../../store/locks.js';
import { type Promotion, PromotionInFlightError, type PromotionStore } from '../../store/promotions.js';
import { escapeHtml } from '../html.js';
import {
  link,
  renderCi,
  renderCiFailed,
  renderLock,
  renderPlan,
  renderPrompt,
  renderPullBody,
  shortSha,
} from './render.js';

/** What the promotion needs from Telegram: send and edit HTML messages with inline buttons. */
export interface PromotionChat {
  send(chatId: number, html: string, buttons?: readonly Button[]): Promise<number>;
  /** Editing to the same content is not an error. */
  edit(chatId: number, messageId: number, html: string, buttons?: readonly Button[]): Promise<void>;
}

export interface Button {
  readonly text: string;
  readonly data: string;
}

export interface Requester {
  readonly id: number;
  readonly name: string;
  readonly isAdmin: boolean;
}

export type RequestOutcome =
  | { readonly kind: 'refused'; readonly text: string }
  | { readonly kind: 'started'; readonly promotionId: number };

export interface DecisionOutcome {
  /** Short text for the callback answer (a toast, or an alert when `alert`). */
  readonly answer: string;
  readonly alert: boolean;
  /** True when the promotion reached an end (merged, declined, failed). */
  readonly final: boolean;
}

export interface PromotionServiceDeps {
  readonly config: Config;
  readonly logger: Logger;
  /** Absent when GITHUB_TOKEN or GITHUB_REPO is not configured. */
  readonly forge?: Forge;
  readonly promotions: PromotionStore;
  /** Production's deploy lock, as the production instance publishes it. */
  readonly productionLock: () => Promise<HeldLock | undefined>;
  /** The production bot's @username, once its instance has started. */
  readonly productionBot?: () => Promise<string | undefined>;
  readonly audit: AuditLog;
  readonly chat: PromotionChat;
  readonly now?: () => Date;
}

/** Callback data of a promotion button: a prefix and an opaque id looked up in Postgres. */
export const BUTTON_PREFIX = 'pb:';
const MIN_EDIT_INTERVAL_MS = 1_000;
/** A merge under way for this long without an owner in this process was interrupted. */
const STUCK_MERGE_SECONDS = 60;

function githubProblem(error: unknown): string | undefined {
  if (error instanceof RateLimitedError) {
    return `GitHub's rate limit is used up until ${error.resetAt.toISOString().slice(11, 16)} UTC.`;
  }
  if (error instanceof ForgeUnavailableError) return 'GitHub is not answering right now.';
  if (error instanceof AccessDeniedError)
    return 'GitHub refused lugh’s token: check GITHUB_TOKEN and its permissions.';
  return undefined;
}

/**
 * The promotion of develop to main, as a state machine in Postgres: every transition is
 * a compare-and-set, so a double tap, a second device or a redelivered webhook cannot
 * merge twice or queue two deploys. Telegram is only where it is shown.
 */
export function createPromotionService(deps: PromotionServiceDeps) {
  const { config, logger, promotions, audit, chat } = deps;
  const now = deps.now ?? (() => new Date());
  const log = logger.child({ component: 'promotion' });
  const production = 'main';
  const staging = 'develop';

  // One refresh or decision at a time per promotion, in this process.
  const chains = new Map<number, Promise<unknown>>();
  const serialized = <T>(id: number, work: () => Promise<T>): Promise<T> => {
    const previous = chains.get(id) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(work);
    chains.set(id, next);
    void next.finally(() => {
      if (chains.get(id) === next) chains.delete(id);
    });
    return next;
  };

  const lastRender = new Map<number, { text: string; at: number }>();
  /** Edits the live CI message only when its text changed, and at most once a second. */
  const showCi = async (p: Promotion, text: string) => {
    if (!p.statusMessageId) return;
    const last = lastRender.get(p.id);
    if (last?.text === text) return;
    const wait = last ? last.at + MIN_EDIT_INTERVAL_MS - Date.now() : 0;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await chat.edit(p.chatId, p.statusMessageId, text);
    lastRender.set(p.id, { text, at: Date.now() });
  };

  const record = (
    actor: Requester | undefined,
    action: string,
    outcome: 'ok' | 'refused' | 'failed',
    details: Record<string, unknown>,
  ) => audit.record({ actorId: actor?.id, actorName: actor?.name, action, outcome, details });

  const requireForge = (): Forge => {
    if (!deps.forge) throw new Error('GitHub is not configured');
    return deps.forge;
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
    const messageId = await chat.send(p.chatId, renderPrompt(p, expiresAt, now(), twoPerson), [
      { text: 'Yes, merge and deploy', data: `${BUTTON_PREFIX}${ids.approve}` },
      { text: 'No', data: `${BUTTON_PREFIX}${ids.decline}` },
    ]);
    await promotions.update(p.id, { promptMessageId: messageId });
  };

  const finish = async (
    p: Promotion,
    status: 'failed' | 'expired' | 'cancelled',
    reason: string,
    text: string,
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
    await record(undefined, `promotion ${status}`, status === 'failed' ? 'failed' : 'ok', {
      promotionId: p.id,
      reason,
    });
    await chat.send(p.chatId, text);
  };

  /** Looks at CI once: edits the live message, and moves the promotion on when CI is done. */
  const refresh = async (id: number): Promise<void> => {
    const p = await promotions.get(id);
    if (p?.status !== 'waiting_ci' || !p.prNumber || !p.headSha) return;
    const forge = requireForge();
    if (p.ciDeadline && now() > p.ciDeadline) {
      await finish(
        p,
        'expired',
        'CI timeout',
        `⌛ CI did not finish within ${config.promote.ciTimeoutMs / 60_000} min for <code>${shortSha(p.headSha)}</code>: nothing was merged. Run /promote again once CI is done.`,
      );
      return;
    }
    const pull = await forge.pull(p.prNumber);
    if (pull.state !== 'open') {
      await finish(
        p,
        'cancelled',
        'pull request closed',
        `The pull request #${p.prNumber} was ${pull.merged ? 'merged' : 'closed'} on GitHub: this promotion ends here.`,
      );
      return;
    }
    let current = p;
    if (pull.headSha !== p.headSha) {
      // develop moved while CI ran: follow the new head from scratch.
      current = await promotions.update(p.id, { headSha: pull.headSha });
      await chat.send(
        p.chatId,
        `develop moved to <code>${shortSha(pull.headSha)}</code>: following CI for the new head.`,
      );
    }
    const ci: CiState = await forge.ciState(pull.headSha);
    await showCi(current, renderCi(current, ci));
    if (ci.overall === 'failure') {
      await finish(current, 'failed', 'CI failed', renderCiFailed(current, ci));
      return;
    }
    if (ci.overall !== 'success') return;
    if (pull.mergeable === null) return; // GitHub is still computing it: the next look asks again
    if (!pull.mergeable) {
      await finish(
        current,
        'failed',
        'not mergeable',
        `❌ ${link(pull.url, `#${pull.number}`)} cannot be merged (${escapeHtml(pull.mergeableState)}): resolve the conflicts on develop and run /promote again.`,
      );
      return;
    }
    const ready = await promotions.transition(
      current.id,
      ['waiting_ci'],
      { status: 'awaiting_approval' },
      { headSha: pull.headSha },
    );
    if (ready) await prompt(ready);
  };

  /** Ends approval prompts whose buttons have expired. */
  const expirePrompts = async () => {
    const waiting = await promotions.awaitingApproval();
    for (const p of waiting) {
      const latest = await promotions.latestButtonExpiry(p.id);
      if (latest && latest < now()) {
        await serialized(p.id, async () => {
          const done = await promotions.transition(p.id, ['awaiting_approval'], {
            status: 'expired',
            reason: 'approval expired',
          });
          if (!done) return;
          await record(undefined, 'promotion expired', 'ok', {
            promotionId: p.id,
            reason: 'approval expired',
          });
          if (p.promptMessageId) {
            await chat.edit(
              p.chatId,
              p.promptMessageId,
              `⌛ This approval expired: nothing was merged. The PR stays open; run /promote again.`,
            );
          }
        });
      }
    }
  };

  const productionBotName = async () => {
    const username = await deps.productionBot?.().catch(() => undefined);
    return username ? `@${escapeHtml(username)}` : 'the production bot';
  };

  /**
   * Everything after main moved: the release tag, the GitHub Deployment, and exactly one
   * deployment row and job. Also how a merge interrupted by a crash is finished later:
   * the row and the job are keyed by the promotion, so running it twice queues nothing new.
   */
  const afterMerge = async (p: Promotion, mergeSha: string, actor: Requester) => {
    const forge = requireForge();
    const headSha = p.headSha;
    await promotions.update(p.id, { status: 'merged', mergeSha });
    if (p.promptMessageId) {
      await chat.edit(
        p.chatId,
        p.promptMessageId,
        `Approved by ${escapeHtml(actor.name)}: merged as <code>${shortSha(mergeSha)}</code>.`,
      );
    }
    await record(actor, 'promotion merged', 'ok', { promotionId: p.id, headSha, mergeSha, pr: p.prNumber });
    const notes: string[] = [];
    if (config.flags.release_tags && !p.tag) {
      try {
        const previous = await forge.latestReleaseTag();
        const tag = nextTag(previous);
        const release = await forge.createRelease(tag, mergeSha, previous);
        await promotions.update(p.id, { tag });
        notes.push(`Release ${link(release.url, tag)}`);
      } catch (error) {
        log.warn({ err: error, promotionId: p.id }, 'tagging the release failed');
        notes.push(
          `⚠️ The release tag could not be created (${escapeHtml(githubProblem(error) ?? 'GitHub error')}); the deploy goes ahead.`,
        );
      }
    }
    // The handoff: production's own instance claims this GitHub Deployment (its database
    // makes it exactly one deployment there). Looked up before creating, so a crash
    // between creating it and recording its id does not hand over twice.
    let githubDeploymentId = p.githubDeploymentId ?? undefined;
    if (githubDeploymentId === undefined) {
      const existing = (await forge.listDeployments('production')).find(
        (d) =>
          d.sha === mergeSha &&
          (d.payload.lugh as { promotionId?: number } | undefined)?.promotionId === p.id,
      );
      githubDeploymentId =
        existing?.id ??
        (
          await forge.createDeployment(mergeSha, 'production', `Promotion #${p.id} from Telegram`, {
            lugh: { promotionId: p.id, requestedBy: actor.id, chatId: p.chatId },
          })
        ).id;
      await promotions.update(p.id, { githubDeploymentId });
    }
    await record(actor, 'deploy handed over', 'ok', {
      promotionId: p.id,
      githubDeploymentId,
      sha: mergeSha,
    });
    await chat.send(
      p.chatId,
      [
        `✅ Merged ${p.prUrl ? link(p.prUrl, `#${p.prNumber}`) : `#${p.prNumber}`} into main as <code>${shortSha(mergeSha)}</code>.`,
        ...notes,
        `Production deploy handed over (GitHub deployment ${githubDeploymentId}): ${await productionBotName()} runs it and reports its progress ${p.chatId > 0 ? 'in your chat with it (open one if you have not)' : 'in this group'}.`,
      ].join('\n'),
    );
  };

  /**
   * Finishes or undoes what an interruption (a crash, a restart, an unexpected error) left
   * half-done between the confirmation and the queued deploy. GitHub is asked whether the
   * pull request merged; nothing is merged again.
   */
  const recoverMerge = async (id: number) => {
    const p = await promotions.get(id);
    if (!p?.prNumber) return;
    const actor: Requester = {
      id: p.approvedBy ?? p.requestedBy,
      name: `user ${p.approvedBy ?? p.requestedBy}`,
      isAdmin: true,
    };
    if (p.status === 'merged' && p.mergeSha) {
      await afterMerge(p, p.mergeSha, actor);
      return;
    }
    if (p.status !== 'merging') return;
    const pull = await requireForge().pull(p.prNumber);
    if (pull.merged && pull.mergeCommitSha) {
      await record(undefined, 'promotion merge recovered', 'ok', {
        promotionId: p.id,
        mergeSha: pull.mergeCommitSha,
      });
      await afterMerge(p, pull.mergeCommitSha, actor);
      return;
    }
    const back = await promotions.transition(p.id, ['merging'], { status: 'awaiting_approval' });
    if (!back) return;
    await record(undefined, 'promotion merge', 'failed', {
      promotionId: p.id,
      reason: 'interrupted before the merge',
    });
    await chat.send(
      p.chatId,
      `⚠️ The merge of #${p.prNumber} was interrupted before GitHub merged it: nothing was merged. Here is a new prompt:`,
    );
    await prompt(back);
  };

  /** Looks for interrupted merges and merges whose deploy was never queued. */
  const recoverInterrupted = async () => {
    const candidates = [
      ...(await promotions.stuckMerging(STUCK_MERGE_SECONDS)),
      ...(await promotions.mergedWithoutHandoff()),
    ];
    for (const p of candidates) {
      // This process is still working on it: not interrupted.
      if (chains.has(p.id)) continue;
      await serialized(p.id, () => recoverMerge(p.id)).catch((error: unknown) =>
        log.warn({ err: error, promotionId: p.id }, 'could not recover an interrupted merge'),
      );
    }
  };

  const mergeAndDeploy = async (p: Promotion, actor: Requester): Promise<DecisionOutcome> => {
    const forge = requireForge();
    const headSha = p.headSha!;
    if (p.promptMessageId) {
      await chat.edit(
        p.chatId,
        p.promptMessageId,
        `Merging <code>${shortSha(headSha)}</code>, approved by ${escapeHtml(actor.name)}…`,
      );
    }
    const backToCi = async (text: string) => {
      const pull = await forge.pull(p.prNumber!);
      await promotions.transition(p.id, ['merging'], {
        status: 'waiting_ci',
        headSha: pull.headSha,
      });
      await chat.send(p.chatId, text.replace('{sha}', shortSha(pull.headSha)));
      void schedule(p.id);
    };
    let mergeSha: string;
    try {
      const pull = await forge.pull(p.prNumber!);
      if (pull.headSha !== headSha) throw new HeadMovedError('head moved before the merge');
      mergeSha = (await forge.merge(p.prNumber!, { sha: headSha, method: config.promote.mergeMethod })).sha;
    } catch (error) {
      if (error instanceof HeadMovedError) {
        await record(actor, 'promotion merge', 'refused', {
          promotionId: p.id,
          reason: 'head moved',
          approvedSha: headSha,
        });
        await backToCi(
          `develop moved since the prompt (approved <code>${shortSha(headSha)}</code>, now <code>{sha}</code>): nothing was merged. Following CI for the new head; you will be asked again.`,
        );
        return { answer: 'develop moved: you will be asked again.', alert: true, final: false };
      }
      if (error instanceof NotMergeableError) {
        await finish(
          p,
          'failed',
          `not mergeable: ${error.message}`,
          `❌ GitHub refused the merge: ${escapeHtml(error.message)}. Nothing was merged; fix it and run /promote again.`,
        );
        return { answer: 'GitHub refused the merge.', alert: true, final: true };
      }
      const problem = githubProblem(error);
      if (!problem) throw error;
      // The merge may or may not have happened: ask GitHub instead of retrying blindly.
      const pull = await forge.pull(p.prNumber!).catch(() => undefined);
      if (pull?.merged && pull.mergeCommitSha) {
        mergeSha = pull.mergeCommitSha;
      } else {
        await promotions.transition(p.id, ['merging'], { status: 'awaiting_approval' });
        await record(actor, 'promotion merge', 'failed', { promotionId: p.id, reason: problem });
        await chat.send(
          p.chatId,
          `⚠️ ${escapeHtml(problem)} The pull request was not merged. Here is a new prompt when you want to try again:`,
        );
        const again = await promotions.get(p.id);
        if (again) await prompt(again);
        return { answer: problem, alert: true, final: false };
      }
    }

    await afterMerge(p, mergeSha, actor);
    return { answer: 'Merged; production deploy handed over.', alert: false, final: true };
  };

  let pollTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  const pending = new Set<number>();
  /** Refreshes one promotion soon, once, however often it is asked. */
  const schedule = (id: number): Promise<void> => {
    if (pending.has(id)) return Promise.resolve();
    pending.add(id);
    return serialized(id, async () => {
      pending.delete(id);
      try {
        await refresh(id);
      } catch (error) {
        // Transient GitHub trouble: the promotion stays waiting and the next poll tries again.
        log.warn({ err: error, promotionId: id }, 'could not refresh CI');
      }
    });
  };

  return {
    /** Checks every refusal, then opens or reuses the PR and starts following CI. */
    async request(requester: Requester, chatId: number, chatType: string): Promise<RequestOutcome> {
      const refuse = async (reason: string, text: string): Promise<RequestOutcome> => {
        await record(requester, '/promote', 'refused', { reason, chatId });
        return { kind: 'refused', text };
      };
      if (!requester.isAdmin)
        return refuse(
          'not an admin',
          `⛔ /promote is for lugh admins only. Your Telegram id is <code>${requester.id}</code>.`,
        );
      if (chatType !== 'private' && !config.promote.allowedChatIds.includes(chatId)) {
        return refuse(
          'chat not allowed',
          '⛔ /promote runs in a private chat with me, or in a group listed in PROMOTE_CHAT_IDS. Nothing was changed.',
        );
      }
      if (config.flags.two_person_rule && chatType === 'private') {
        return refuse(
          'two-person rule needs a group',
          '⛔ The two-person rule is on: run /promote in a group listed in PROMOTE_CHAT_IDS, where another admin can approve it. Nothing was changed.',
        );
      }
      if (!config.flags.promote)
        return refuse(
          'flag off',
          '⛔ Promotions are switched off here (FEATURE_PROMOTE). Nothing was changed.',
        );
      if (!deps.forge)
        return refuse(
          'github not configured',
          '⛔ GitHub is not configured: set GITHUB_TOKEN and GITHUB_REPO. Nothing was changed.',
        );
      const inFlight = await promotions.inFlight();
      if (inFlight) {
        const where = inFlight.prUrl ? ` (${link(inFlight.prUrl, `#${inFlight.prNumber}`)})` : '';
        return refuse(
          'in flight',
          `⏳ Promotion #${inFlight.id}${where} is already in flight (${inFlight.status.replace('_', ' ')}). Follow it, or /cancel it first.`,
        );
      }
      const lock = await deps.productionLock();
      if (lock) return refuse('deploy lock held', renderLock(lock, now()));
      const freeze = activeFreeze(config.promote.freezeWindows, now(), config.promote.timeZone);
      if (freeze) {
        return refuse(
          'freeze window',
          `🧊 Promotions are frozen now (${escapeHtml(freeze.text)}, ${escapeHtml(config.promote.timeZone)}). Nothing was changed.`,
        );
      }
      const forge = deps.forge;
      let comparison: Awaited<ReturnType<Forge['compare']>>;
      try {
        comparison = await forge.compare(production, staging);
      } catch (error) {
        const problem = githubProblem(error);
        if (!problem) throw error;
        return refuse(
          'github unavailable',
          `⚠️ ${escapeHtml(problem)} Nothing was changed; try /promote again later.`,
        );
      }
      if (comparison.aheadBy === 0) {
        return refuse(
          'nothing to promote',
          `Nothing to promote: develop has no commits that main lacks (${comparison.status}).`,
        );
      }

      let promotion: Promotion;
      try {
        promotion = await promotions.start({
          requestedBy: requester.id,
          chatId,
          baseRef: production,
          headRef: staging,
        });
      } catch (error) {
        if (error instanceof PromotionInFlightError) {
          return refuse(
            'in flight',
            `⏳ Promotion #${error.existing.id} is already in flight. Follow it, or /cancel it first.`,
          );
        }
        throw error;
      }
      try {
        const body = renderPullBody(comparison, requester.name);
        const { pull, created } = await forge.openOrReusePull(
          production,
          staging,
          `Promote develop to main (${comparison.aheadBy} commits)`,
          body,
        );
        if (!created) await forge.updatePullBody(pull.number, body);
        await chat.send(chatId, renderPlan(comparison, pull.url, pull.number, !created));
        const statusMessageId = await chat.send(
          chatId,
          `<b>CI</b> for <code>${shortSha(pull.headSha)}</code>: looking…`,
        );
        promotion = await promotions.update(promotion.id, {
          status: 'waiting_ci',
          prNumber: pull.number,
          prUrl: pull.url,
          headSha: pull.headSha,
          commitCount: comparison.aheadBy,
          statusMessageId,
          ciDeadline: new Date(now().getTime() + config.promote.ciTimeoutMs),
        });
        await record(requester, '/promote', 'ok', {
          promotionId: promotion.id,
          pr: pull.number,
          headSha: pull.headSha,
          reused: !created,
        });
      } catch (error) {
        const problem = githubProblem(error);
        await promotions.transition(promotion.id, ['pending'], {
          status: 'failed',
          reason: problem ?? String(error),
        });
        if (!problem) throw error;
        return refuse(
          'github unavailable',
          `⚠️ ${escapeHtml(problem)} Nothing was merged; run /promote again later.`,
        );
      }
      void schedule(promotion.id);
      return { kind: 'started', promotionId: promotion.id };
    },

    /** A press of a Yes/No button, identified only by its opaque id. */
    async decide(buttonId: string, actor: Requester): Promise<DecisionOutcome> {
      const button = await promotions.button(buttonId);
      if (!button) {
        await record(actor, 'promotion button', 'refused', {
          reason: 'unknown button',
          buttonId: buttonId.slice(0, 32),
        });
        return { answer: 'This button is not valid.', alert: true, final: false };
      }
      return serialized(button.promotionId, async () => {
        const p = await promotions.get(button.promotionId);
        const refuse = async (reason: string, answer: string) => {
          await record(actor, `promotion ${button.action}`, 'refused', {
            promotionId: button.promotionId,
            reason,
          });
          return { answer, alert: true, final: false };
        };
        if (!actor.isAdmin) return refuse('not an admin', 'Only lugh admins can use this button.');
        if (!p || button.usedAt || p.status !== 'awaiting_approval') {
          return refuse(
            'already decided',
            p?.status === 'merging' || p?.status === 'merged'
              ? 'Already confirmed: the merge is under way.'
              : 'This promotion is no longer waiting for approval.',
          );
        }
        if (button.expiresAt < now())
          return refuse('expired', 'These buttons have expired. Run /promote again.');
        if (button.boundUserId !== null && actor.id !== button.boundUserId) {
          return refuse('not the requester', 'Only the admin who asked for this promotion can answer it.');
        }
        if (button.notUserId !== null && actor.id === button.notUserId && button.action === 'approve') {
          return refuse('two-person rule', 'Two-person rule: another admin must approve your promotion.');
        }
        if (button.action === 'decline') {
          const declined = await promotions.transition(p.id, ['awaiting_approval'], {
            status: 'declined',
            reason: `declined by ${actor.name}`,
          });
          if (!declined)
            return refuse('already decided', 'This promotion is no longer waiting for approval.');
          await promotions.markButtonsUsed(p.id, actor.id);
          await record(actor, 'promotion declined', 'ok', { promotionId: p.id });
          if (p.promptMessageId) {
            await chat.edit(
              p.chatId,
              p.promptMessageId,
              `Declined by ${escapeHtml(actor.name)}: nothing was merged. The pull request stays open.`,
            );
          }
          return { answer: 'Declined. The pull request stays open.', alert: false, final: true };
        }
        const merging = await promotions.transition(
          p.id,
          ['awaiting_approval'],
          { status: 'merging', approvedBy: actor.id },
          { headSha: button.headSha },
        );
        if (!merging) return refuse('already decided', 'Already confirmed: the merge is under way.');
        await promotions.markButtonsUsed(p.id, actor.id);
        try {
          return await mergeAndDeploy(merging, actor);
        } catch (error) {
          log.error({ err: error, promotionId: p.id }, 'the merge was interrupted');
          await recoverMerge(p.id);
          return { answer: 'Something went wrong; see the chat.', alert: true, final: false };
        }
      });
    },

    /** /cancel: ends the promotion in flight, as long as the merge has not started. */
    async cancel(actor: Requester): Promise<string> {
      if (!actor.isAdmin) {
        await record(actor, '/cancel', 'refused', { reason: 'not an admin' });
        return `⛔ /cancel is for lugh admins only. Your Telegram id is <code>${actor.id}</code>.`;
      }
      const inFlight = await promotions.inFlight();
      if (!inFlight) return 'There is no promotion in flight.';
      return serialized(inFlight.id, async () => {
        const done = await promotions.transition(
          inFlight.id,
          ['pending', 'waiting_ci', 'awaiting_approval'],
          {
            status: 'cancelled',
            reason: `cancelled by ${actor.name}`,
          },
        );
        if (!done) {
          await record(actor, '/cancel', 'refused', { promotionId: inFlight.id, reason: 'merge started' });
          return 'Too late to cancel: the merge has started.';
        }
        await promotions.markButtonsUsed(done.id, actor.id);
        await record(actor, '/cancel', 'ok', { promotionId: done.id });
        const note = `Cancelled by ${escapeHtml(actor.name)}: nothing was merged.`;
        if (done.promptMessageId) await chat.edit(done.chatId, done.promptMessageId, note);
        else if (done.statusMessageId) await chat.edit(done.chatId, done.statusMessageId, note);
        return `Promotion #${done.id} cancelled: nothing was merged. The pull request stays open.`;
      });
    },

    /**
     * A verified GitHub webhook delivery. Each delivery id counts once (GitHub redelivers
     * with the same id); CI events wake the promotions waiting on that commit.
     */
    /** A verified, first-seen GitHub webhook: CI events wake the promotions that wait on CI. */
    async handleWebhook(delivery: { event: string; payload: unknown }): Promise<void> {
      if (!WAKING_EVENTS.has(delivery.event)) return;
      // If waking fails, the reconciling poll still finds the promotion.
      await this.wake(headShaOf(delivery.event, delivery.payload)).catch((error: unknown) =>
        log.warn({ err: error }, 'could not wake promotions'),
      );
    },

    /** A GitHub webhook says CI of `sha` changed (or anything did, without a sha). */
    async wake(sha?: string): Promise<void> {
      const waiting = await promotions.waitingForCi();
      await Promise.all(waiting.filter((p) => !sha || p.headSha === sha).map((p) => schedule(p.id)));
    },

    /** Starts the reconciling poll: catches missed webhooks and works without any. */
    startPolling(): void {
      if (pollTimer) return;
      const tick = async () => {
        try {
          const waiting = await promotions.waitingForCi();
          await Promise.all(waiting.map((p) => schedule(p.id)));
          await expirePrompts();
          await recoverInterrupted();
        } catch (error) {
          log.warn({ err: error }, 'promotion poll failed');
        }
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
      await Promise.allSettled([...chains.values()]);
    },
  };
}

const WAKING_EVENTS = new Set(['check_run', 'check_suite', 'workflow_run', 'status', 'pull_request']);

/** The commit a CI webhook is about, where its payload names one. */
function headShaOf(event: string, payload: unknown): string | undefined {
  const p = payload as Record<string, { head_sha?: string; head?: { sha?: string } } | string | undefined>;
  const object = p[event];
  if (event === 'status') return typeof p.sha === 'string' ? p.sha : undefined;
  if (event === 'pull_request' && typeof object === 'object') return object.head?.sha;
  return typeof object === 'object' ? object.head_sha : undefined;
}

/** The next patch version after the latest `vX.Y.Z` release, or v0.1.0 for the first. */
export function nextTag(previous: string | undefined): string {
  const m = previous ? /^v?(\d+)\.(\d+)\.(\d+)$/.exec(previous) : null;
  if (!m) return 'v0.1.0';
  return `v${m[1]}.${m[2]}.${Number(m[3]) + 1}`;
}

export type PromotionService = ReturnType<typeof createPromotionService>;
