// The promotion's notices (src/promotion/notices.ts) as chat messages, in HTML.
import type { PromotionNotice } from '../../promotion/notices.js';
import { describeForgeProblem } from '../../promotion/policy.js';
import { escapeHtml } from '../html.js';
import { link, renderCi, renderCiFailed, renderPlan, renderPrompt, shortSha } from './render.js';

export const BUTTON_LABELS = { approve: 'Yes, merge and deploy', decline: 'No' } as const;

export function renderNotice(n: PromotionNotice): string {
  switch (n.kind) {
    case 'plan':
      return renderPlan(n.comparison, n.prUrl, n.prNumber, n.reused);
    case 'ci looking':
      return `<b>CI</b> for <code>${shortSha(n.headSha)}</code>: looking…`;
    case 'ci':
      return renderCi(n.promotion, n.ci);
    case 'ci failed':
      return renderCiFailed(n.promotion, n.ci);
    case 'ci timeout':
      return `⌛ CI did not finish within ${n.timeoutMinutes} min for <code>${shortSha(n.headSha)}</code>: nothing was merged. Run /promote again once CI is done.`;
    case 'pull closed':
      return `The pull request #${n.prNumber} was ${n.merged ? 'merged' : 'closed'} on GitHub: this promotion ends here.`;
    case 'head moved during ci':
      return `develop moved to <code>${shortSha(n.headSha)}</code>: following CI for the new head.`;
    case 'not mergeable':
      return `❌ ${link(n.pull.url, `#${n.pull.number}`)} cannot be merged (${escapeHtml(n.pull.mergeableState)}): resolve the conflicts on develop and run /promote again.`;
    case 'prompt':
      return renderPrompt(n.promotion, n.expiresAt, n.now, n.twoPerson);
    case 'approval expired':
      return '⌛ This approval expired: nothing was merged. The PR stays open; run /promote again.';
    case 'merging':
      return `Merging <code>${shortSha(n.headSha)}</code>, approved by ${escapeHtml(n.approver)}…`;
    case 'approved':
      return `Approved by ${escapeHtml(n.approver)}: merged as <code>${shortSha(n.mergeSha)}</code>.`;
    case 'head moved before merge':
      return `develop moved since the prompt (approved <code>${shortSha(n.approvedSha)}</code>, now <code>${shortSha(n.headSha)}</code>): nothing was merged. Following CI for the new head; you will be asked again.`;
    case 'merge refused':
      return `❌ GitHub refused the merge: ${escapeHtml(n.message)}. Nothing was merged; fix it and run /promote again.`;
    case 'merge failed':
      return `⚠️ ${escapeHtml(describeForgeProblem(n.problem))} The pull request was not merged. Here is a new prompt when you want to try again:`;
    case 'merge interrupted':
      return `⚠️ The merge of #${n.prNumber} was interrupted before GitHub merged it: nothing was merged. Here is a new prompt:`;
    case 'handed over':
      return renderHandedOver(n);
    case 'declined':
      return `Declined by ${escapeHtml(n.by)}: nothing was merged. The pull request stays open.`;
    case 'cancelled':
      return `Cancelled by ${escapeHtml(n.by)}: nothing was merged.`;
  }
}

function renderHandedOver(n: Extract<PromotionNotice, { kind: 'handed over' }>): string {
  const p = n.promotion;
  const bot = n.productionBot ? `@${escapeHtml(n.productionBot)}` : 'the production bot';
  const where = p.chatId > 0 ? 'in your chat with it (open one if you have not)' : 'in this group';
  const tagProblem =
    n.tagFailed &&
    (n.tagFailed.problem
      ? describeForgeProblem(n.tagFailed.problem)
      : (n.tagFailed.reason ?? 'GitHub error'));
  return [
    `✅ Merged ${p.prUrl ? link(p.prUrl, `#${p.prNumber}`) : `#${p.prNumber}`} into main as <code>${shortSha(n.mergeSha)}</code>.`,
    n.release ? `Release ${link(n.release.url, n.release.tag)}` : undefined,
    tagProblem
      ? `⚠️ The release tag could not be created (${escapeHtml(tagProblem)}); the deploy goes ahead.`
      : undefined,
    `Production deploy handed over (GitHub deployment ${n.deploymentId}): ${bot} runs it and reports its progress ${where}.`,
  ]
    .filter((line) => line !== undefined)
    .join('\n');
}
