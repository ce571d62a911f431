import type { CheckLine, CiState, Comparison } from '../../forge/forge.js';
import type { HeldLock } from '../../store/locks.js';
import type { Promotion } from '../../store/promotions.js';
import { escapeHtml, formatDuration, formatUtc, shortSha } from '../html.js';
import { clip, fitLines, plainLength, TEXT_BUDGET } from '../telegram-limits.js';

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
    // A commit subject can be any length: ten long ones must not push the plan past 4096.
    .map(
      (c) =>
        `• <code>${short(c.sha)}</code> ${escapeHtml(clip(c.title, 120))} — ${escapeHtml(clip(c.author, 40))}`,
    );
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
/** Longest check name and detail shown: a matrix can name its jobs at length. */
const MAX_NAME = 120;
const MAX_DETAIL = 40;

function checkLine(c: CheckLine, bullet: string): string {
  const label = clip(c.name, MAX_NAME);
  const name = c.url ? link(c.url, label) : escapeHtml(label);
  return `${bullet} ${name} — ${escapeHtml(clip(c.detail, MAX_DETAIL))}`;
}

/** "✅ 80 passed · ❌ 5 failed · ⏳ 10 running", leaving out the states no check is in. */
function counts(checks: readonly CheckLine[]): string {
  const n = (state: CheckLine['state']) => checks.filter((c) => c.state === state).length;
  return [
    [STATE_ICON.success, n('success'), 'passed'],
    [STATE_ICON.failure, n('failure'), 'failed'],
    [STATE_ICON.pending, n('pending'), 'running'],
  ]
    .filter(([, count]) => (count as number) > 0)
    .map(([icon, count, word]) => `${icon} ${count} ${word}`)
    .join(' · ');
}

/**
 * The live CI message: a line per check while that fits in one Telegram message; past
 * that, the counts per state, then the failing checks by name, then the running ones, and
 * "…and N more" for what does not fit. Always under Telegram's 4096 characters.
 */
export function renderCi(promotion: Promotion, ci: CiState): string {
  const head = `<b>CI</b> for <code>${short(promotion.headSha)}</code>`;
  if (ci.checks.length === 0) return `${head}: waiting for checks to start…`;
  const overall = ci.overall === 'success' ? 'all green' : ci.overall === 'failure' ? 'failed' : 'running';
  const title = `${head}: ${overall}`;
  const full = [title, ...ci.checks.map((c) => checkLine(c, STATE_ICON[c.state]))].join('\n');
  if (plainLength(full) <= TEXT_BUDGET) return full;
  const named = [
    ...ci.checks.filter((c) => c.state === 'failure'),
    ...ci.checks.filter((c) => c.state === 'pending'),
  ].map((c) => checkLine(c, STATE_ICON[c.state]));
  return fitLines([`${title} (${ci.checks.length} checks)`, counts(ci.checks)], named);
}

export function renderCiFailed(promotion: Promotion, ci: CiState): string {
  const failed = ci.checks.filter((c) => c.state === 'failure');
  return fitLines(
    [`❌ <b>CI failed</b> for <code>${short(promotion.headSha)}</code>: nothing was merged.`],
    failed.map((c) => checkLine(c, '•')),
    ['Fix develop and run /promote again.'],
  );
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
