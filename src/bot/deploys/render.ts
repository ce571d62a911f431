import type { AppEnv } from '../../config/environments.js';
import { DEPLOY_STEPS, type DeployOutcome } from '../../deployer/deploy-notifier.js';
import type { ServiceProgress } from '../../store/deployment-services.js';
import {
  type Deployment,
  type DeploymentContext,
  type ImageOrigin,
  inProgress,
} from '../../store/deployments.js';
import { deploymentOfOwner, type HeldLock } from '../../store/locks.js';
import { escapeHtml, formatAgo, formatDuration, formatUtc, readableRef, shortSha } from '../html.js';
import { clip, fitLines, plainLength, TEXT_BUDGET } from '../telegram-limits.js';
import { renderServiceLines } from './service-lines.js';

/** An outcome's message longer than this is cut: with the 3000-character log tail it stays under 4096. */
const MAX_MESSAGE = 600;

export interface StepRecord {
  readonly step: string;
  readonly status: string;
  readonly detail: string | null;
}

const MARK: Record<string, string> = { succeeded: '✅', failed: '❌', skipped: '⏭', running: '⏳' };
const BAR = 10;

const TRIGGER_TEXT: Record<Deployment['trigger'], string> = {
  promotion: 'a promotion',
  push: 'a push',
  rollback: 'a rollback',
  manual: 'hand',
  baseline: 'lugh’s first start (it ran already)',
};

/**
 * Who or what started a deployment, the same in /history and /status, people by their
 * Telegram name: `@ada`, `@ada (rollback)`, `@ada (rollback of worker alone)`,
 * `@ada (promotion, approved by @bob)`, `a push`.
 * `user 42` only for a row recorded before names were.
 */
export function triggerText(d: {
  readonly trigger: string;
  readonly requestedBy: number | null;
  readonly requestedByName?: string | null;
  readonly context?: { readonly promotedBy?: string; readonly approvedBy?: string } | null;
  readonly onlyService?: string | null;
}): string {
  const name = d.requestedByName ?? (d.requestedBy ? `user ${d.requestedBy}` : undefined);
  if (d.trigger === 'manual' && name) return name;
  if (d.trigger === 'rollback' && name)
    return d.onlyService ? `${name} (rollback of ${d.onlyService} alone)` : `${name} (rollback)`;
  if (d.trigger === 'promotion') {
    const promoter = d.context?.promotedBy ?? d.context?.approvedBy ?? d.requestedByName;
    const approver = d.context?.approvedBy ?? d.requestedByName;
    if (promoter)
      return approver && approver !== promoter
        ? `${promoter} (promotion, approved by ${approver})`
        : `${promoter} (promotion)`;
  }
  // /status shows the other instance's report, whose build may know a trigger this one does not.
  return TRIGGER_TEXT[d.trigger as Deployment['trigger']] ?? `a ${d.trigger}`;
}

const RESULT_MARK: Record<string, string> = {
  awaiting_confirmation: '❔',
  succeeded: '✅',
  rolled_back: '↩️',
  failed: '❌',
  cancelled: '🚫',
};

/** An image's origin as it is stored, or as the other instance publishes it (dates as text). */
export type ImageOriginFacts =
  | ImageOrigin
  | { readonly kind: ImageOrigin['kind']; readonly fromEnv?: string; readonly since?: string };

/**
 * Where a deploy's image came from, in a few words: `same image staging ran since …` or
 * `built new: tree differs`; the same in the final message, /history and /status.
 */
export function imageOriginText(origin: ImageOriginFacts | null | undefined): string | undefined {
  switch (origin?.kind) {
    case 'reused': {
      const since = origin.since ? ` since ${formatUtc(new Date(origin.since))}` : '';
      return `same image ${escapeHtml(origin.fromEnv ?? 'staging')} ran${since}`;
    }
    case 'built':
      return 'built new: tree differs';
    case 'rebuilt':
      return 'built new: the image staging ran is gone';
    case 'kept':
      return 'image built before, not run by staging';
    default:
      return undefined;
  }
}

/**
 * What a deploy goes from and to: `91a46ac → main at abcdef1`; a promotion's ref is its
 * commit, named once. `from` is the commit that ran before, when one is recorded.
 */
function fromTo(d: Deployment, from?: string | null): string {
  const ref = readableRef(d.ref);
  const to =
    d.sha && (d.ref === d.sha || ref === shortSha(d.sha))
      ? `<code>${shortSha(d.sha)}</code>`
      : `<code>${escapeHtml(ref)}</code>${d.sha ? ` at <code>${shortSha(d.sha)}</code>` : ''}`;
  return from && from !== d.sha ? `<code>${shortSha(from)}</code> → ${to}` : to;
}

/**
 * The one progress message of a deployment: a bar and a line per step; `from` is the commit
 * running before it. A set deploy (lugh.yml) adds a line per service (service-lines.ts).
 */
export function renderProgress(
  d: Deployment,
  steps: readonly StepRecord[],
  from?: string | null,
  services: readonly ServiceProgress[] = [],
): string {
  const byStep = new Map(steps.map((s) => [s.step, s]));
  const finished = DEPLOY_STEPS.filter((s) => {
    const status = byStep.get(s)?.status;
    return status === 'succeeded' || status === 'skipped';
  }).length;
  const filled = Math.round((finished / DEPLOY_STEPS.length) * BAR);
  const running = steps.find((s) => s.status === 'running')?.step;
  const lines = DEPLOY_STEPS.map((step) => {
    const s = byStep.get(step);
    const mark = s ? (MARK[s.status] ?? '▫️') : '▫️';
    const text = s?.detail ? readableRef(s.detail) : '';
    const detail = text ? ` <i>${escapeHtml(text.length > 80 ? `${text.slice(0, 77)}…` : text)}</i>` : '';
    return `${mark} ${step}${detail}`;
  });
  const head = [
    `🚀 <b>Deploy #${d.id}</b> · ${d.env} · ${fromTo(d, from)}`,
    `${'▰'.repeat(filled)}${'▱'.repeat(BAR - filled)} ${finished}/${DEPLOY_STEPS.length}${running ? ` · ${running}` : ''}`,
    ...lines,
  ];
  const perService = renderServiceLines(services);
  // A set of many services stays one message: the lines that do not fit become "…and N more".
  return perService.length ? fitLines(head, perService) : head.join('\n');
}

/** A deployed commit as a version, as /status says it: `<code>abc1234</code> (v1.4.0)` when its promotion tagged a release. */
function versionOf(d: Deployment, sha: string | undefined): string {
  const tag = d.context?.release?.tag;
  return tag ? `<code>${shortSha(sha)}</code> (${escapeHtml(tag)})` : `<code>${shortSha(sha)}</code>`;
}

const linked = (label: string, url?: string) =>
  url ? `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>` : escapeHtml(label);

/**
 * A promotion's context in one line: `🔀 PR #12 · 🏷 v1.4.0 · promoted by @ada, approved by
 * @bob · CI 3 min 10 s`, the PR and the release linked; undefined when nothing is known.
 */
export function promotionContextText(c: DeploymentContext | null | undefined): string | undefined {
  if (!c) return undefined;
  const people =
    c.promotedBy && c.approvedBy && c.promotedBy !== c.approvedBy
      ? `promoted by ${escapeHtml(c.promotedBy)}, approved by ${escapeHtml(c.approvedBy)}`
      : c.promotedBy || c.approvedBy
        ? `promoted and approved by ${escapeHtml((c.promotedBy ?? c.approvedBy)!)}`
        : undefined;
  const parts = [
    c.pr ? `🔀 ${linked(`PR #${c.pr.number}`, c.pr.url)}` : undefined,
    c.release ? `🏷 ${linked(c.release.tag, c.release.url)}` : undefined,
    people,
    c.ciMs !== undefined ? `CI ${formatDuration(c.ciMs)}` : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** What the final message says besides the deployment row and its outcome. */
export interface OutcomeFacts {
  /** The deploy's backup step succeeded: a copy of the database from before it exists. */
  readonly backedUp?: boolean;
  /** A set deploy that failed: which service (and replica) failed, and why (service-lines.ts). */
  readonly failedService?: string;
}

/** The final message: what runs now, or what failed and the last lines it printed. */
export function renderOutcome(
  d: Deployment,
  outcome: {
    status: DeployOutcome;
    sha?: string;
    step?: string;
    message: string;
    logTail?: readonly string[];
  },
  redact: (text: string) => string,
  now: Date = new Date(),
  /** Irreversible migrations this deploy applied: a failed or rolled-back one leaves them applied. */
  irreversible: readonly string[] = [],
  facts: OutcomeFacts = {},
): string {
  const took = d.startedAt ? ` in ${formatDuration(now.getTime() - d.startedAt.getTime())}` : '';
  const head =
    outcome.status === 'succeeded'
      ? d.onlyService
        ? // One service rolled back alone: the environment is split until the set's next deploy.
          `✅ <b>Deploy #${d.id}</b> done${took}: ${d.env}’s ${escapeHtml(d.onlyService)} alone runs ${versionOf(d, outcome.sha)}; the other services run as they did, until the next deploy of the set.`
        : `✅ <b>Deploy #${d.id}</b> done${took}: ${d.env} runs ${versionOf(d, outcome.sha)}.`
      : outcome.status === 'rolled_back'
        ? `↩️ <b>Deploy #${d.id}</b> was rolled back: ${escapeHtml(clip(redact(outcome.message), MAX_MESSAGE))}`
        : `❌ <b>Deploy #${d.id}</b> failed${outcome.step ? ` at ${outcome.step}` : ''}: ${escapeHtml(clip(redact(outcome.message), MAX_MESSAGE))}`;
  const image = outcome.status === 'succeeded' ? imageOriginText(d.imageOrigin) : undefined;
  const context = d.trigger === 'promotion' ? promotionContextText(d.context) : undefined;
  const contextLine = `${facts.failedService ? `\n${facts.failedService}` : ''}${context ? `\n${context}` : ''}${afterVerifyHint(d, outcome)}`;
  const stays =
    outcome.status !== 'succeeded' && irreversible.length
      ? `\n⚠️ ${irreversible.length === 1 ? 'Its migration' : 'Its migrations'} ${irreversible.map((m) => `<code>${escapeHtml(m)}</code>`).join(', ')} cannot be undone and ${irreversible.length === 1 ? 'stays' : 'stay'} applied: the version running now runs on the migrated database.${facts.backedUp ? ' /restore offers the backup taken before it.' : ' No backup was taken before this deploy, so there is none to restore.'}`
      : '';
  // The message (an error's text) is cut, and the log tail gets what is left of one
  // Telegram message (4096 after parsing), at most its last 3000 characters.
  const room = TEXT_BUDGET - plainLength(`${head}${contextLine}\n${image ?? ''}${stays}`) - 2;
  const tail =
    outcome.logTail?.length && room > 0
      ? `\n<pre>${escapeHtml(redact(outcome.logTail.join('\n')).slice(-Math.min(3000, room)))}</pre>`
      : '';
  return `${head}${contextLine}${image ? `\n📦 ${image}` : ''}${stays}${tail}`;
}

/** Steps after which a failed deploy leaves the new version running (it passed verify). */
const AFTER_VERIFY = new Set(['cleanup', 'record']);

/**
 * The buttons under a result that help, as `{ text, data }`: after a failure or a rollback,
 * Logs (the last lines of what runs now, as /logs; the status feature answers
 * `status:logs`); after a failure that left the new version running (it passed verify),
 * Roll back too (the /rollback picker; the rollback feature answers `rollback:offer`). A
 * success needs none.
 */
export function outcomeButtons(outcome: {
  readonly status: DeployOutcome;
  readonly step?: string;
}): Array<{ text: string; data: string }> {
  if (outcome.status === 'succeeded') return [];
  const logs = { text: 'Logs', data: 'status:logs' };
  return newVersionRuns(outcome) ? [logs, { text: 'Roll back', data: 'rollback:offer' }] : [logs];
}

/** A failure at a step after verify: the new version passed it and runs on. */
const newVersionRuns = (outcome: { readonly status: DeployOutcome; readonly step?: string }) =>
  outcome.status === 'failed' && outcome.step !== undefined && AFTER_VERIFY.has(outcome.step);

/** What a failure that left the new version running asks of people: the command that goes back. */
function afterVerifyHint(d: Deployment, outcome: { status: DeployOutcome; step?: string }): string {
  return newVersionRuns(outcome)
    ? `\nThe new version passed verify and runs; /rollback ${d.env} offers the release before it.`
    : '';
}

/** /history: one line per deployment, newest first. */
export function renderHistory(env: string, rows: readonly Deployment[], now: Date = new Date()): string {
  if (rows.length === 0) return `No deployments of ${env} yet.`;
  const lines = rows.map((d) => {
    const mark = RESULT_MARK[d.status] ?? '⏳';
    const took =
      d.startedAt && d.finishedAt
        ? ` · ${formatDuration(d.finishedAt.getTime() - d.startedAt.getTime())}`
        : '';
    const what = d.sha ? versionOf(d, d.sha) : `<code>${escapeHtml(readableRef(d.ref))}</code>`;
    const image = d.status === 'succeeded' ? imageOriginText(d.imageOrigin) : undefined;
    const state =
      d.status === 'awaiting_confirmation'
        ? d.confirmExpiresAt && d.confirmExpiresAt <= now
          ? 'not confirmed'
          : 'awaiting confirmation'
        : d.status.replace('_', ' ');
    return `${mark} #${d.id} ${what} by ${escapeHtml(triggerText(d))} · ${formatAgo(d.createdAt, now)} · ${state}${took}${image ? ` · ${image}` : ''}`;
  });
  return [`<b>Last deployments of ${env}</b>`, ...lines].join('\n');
}

/** The settings a production deploy's confirmation speaks of, as the deploy will use them. */
export interface DeploySettingsFacts {
  /** DEPLOY_BACKUP: `pg_dump`, or `off`. */
  readonly backup: 'pg_dump' | 'off';
  /** DEPLOY_VERIFY_SECONDS, in ms: how long the new version must stay healthy after the switch. */
  readonly verifyMs: number;
  readonly confirmMs: number;
}

/** The question /deploy production asks, from the settings the deploy will run with (HTML). */
export function deployPrompt(ref: string, s: DeploySettingsFacts): string {
  const backup =
    s.backup === 'off'
      ? 'No backup of the database is taken first (DEPLOY_BACKUP=off).'
      : 'A backup of the database is taken first (pg_dump).';
  return `Deploy <code>${escapeHtml(ref)}</code> to <b>production</b>? ${backup} The new version must stay healthy for ${formatDuration(s.verifyMs)} after the switch, or the previous one is put back. The buttons expire in ${formatDuration(s.confirmMs)}.`;
}

/** Text with every full commit SHA in it shortened to 7 digits, as people read them. */
export const shortShas = (text: string): string => text.replace(/\b[0-9a-f]{40}\b/g, (sha) => shortSha(sha));

/**
 * Who holds a lock, as people read it: the person (`@ada (1001)`), or for a deployment's
 * lock `deploy #59 (running)` (its state from its row; `gone` when there is none), never
 * the internal owner `deployment:59`.
 */
export function lockHolderText(
  lock: HeldLock,
  holder: { readonly id: number; readonly status: string } | undefined,
): string {
  const id = deploymentOfOwner(lock.owner);
  if (id === undefined) return escapeHtml(lock.owner);
  return `deploy #${id} (${holder ? holder.status.replace('_', ' ') : 'gone'})`;
}

/** The refusal a deploy gets while a person holds the environment's lock (HTML). */
export function lockedMessage(env: AppEnv, lock: HeldLock): string {
  return `⛔ ${env} is locked by ${escapeHtml(lock.owner)}: “${escapeHtml(shortShas(lock.reason))}” until ${formatUtc(lock.expiresAt)}. Nothing was queued; /unlock ${env} first if the lock is no longer needed.`;
}

/** /lock refused: who holds the lock, why, until when, and the exact thing that clears it (HTML). */
export function lockTakenMessage(
  env: AppEnv,
  lock: HeldLock,
  holder: { readonly id: number; readonly status: string } | undefined,
): string {
  const id = deploymentOfOwner(lock.owner);
  const clear =
    id === undefined
      ? `/unlock ${env} first to take it over.`
      : holder && inProgress(holder.status)
        ? `It is freed when deploy #${id} ends; then send /lock ${env} again.`
        : `That deploy is over but its lock was not freed: /unlock ${env} frees it.`;
  return `⛔ ${env} is already locked by ${lockHolderText(lock, holder)}: “${escapeHtml(shortShas(lock.reason))}” until ${formatUtc(lock.expiresAt)}. ${clear}`;
}
