import { escapeHtml, formatAgo, formatDuration, formatUtc, shortSha } from '../html.js';
import type { EnvironmentStatus, Probe, StatusReport } from './status-report.js';

const unknown = (why: string) => `❔ unknown — ${escapeHtml(why)}`;
const mark = (part: string) => (part.startsWith('ok') ? '✅' : '❌');
const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

function environment(e: EnvironmentStatus, now: Date): string[] {
  const lines = [`<b>${e.env}</b>${e.self ? ' (this bot)' : ''}`];
  const r = e.report;
  if (r.ok) {
    const s = r.value;
    const stale =
      now.getTime() - new Date(s.at).getTime() > 5_000 ? ` (reported ${formatAgo(new Date(s.at), now)})` : '';
    lines.push(
      `  version <code>${escapeHtml(shortSha(s.gitSha) || 'unknown')}</code> · up ${formatDuration(now.getTime() - new Date(s.startedAt).getTime())}`,
      `  health ${mark(s.health.db)} db · ${mark(s.health.redis)} redis · ${mark(s.health.telegram)} telegram${stale}`,
      s.deploying
        ? `  deploy #${s.deploying.id} running${s.deploying.step ? ` (${escapeHtml(s.deploying.step)})` : ''}`
        : '  no deploy running',
      s.lock
        ? `  🔒 locked by ${escapeHtml(s.lock.owner)}: “${escapeHtml(s.lock.reason)}” until ${formatUtc(new Date(s.lock.expiresAt))}`
        : '  not locked',
      s.last
        ? `  last deploy #${s.last.id} ${s.last.status.replace('_', ' ')} <code>${escapeHtml(shortSha(s.last.sha) || '—')}</code> by ${s.last.requestedBy ? `user ${s.last.requestedBy}` : `a ${escapeHtml(s.last.trigger)}`}, ${formatAgo(new Date(s.last.at), now)}`
        : '  no deploy yet',
    );
  } else {
    lines.push(`  instance ${unknown(r.why)}`);
  }
  const c = e.container;
  if (c.ok) {
    const f = c.value;
    const usage = [
      f.cpuPercent !== undefined ? `CPU ${f.cpuPercent.toFixed(1)} %` : undefined,
      f.memoryBytes !== undefined
        ? `memory ${mib(f.memoryBytes)}${f.memoryLimitBytes ? ` / ${mib(f.memoryLimitBytes)}` : ''}`
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
