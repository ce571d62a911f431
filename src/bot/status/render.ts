import type { EnvironmentStatus, Probe, StatusReport } from '../../status/status-report.js';
import type { VersionFacts } from '../../status/version-lookup.js';
import type { WebhookHistory } from '../../status/webhook-log.js';
import { imageOriginText, triggerText } from '../deploys/render.js';
import { escapeHtml, formatAgo, formatDuration, formatUtc, shortSha } from '../html.js';

const unknown = (why: string) => `❔ unknown — ${escapeHtml(why)}`;
const mark = (part: string) => (part.startsWith('ok') ? '✅' : '❌');
const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
const DAY_MS = 86_400_000;
/** A version's age: `3 d` past two days, finer below. */
const age = (ms: number) => (ms >= 2 * DAY_MS ? `${Math.floor(ms / DAY_MS)} d` : formatDuration(ms));

/** ` (v1.4.0, 3 d old)` after the SHA, or why the tag and age are unknown. */
function versionNote(v: Probe<VersionFacts | undefined> | undefined, now: Date): string {
  if (!v) return '';
  if (!v.ok) return ` (tag and age ${unknown(v.why)})`;
  if (!v.value) return '';
  const { tag, tagSearchComplete, committedAt } = v.value;
  const name = tag ? escapeHtml(tag) : tagSearchComplete ? 'untagged' : 'no recent tag';
  return ` (${name}, ${age(now.getTime() - committedAt.getTime())} old)`;
}

/**
 * The app's own health: this instance's readiness check for itself; for the other one,
 * Docker's health status of its container (the instances share no network to ask it).
 */
function appHealth(e: EnvironmentStatus, ready: boolean): string {
  if (e.self)
    return ready ? '✅ app: ready (own readiness check)' : '❌ app: not ready (own readiness check)';
  const c = e.container;
  if (!c.ok) return '❔ app: unknown (Docker health check, container unknown)';
  const health = c.value.health;
  if (!health) return `❔ app: ${escapeHtml(c.value.state)}, no Docker health check`;
  const icon = health === 'healthy' ? '✅' : health === 'starting' ? '⏳' : '❌';
  return `${icon} app: ${escapeHtml(health)} (Docker health check)`;
}

function environment(e: EnvironmentStatus, now: Date): string[] {
  const lines = [`<b>${e.env}</b>${e.self ? ' (this bot)' : ''}`];
  const r = e.report;
  if (r.ok) {
    const s = r.value;
    const stale =
      now.getTime() - new Date(s.at).getTime() > 5_000 ? ` (reported ${formatAgo(new Date(s.at), now)})` : '';
    lines.push(
      `  version <code>${escapeHtml(shortSha(s.gitSha) || 'unknown')}</code>${versionNote(e.version, now)} · up ${formatDuration(now.getTime() - new Date(s.startedAt).getTime())}`,
      `  health ${appHealth(e, s.health.status === 'ok')} · ${mark(s.health.db)} db · ${mark(s.health.redis)} redis · ${mark(s.health.telegram)} telegram${stale}`,
      s.deploying
        ? `  deploy #${s.deploying.id} running${s.deploying.step ? ` (${escapeHtml(s.deploying.step)})` : ''}`
        : '  no deploy running',
      s.lock
        ? `  🔒 locked by ${escapeHtml(s.lock.owner)}: “${escapeHtml(s.lock.reason)}” until ${formatUtc(new Date(s.lock.expiresAt))}`
        : '  not locked',
      s.last
        ? `  last deploy #${s.last.id} ${s.last.status.replace('_', ' ')} <code>${escapeHtml(shortSha(s.last.sha) || '—')}</code> by ${escapeHtml(triggerText(s.last))}, ${formatAgo(new Date(s.last.at), now)}`
        : '  no deploy yet',
    );
    const image = s.last?.status === 'succeeded' ? imageOriginText(s.last.image) : undefined;
    if (image) lines.push(`  📦 ${image}`);
  } else {
    lines.push(`  instance ${unknown(r.why)}`);
  }
  const c = e.container;
  if (c.ok) {
    const f = c.value;
    // Over more than the engine's one-second window, say over how long.
    const over =
      f.cpuWindowMs !== undefined && f.cpuWindowMs > 1_500 ? ` over ${formatDuration(f.cpuWindowMs)}` : '';
    const usage = [
      f.cpuPercent !== undefined ? `CPU ${f.cpuPercent.toFixed(1)} %${over}` : undefined,
      f.memoryBytes !== undefined
        ? `memory ${mib(f.memoryBytes)}${f.memoryLimitBytes ? ` / ${mib(f.memoryLimitBytes)}` : ''}`
        : undefined,
      f.usageWhy
        ? `${f.cpuPercent !== undefined ? '' : f.memoryBytes !== undefined ? 'CPU ' : 'CPU and memory '}${unknown(f.usageWhy)}`
        : undefined,
    ].filter(Boolean);
    lines.push(
      `  container ${escapeHtml(f.name)} ${escapeHtml(f.state)}${f.health ? ` (${escapeHtml(f.health)})` : ''}${usage.length ? ` · ${usage.join(' · ')}` : ''}`,
    );
  } else {
    lines.push(`  container ${unknown(c.why)}`);
  }
  return lines;
}

function line<T>(label: string, p: Probe<T> | undefined, show: (value: T) => string): string[] {
  if (!p) return [];
  return [`${label} ${p.ok ? show(p.value) : unknown(p.why)}`];
}

/** When GitHub's webhook last reached this bot, and a warning while its deliveries are refused. */
function webhookLines(p: Probe<WebhookHistory> | undefined, now: Date): string[] {
  if (!p) return [];
  if (!p.ok) return [`<b>GitHub webhook</b> ${unknown(p.why)}`];
  const { lastAccepted, lastRefused, refusedSinceAccepted } = p.value;
  const event = (e: string | null) => (e ? ` (${escapeHtml(e)})` : '');
  const lines = [
    lastAccepted
      ? `<b>GitHub webhook</b> last delivery ${formatAgo(new Date(lastAccepted.at), now)}${event(lastAccepted.event)}`
      : lastRefused
        ? '<b>GitHub webhook</b> ⚠️ no delivery accepted yet'
        : '<b>GitHub webhook</b> no delivery yet (is the repository’s hook set up? <code>lugh github check</code>)',
  ];
  if (refusedSinceAccepted > 0 && lastRefused) {
    const count = refusedSinceAccepted === 1 ? '1 delivery' : `${refusedSinceAccepted} deliveries`;
    lines.push(
      `  ⚠️ ${count} refused${lastAccepted ? ' since then' : ''}, the last ${formatAgo(new Date(lastRefused.at), now)}${event(lastRefused.event)}: ${lastRefused.status} ${escapeHtml(lastRefused.why ?? '')}. Push deploys wait for the poll; fix the repository’s webhook (<code>lugh github check</code> says what).`,
    );
  }
  return lines;
}

/** /status for an admin: both environments, develop against main, CI, the open promotion. */
export function renderStatus(report: StatusReport): string {
  const now = report.at;
  return [
    `📊 <b>Status</b> · ${formatUtc(now)}`,
    ...report.environments.flatMap((e) => environment(e, now)),
    ...line('<b>develop vs main</b>', report.compare, (c) =>
      c.aheadBy || c.behindBy ? `develop ${c.aheadBy} ahead, ${c.behindBy} behind` : 'the same commit',
    ),
    ...line(`<b>CI of develop</b>`, report.ci, (ci) =>
      ci.overall === 'none'
        ? 'nothing reported'
        : `${ci.overall === 'success' ? '✅' : ci.overall === 'pending' ? '⏳' : '❌'} ${ci.overall}`,
    ),
    ...line('<b>promotion</b>', report.promotion, (p) =>
      p ? `#${p.id} ${escapeHtml(p.status.replace('_', ' '))}` : 'none in flight',
    ),
    ...webhookLines(report.webhooks, now),
    ...(report.unreachableAdmins ?? []).map(
      (id) => `📭 this bot cannot write to admin ${id} yet (never opened a chat with it: /start)`,
    ),
  ].join('\n');
}

/** /status for someone who is not an admin: up or not, nothing more. */
export function renderShortStatus(report: StatusReport): string {
  return report.environments
    .map((e) => {
      const up = e.report.ok && e.report.value.health.status === 'ok';
      return `${e.env}: ${e.report.ok ? (up ? '✅ up' : '❌ degraded') : '❔ unknown'}`;
    })
    .join('\n');
}
