import type { CiState, Comparison } from '../../forge/forge.js';
import type { HeldLock } from '../../store/locks.js';
import type { Promotion } from '../../store/promotions.js';
import { escapeHtml, formatDuration, formatUtc, shortSha } from '../html.js';

/** At most this many commits are listed; the rest become "and N more". */
export const MAX_COMMITS_SHOWN = 10;

const short = shortSha;

export function link(url: string, text: string): string {
  return `<a href="${escapeHtml(url)}">${escapeHtml(text)}</a>`;
}

function relative(until: Date, now: Date): string {
  return formatDuration(Math.max(60_000, until.getTime() - now.getTime()));
}

/** The commits develop is ahead of main, newest first, capped. */
export function renderCommits(comparison: Comparison): string[] {
  const shown = comparison.commits
    .slice(0, MAX_COMMITS_SHOWN)
    .map((c) => `• <code>${short(c.sha)}</code> ${escapeHtml(c.title)} — ${escapeHtml(c.author)}`);
  // The forge may list fewer commits than develop is ahead by (GitHub: the newest 250).
  const more = Math.max(comparison.aheadBy, comparison.commits.length) - shown.length;
  if (more > 0) shown.push(`…and ${more} more`);
  return shown;
}

/** "3 files", or "300+ files" when the forge stopped counting at its cap. */
function filesText({ filesChanged, filesCapped }: Comparison): string {
  if (filesCapped) return `${filesChanged}+ files`;
  return `${filesChanged} file${filesChanged === 1 ? '' : 's'}`;
}

export function renderPlan(comparison: Comparison, prUrl: string, prNumber: number, reused: boolean): string {
  return [
    `<b>Promoting develop → main</b>: ${comparison.aheadBy} commit${comparison.aheadBy === 1 ? '' : 's'}, ${filesText(comparison)} changed`,
    ...renderCommits(comparison),
    `Pull request: ${link(prUrl, `#${prNumber}`)}${reused ? ' (already open, reused)' : ''}`,
  ].join('\n');
}

const STATE_ICON = { pending: '⏳', success: '✅', failure: '❌' } as const;

export function renderCi(promotion: Promotion, ci: CiState): string {
  const head = `<b>CI</b> for <code>${short(promotion.headSha)}</code>`;
  if (ci.checks.length === 0) return `${head}: waiting for checks to start…`;
  const lines = ci.checks.map((c) => {
    const name = c.url ? link(c.url, c.name) : escapeHtml(c.name);
    return `${STATE_ICON[c.state]} ${name} — ${escapeHtml(c.detail)}`;
  });
  const overall = ci.overall === 'success' ? 'all green' : ci.overall === 'failure' ? 'failed' : 'running';
  return [`${head}: ${overall}`, ...lines].join('\n');
}

export function renderCiFailed(promotion: Promotion, ci: CiState): string {
  const failed = ci.checks.filter((c) => c.state === 'failure');
  return [
    `❌ <b>CI failed</b> for <code>${short(promotion.headSha)}</code>: nothing was merged.`,
    ...failed.map((c) => `• ${c.url ? link(c.url, c.name) : escapeHtml(c.name)} — ${escapeHtml(c.detail)}`),
    'Fix develop and run /promote again.',
  ].join('\n');
}

export function renderPrompt(promotion: Promotion, expiresAt: Date, now: Date, twoPerson: boolean): string {
  return [
    `Merge and deploy to production?`,
    `Head: <code>${promotion.headSha}</code>`,
    `PR: ${promotion.prUrl ? link(promotion.prUrl, `#${promotion.prNumber}`) : `#${promotion.prNumber}`}`,
    twoPerson ? 'Two-person rule: another admin must approve.' : undefined,
    `The buttons expire in ${relative(expiresAt, now)}.`,
  ]
    .filter(Boolean)
    .join('\n');
}

export function renderLock(lock: HeldLock, now: Date): string {
  return `⛔ Production deploys are locked by ${escapeHtml(lock.owner)}: “${escapeHtml(lock.reason)}”, for another ${relative(lock.expiresAt, now)} (until ${formatUtc(lock.expiresAt)}). Nothing was changed.`;
}

export { short as shortSha };
