// The promotion's notices (src/promotion/notices.ts) as chat messages, in HTML.
import type { PullRequestInfo } from '../../forge/forge.js';
import type { PromotionNotice } from '../../promotion/notices.js';
import { describeForgeProblem, type MergeBlocker } from '../../promotion/policy.js';
import { escapeHtml, formatDuration } from '../html.js';
import { link, renderCi, renderCiFailed, renderPlan, renderPrompt, shortSha } from './render.js';

export const BUTTON_LABELS = {
  approve: 'Merge & deploy',
  decline: 'No',
  update: 'Update develop from main',
} as const;

export function renderNotice(n: PromotionNotice): string {
  switch (n.kind) {
    case 'plan':
      return renderPlan(n.comparison, n.prUrl, n.prNumber, n.reused);
    case 'production cannot reach':
      return `📭 @${escapeHtml(n.bot)} cannot write to you yet: you have never opened a chat with it. Open it and send /start now, so that its deploy report reaches you (until then it goes to the notify chat and waits for you).`;
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
    case 'blocked':
      return renderBlocked(n.pull, n.blockers);
    case 'draft':
      return `✋ ${pullLink(n.pull)} is a draft on GitHub, which will not merge it: nothing was merged. Press “Ready for review” on it, then /promote again.`;
    case 'behind':
      return renderBehind(n.pull, n.expiresAt, n.now);
    case 'updating develop':
      return `${escapeHtml(n.by)} asked to update develop from main: ${n.method === 'merge' ? 'merging main into develop' : 'GitHub is merging main into develop (update-branch)'}…`;
    case 'develop updated':
      return `develop is up to date with main at <code>${shortSha(n.headSha)}</code>: following CI for it; you will be asked to merge once it is green.`;
    case 'update refused':
      return `❌ GitHub could not update develop from main: ${escapeHtml(n.message)}. Nothing was merged; merge main into develop by hand (resolving any conflicts) and run /promote again.`;
    case 'update failed':
      return `⚠️ ${escapeHtml(describeForgeProblem(n.problem))} develop was not updated and nothing was merged; run /promote again later.`;
    case 'out of date before merge':
      return `main moved since the prompt and its protection wants develop up to date: nothing was merged. Looking at <code>${shortSha(n.headSha)}</code> again…`;
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
    case 'develop realigned':
      return `develop now points at main (<code>${shortSha(n.mergeSha)}</code>), with the content that was promoted: the next /promote lists only new work. It was <code>${shortSha(n.previousSha)}</code>; branches started from it: <code>git fetch</code>, then <code>git rebase --onto origin/develop ${shortSha(n.previousSha)}</code>.`;
    case 'back-merge opened':
      return [
        n.why === 'develop moved'
          ? 'develop has new commits since the promoted head, so lugh did not move it to main.'
          : 'develop may not be force-pushed (its branch protection), so lugh could not move it to main.',
        `Merge the back-merge pull request ${link(n.prUrl, `#${n.prNumber}`)} (main → develop${n.reused ? ', already open' : ''}) to bring main’s commits into develop; until develop is rebased onto main, /promote also lists the commits this promotion shipped.`,
      ].join('\n');
    case 'develop not realigned':
      return `⚠️ develop could not be brought back in line with main (${escapeHtml(n.problem ? describeForgeProblem(n.problem) : (n.message ?? 'GitHub error'))}). The deploy goes ahead; merge main into develop by hand.`;
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
    `Production deploy handed over (${deploymentsLink(p.prUrl, n.deploymentId)}): ${bot} runs it and reports its progress ${where}.`,
  ]
    .filter((line) => line !== undefined)
    .join('\n');
}

/**
 * Production's deployments on GitHub (`<repository>/deployments/production`, the page that
 * lists them with their states), found from the pull request's address; the raw id only
 * when there is none.
 */
function deploymentsLink(prUrl: string | null, deploymentId: number): string {
  const repository = prUrl?.match(/^(https?:\/\/.+)\/pull\/\d+$/)?.[1];
  return repository
    ? link(`${repository}/deployments/production`, 'on GitHub')
    : `GitHub deployment ${deploymentId}`;
}

function pullLink(pull: PullRequestInfo): string {
  return link(pull.url, `#${pull.number}`);
}

function renderBlocker(b: MergeBlocker): string {
  switch (b.kind) {
    case 'reviews': {
      const needed = `${b.required} approving review${b.required === 1 ? '' : 's'}`;
      return `• it needs ${needed} (it has ${b.approvals}): a maintainer with write access approves it on GitHub (lugh's token cannot approve its own pull request)`;
    }
    case 'check':
      return b.state === 'not reported'
        ? `• the required check “${escapeHtml(b.name)}” has not reported on this head: make a workflow report it on pull requests into main, or remove it from main’s required checks`
        : `• the required check “${escapeHtml(b.name)}” is ${b.state}`;
    case 'unexplained':
      return b.rulesReadable
        ? '• a rule lugh cannot see (a repository ruleset?): look at the pull request on GitHub'
        : '• main’s protection, which lugh’s token may not read (it needs Administration: read): look at the pull request on GitHub';
  }
}

function renderBlocked(pull: PullRequestInfo, blockers: readonly MergeBlocker[]): string {
  return [
    `⛔ GitHub has blocked the merge of ${pullLink(pull)} (main’s branch protection): nothing was merged.`,
    ...blockers.map(renderBlocker),
    'Then run /promote again; the pull request stays open.',
  ].join('\n');
}

function renderBehind(pull: PullRequestInfo, expiresAt: Date, now: Date): string {
  const left = formatDuration(Math.max(60_000, expiresAt.getTime() - now.getTime()));
  return [
    `↻ develop is behind main: main has commits develop lacks, and main’s protection requires ${pullLink(pull)} to be up to date before it merges. Nothing was merged.`,
    `Update develop from main? It adds a merge commit to develop, CI runs again, and you are asked to merge once it is green. The button expires in ${left}.`,
  ].join('\n');
}
