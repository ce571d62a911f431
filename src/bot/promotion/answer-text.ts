// What the promotion answers a person (a refusal, a button's toast, /cancel), in chat words.
import type { CancelOutcome, DecisionAnswer } from '../../promotion/notices.js';
import { describeForgeProblem, type RequestRefusal } from '../../promotion/policy.js';
import { escapeHtml } from '../html.js';
import { link, renderLock } from './render.js';

/** Why /promote did nothing (HTML). */
export function renderRefusal(r: RequestRefusal): string {
  switch (r.reason) {
    case 'not an admin':
      return `⛔ /promote is for lugh admins only. Your Telegram id is <code>${r.userId}</code>.`;
    case 'chat not allowed':
      return '⛔ /promote runs in a private chat with me, or in a group listed in PROMOTE_CHAT_IDS. Nothing was changed.';
    case 'two-person rule needs a group':
      return '⛔ The two-person rule is on: run /promote in a group listed in PROMOTE_CHAT_IDS, where another admin can approve it. Nothing was changed.';
    case 'flag off':
      return '⛔ Promotions are switched off here (FEATURE_PROMOTE). Nothing was changed.';
    case 'github not configured':
      return '⛔ GitHub is not configured: set GITHUB_TOKEN and GITHUB_REPO. Nothing was changed.';
    case 'in flight': {
      const p = r.promotion;
      if (r.raced) return `⏳ Promotion #${p.id} is already in flight. Follow it, or /cancel it first.`;
      const where = p.prUrl ? ` (${link(p.prUrl, `#${p.prNumber}`)})` : '';
      return `⏳ Promotion #${p.id}${where} is already in flight (${p.status.replace('_', ' ')}). Follow it, or /cancel it first.`;
    }
    case 'deploy lock held':
      return renderLock(r.lock, r.now);
    case 'freeze window':
      return `🧊 Promotions are frozen now (${escapeHtml(r.freeze)}, ${escapeHtml(r.timeZone)}). Nothing was changed.`;
    case 'github unavailable':
      return `⚠️ ${escapeHtml(describeForgeProblem(r.problem))} ${r.started ? 'Nothing was merged; run /promote again later.' : 'Nothing was changed; try /promote again later.'}`;
    case 'nothing to promote':
      return `Nothing to promote: develop has no commits that main lacks (${escapeHtml(r.status)}).`;
  }
}

/** The answer to an accepted Yes, given before the merge: the rest follows in the message. */
export const MERGE_STARTED_ANSWER = 'Merging… progress follows in the message.';

/** The callback answer to a Yes/No press (plain text: a toast or an alert). */
export function renderDecisionAnswer(a: DecisionAnswer): string {
  switch (a.kind) {
    case 'refused':
      return BUTTON_REFUSALS[a.refusal];
    case 'declined':
      return 'Declined. The pull request stays open.';
    case 'updating':
      return 'Updating develop from main…';
    case 'update refused':
      return 'GitHub could not update develop from main; see the chat.';
    case 'head moved':
      return 'develop moved: you will be asked again.';
    case 'merge refused':
      return 'GitHub refused the merge.';
    case 'merge failed':
      return describeForgeProblem(a.problem);
    case 'interrupted':
      return 'Something went wrong; see the chat.';
    case 'merged':
      return 'Merged; production deploy handed over.';
  }
}

const BUTTON_REFUSALS: Record<Extract<DecisionAnswer, { kind: 'refused' }>['refusal'], string> = {
  'unknown button': 'This button is not valid.',
  'not an admin': 'Only lugh admins can use this button.',
  'already confirmed': 'Already confirmed: the merge is under way.',
  'already decided': 'This promotion is no longer waiting for approval.',
  expired: 'These buttons have expired. Run /promote again.',
  'not the requester': 'Only the admin who asked for this promotion can answer it.',
  'two-person rule': 'Two-person rule: another admin must approve your promotion.',
};

/** The reply to /cancel (HTML). */
export function renderCancel(c: CancelOutcome): string {
  switch (c.kind) {
    case 'not an admin':
      return `⛔ /cancel is for lugh admins only. Your Telegram id is <code>${c.userId}</code>.`;
    case 'nothing in flight':
      return 'There is no promotion in flight.';
    case 'too late':
      return 'Too late to cancel: the merge has started.';
    case 'cancelled':
      return `Promotion #${c.promotionId} cancelled: nothing was merged. The pull request stays open.`;
  }
}
