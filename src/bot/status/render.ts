import type { ServiceStatus } from '../../status/service-status.js';
import type {
  EnvironmentStatus,
  PreviewCounts,
  Probe,
  PublishedStatus,
  StatusReport,
} from '../../status/status-report.js';
import type { VersionFacts } from '../../status/version-lookup.js';
import type { WebhookHistory } from '../../status/webhook-log.js';
import { imageOriginText, triggerText } from '../deploys/render.js';
import { escapeHtml, formatAgo, formatDuration, formatUtc, shortSha } from '../html.js';
import { swarmCompact, swarmHealth, swarmLines, tasksText } from './swarm-lines.js';

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
  if (e.swarm) {
    const health = swarmHealth(e);
    if (!health || !e.swarm.ok) return '❔ app: unknown (Swarm tasks, service unknown)';
    const icon = health === 'healthy' ? '✅' : health === 'starting' ? '⏳' : '❌';
    return `${icon} app: ${tasksText(e.swarm.value)} (Swarm tasks)`;
  }
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
  if (e.swarm) {
    lines.push(...swarmLines(e, unknown));
  } else if (c.ok) {
    const f = c.value;
    // Over more than the engine's one-second window, say over how long.
    const over =
      f.cpuWindowMs !== undefined && f.cpuWindowMs > 1_500 ? ` over ${formatDuration(f.cpuWindowMs)}` : '';
    const sampled = f.usageAt ? `, sampled ${formatAgo(f.usageAt, now)}` : '';
    const usage = [
      f.cpuPercent !== undefined ? `CPU ${f.cpuPercent.toFixed(1)} %${over}${sampled}` : undefined,
      f.memoryBytes !== undefined
        ? `memory ${mib(f.memoryBytes)}${f.memoryLimitBytes ? ` / ${mib(f.memoryLimitBytes)}` : ''}`
        : undefined,
      f.usagePending ? 'CPU and memory: first sample under way' : undefined,
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
  lines.push(...serviceLines(e, true));
  return lines;
}

const HEALTH_MARK: Record<ServiceStatus['health'], string> = {
  healthy: '✅ healthy',
  none: '✅ running, no health check',
  starting: '⏳ starting',
  unhealthy: '❌ unhealthy',
  stopped: '❌ not running',
  missing: '❌ no container',
};

/** `worker <code>abc1234</code> · 1/1 ready · ✅ healthy`: a service of a set, indented under its environment. */
function serviceLine(s: ServiceStatus): string {
  // No container, no version; a container that names no commit (no GIT_SHA, no lugh.sha) says so.
  const version = s.shas.length
    ? ` ${s.shas.map((sha) => `<code>${shortSha(sha)}</code>`).join(', ')}`
    : s.health === 'missing'
      ? ''
      : ' no version label';
  const replicas = s.desired !== undefined ? `${s.ready}/${s.desired} ready` : `${s.ready} ready`;
  const short = s.desired !== undefined && s.ready < s.desired && s.health !== 'missing' ? ' ⚠️' : '';
  return `  ${escapeHtml(s.service)}${version} · ${replicas}${short} · ${HEALTH_MARK[s.health]}`;
}

/** A line per service when the environment runs a set; nothing for one service (as before). */
function serviceLines(e: EnvironmentStatus, details: boolean): string[] {
  const p = e.services;
  if (!p) return [];
  if (!p.ok) return details && e.container.ok ? [`  services ${unknown(p.why)}`] : [];
  return p.value.map(serviceLine);
}

function line<T>(label: string, p: Probe<T> | undefined, show: (value: T) => string, now: Date): string[] {
  if (!p) return [];
  // An earlier answer, given because GitHub was slow: say how old it is.
  const asOf = p.ok && p.at ? ` (as of ${formatAgo(p.at, now)})` : '';
  return [`${label} ${p.ok ? `${show(p.value)}${asOf}` : unknown(p.why)}`];
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

/** `Previews: 2 running, 1 failed, 1 starting or stopped (max 3)`, or unknown and why. */
export function previewsLine(p: Probe<PreviewCounts> | undefined): string[] {
  if (!p) return [];
  if (!p.ok) return [`<b>Previews</b> ${unknown(p.why)}`];
  const { running, other, failed, max } = p.value;
  const rest = other - (failed ?? 0);
  const parts = [`${running} running`];
  if (failed) parts.push(`${failed} failed`);
  if (rest > 0) parts.push(`${rest} ${failed === undefined ? 'not running' : 'starting or stopped'}`);
  return [`<b>Previews</b>: ${parts.join(', ')} (max ${max})`];
}

/** /status Details for an admin: both environments in full, develop against main, CI, the open promotion. */
export function renderStatusDetails(report: StatusReport): string {
  const now = report.at;
  return [
    `📊 <b>Status</b> · ${formatUtc(now)}`,
    ...report.environments.flatMap((e) => environment(e, now)),
    ...line(
      '<b>develop vs main</b>',
      report.compare,
      (c) =>
        c.aheadBy || c.behindBy ? `develop ${c.aheadBy} ahead, ${c.behindBy} behind` : 'the same commit',
      now,
    ),
    ...line(
      `<b>CI of develop</b>`,
      report.ci,
      (ci) =>
        ci.overall === 'none'
          ? 'nothing reported'
          : `${ci.overall === 'success' ? '✅' : ci.overall === 'pending' ? '⏳' : '❌'} ${ci.overall}`,
      now,
    ),
    ...line(
      '<b>promotion</b>',
      report.promotion,
      (p) => (p ? `#${p.id} ${escapeHtml(p.status.replace('_', ' '))}` : 'none in flight'),
      now,
    ),
    ...webhookLines(report.webhooks, now),
    ...previewsLine(report.previews),
    ...unreachableLines(report),
  ].join('\n');
}

/** The admins this bot cannot write to yet: in the compact form too, since they miss reports. */
function unreachableLines(report: StatusReport): string[] {
  return (report.unreachableAdmins ?? []).map(
    (id) => `📭 this bot cannot write to admin ${id} yet (never opened a chat with it: /start)`,
  );
}

/** Who holds a lock, short: `deploy #12`, or the person's name without their id. */
function lockHolder(owner: string): string {
  const deployment = /^deployment:(\d+)$/.exec(owner)?.[1];
  return deployment ? `deploy #${deployment}` : owner.replace(/ \(\d+\)$/, '');
}

/** `✅`, `⏳ starting`, or `❌ db, redis`: what is down, in a word each. */
function healthWord(e: EnvironmentStatus, s: PublishedStatus): string {
  const down = (['db', 'redis', 'telegram'] as const).filter((k) => !s.health[k].startsWith('ok'));
  const docker = e.self
    ? undefined
    : e.swarm
      ? swarmHealth(e)
      : e.container.ok
        ? e.container.value.health
        : undefined;
  const appDown = e.self ? s.health.status !== 'ok' : docker === 'unhealthy';
  const failing = [...(appDown ? ['app'] : []), ...down];
  if (failing.length) return `❌ ${failing.join(', ')}`;
  if (docker === 'starting') return '⏳ starting';
  return '✅';
}

/** One line for an environment: version, health, age, lock and the deploy under way. */
function compactEnvironment(e: EnvironmentStatus, now: Date): string {
  const name = `<b>${e.env}</b>`;
  const r = e.report;
  if (!r.ok) return `${name} ❔`;
  const s = r.value;
  const v = e.version?.ok ? e.version.value : undefined;
  const sha = shortSha(s.gitSha);
  const version = [v?.tag ? escapeHtml(v.tag) : undefined, sha ? `<code>${sha}</code>` : 'version ❔']
    .filter(Boolean)
    .join(' ');
  const ageText = v
    ? `${age(now.getTime() - v.committedAt.getTime())} old`
    : `up ${age(now.getTime() - new Date(s.startedAt).getTime())}`;
  const parts = [`${name} ${version}`, healthWord(e, s), ageText];
  const swarm = swarmCompact(e);
  if (swarm) parts.push(swarm);
  if (s.lock) parts.push(`🔒 ${escapeHtml(lockHolder(s.lock.owner))}`);
  if (s.deploying)
    parts.push(`🚀 #${s.deploying.id}${s.deploying.step ? ` ${escapeHtml(s.deploying.step)}` : ''}`);
  return parts.join(' · ');
}

/** What waits to ship: develop ahead of main, its CI, the open promotion. */
function waitingLine(report: StatusReport): string | undefined {
  const parts: string[] = [];
  const { compare, ci, promotion } = report;
  // An earlier answer, given because GitHub was slow (a hanging source): its age.
  const age = (p: Probe<unknown>) => (p.ok && p.at ? ` (${formatAgo(p.at, report.at)})` : '');
  if (compare)
    parts.push(
      !compare.ok
        ? 'develop ❔'
        : (compare.value.aheadBy || compare.value.behindBy
            ? `develop +${compare.value.aheadBy}${compare.value.behindBy ? ` −${compare.value.behindBy}` : ''}`
            : 'develop = main') + age(compare),
    );
  if (ci)
    parts.push(
      !ci.ok
        ? 'CI ❔'
        : (ci.value.overall === 'none'
            ? 'CI none'
            : `CI ${ci.value.overall === 'success' ? '✅' : ci.value.overall === 'pending' ? '⏳' : '❌'}`) +
            age(ci),
    );
  if (promotion)
    parts.push(
      !promotion.ok
        ? 'promotion ❔'
        : promotion.value
          ? `promotion #${promotion.value.id} ${escapeHtml(promotion.value.status.replace('_', ' '))}`
          : 'no promotion',
    );
  return parts.length ? `⏳ ${parts.join(' · ')}` : undefined;
}

/**
 * /status for an admin, one phone screen: a line per environment, then what waits to ship.
 * The Details button shows everything (renderStatusDetails), including why a ❔ is unknown.
 */
export function renderStatus(report: StatusReport): string {
  const now = report.at;
  const lines = [
    `📊 <b>Status</b> · ${formatUtc(now)}`,
    ...report.environments.flatMap((e) => [compactEnvironment(e, now), ...serviceLines(e, false)]),
  ];
  const waiting = waitingLine(report);
  if (waiting) lines.push(waiting);
  lines.push(...previewsLine(report.previews));
  const hook = report.webhooks?.ok ? report.webhooks.value : undefined;
  if (hook && hook.refusedSinceAccepted > 0)
    lines.push(`⚠️ GitHub webhook: ${hook.refusedSinceAccepted} refused`);
  lines.push(...unreachableLines(report));
  if (lines.some((l) => l.includes('❔'))) lines.push('❔ unknown: Details says why');
  return lines.join('\n');
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
