import type { AppEnv } from '../../config/environments.js';
import type { DeployOutcome } from '../../deployer/deploy-notifier.js';
import type { HandoffRefusal } from '../../deployer/intake.js';
import type { NotificationTexts } from '../../notifications/notification-texts.js';
import type { Deployment } from '../../store/deployments.js';
import type { HeldLock } from '../../store/locks.js';
import type { Promotion } from '../../store/promotions.js';
import { imageOriginText } from '../deploys/render.js';
import { escapeHtml, formatDuration, formatUtc, readableRef, shortSha } from '../html.js';

// Notifications are short: an emoji, the environment, what happened. Every text that came
// from outside lugh (an error, a reason, a person's name) is redacted and escaped here.

const MAX_DETAIL = 300;
const detail = (text: string, redact: (t: string) => string) => {
  const clean = redact(text).replace(/\s+/g, ' ').trim();
  return escapeHtml(clean.length > MAX_DETAIL ? `${clean.slice(0, MAX_DETAIL - 1)}…` : clean);
};

export function renderDeployNotice(
  d: Deployment,
  outcome: { status: DeployOutcome; sha?: string; step?: string; message: string },
  redact: (text: string) => string,
): string {
  const what = `deploy #${d.id} of <code>${escapeHtml(readableRef(d.ref))}</code>`;
  if (outcome.status === 'succeeded') {
    const image = imageOriginText(d.imageOrigin);
    return `✅ <b>${d.env}</b>: ${what} done, it runs <code>${shortSha(outcome.sha ?? d.sha)}</code>${image ? ` (${image})` : ''}.`;
  }
  if (outcome.status === 'rolled_back')
    return `↩️ <b>${d.env}</b>: ${what} was rolled back: ${detail(outcome.message, redact)}`;
  return `❌ <b>${d.env}</b>: ${what} failed${outcome.step ? ` at ${outcome.step}` : ''}: ${detail(outcome.message, redact)}`;
}

export function renderDegraded(env: AppEnv, reason: string, redact: (t: string) => string): string {
  return `🔴 <b>${env}</b> is degraded: ${detail(reason, redact)}`;
}

export function renderRecovered(env: AppEnv, since: Date, now: Date = new Date()): string {
  return `🟢 <b>${env}</b> has recovered (degraded for ${formatDuration(now.getTime() - since.getTime())}).`;
}

const PROMOTION_MARK: Record<string, string> = { failed: '❌', expired: '⌛', cancelled: '🚫' };

export function renderPromotionEnded(p: Promotion, redact: (t: string) => string): string {
  const pr = p.prNumber
    ? p.prUrl
      ? ` (<a href="${escapeHtml(p.prUrl)}">#${p.prNumber}</a>)`
      : ` (#${p.prNumber})`
    : '';
  const why = p.reason ? `: ${detail(p.reason, redact)}` : '';
  return `${PROMOTION_MARK[p.status] ?? '⚠️'} <b>${p.env}</b>: promotion #${p.id} of ${escapeHtml(p.headRef)} → ${escapeHtml(p.baseRef)}${pr} ${p.status}${why}. Nothing was merged.`;
}

export function renderLockExpired(
  env: string,
  lock: HeldLock,
  deployment: Deployment | undefined,
  redact: (t: string) => string,
): string {
  const head = `⏰ <b>${escapeHtml(env)}</b>: the lock held by ${detail(lock.owner, redact)} (“${detail(lock.reason, redact)}”) expired at ${formatUtc(lock.expiresAt)} without being released`;
  if (deployment?.status === 'running')
    return `${head}. Deploy #${deployment.id} is still running${deployment.step ? ` at ${deployment.step}` : ''} and stopped renewing it: it may be stuck. ${escapeHtml(env)} is unlocked now.`;
  if (deployment)
    return `${head}; deploy #${deployment.id} ended (${deployment.status}). ${escapeHtml(env)} is unlocked now.`;
  return `${head}. ${escapeHtml(env)} is unlocked now: deploys are allowed again.`;
}

export function renderHandoffRefused(r: HandoffRefusal, redact: (t: string) => string): string {
  const by = r.creator ? `created by <b>${detail(r.creator, redact)}</b> on GitHub` : 'its creator unknown';
  return `🛑 <b>${r.env}</b> refused GitHub deployment ${r.githubDeploymentId} of <code>${shortSha(r.sha)}</code> (${by}): ${detail(r.reason, redact)}. Nothing was deployed.`;
}

/** The notifications' texts in Telegram HTML; `redact` is applied to everything that came from outside lugh. */
export function createNotificationTexts(redact: (text: string) => string): NotificationTexts {
  return {
    degraded: (env, reason) => renderDegraded(env, reason, redact),
    recovered: (env, since) => renderRecovered(env, since),
    promotionEnded: (promotion) => renderPromotionEnded(promotion, redact),
    lockExpired: (env, lock, deployment) => renderLockExpired(env, lock, deployment, redact),
    deployFinished: (deployment, result) => renderDeployNotice(deployment, result, redact),
    handoffRefused: (refusal) => renderHandoffRefused(refusal, redact),
  };
}
