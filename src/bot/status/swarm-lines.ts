// /status lines of an environment whose app is a Swarm service: the service, Swarm's update
// state, and a line per task (its node, state, health and version).
import type { EnvironmentStatus } from '../../status/status-report.js';
import type { SwarmServiceStatus, SwarmTaskStatus, SwarmUpdate } from '../../status/swarm-status.js';
import { escapeHtml, shortSha } from '../html.js';

const UPDATE_MARK: Record<string, string> = {
  updating: '⏳ updating',
  paused: '⏸️ update paused',
  completed: '✅ update completed',
  rollback_started: '⏪ rolling back',
  rollback_paused: '⏸️ rollback paused',
  rollback_completed: '⏪ rolled back',
};

/** `⏳ updating`, `⏪ rolled back: <message>`… (Swarm's own message, when it gives one). */
export function updateText(u: SwarmUpdate): string {
  const mark = UPDATE_MARK[u.state] ?? `update ${escapeHtml(u.state)}`;
  return u.message && u.state !== 'completed' ? `${mark}: ${escapeHtml(u.message)}` : mark;
}

/** The short form of a digest (`sha256:` and 12 hex), as `docker image ls` shows it. */
export const shortDigest = (digest: string) => digest.slice(0, 'sha256:'.length + 12);

function taskLine(t: SwarmTaskStatus): string {
  const name = t.slot !== undefined ? `task ${t.slot}` : 'task';
  const health = t.health ? ` (${escapeHtml(t.health)})` : '';
  const icon =
    t.state === 'running' && (t.health === undefined || t.health === 'healthy')
      ? '✅'
      : t.state === 'failed' || t.state === 'rejected' || t.health === 'unhealthy'
        ? '❌'
        : '⏳';
  const version = [
    t.sha ? `<code>${escapeHtml(shortSha(t.sha))}</code>` : undefined,
    t.digest ? `<code>${escapeHtml(shortDigest(t.digest))}</code>` : undefined,
  ].filter(Boolean);
  const error = t.error ? ` — ${escapeHtml(t.error)}` : '';
  return `    ${icon} ${name} on ${escapeHtml(t.node)}: ${escapeHtml(t.state)}${health}${version.length ? ` · ${version.join(' · ')}` : ''}${error}`;
}

/** `2/2 running`, with ⚠️ when fewer run than Swarm is asked for, or more (a surplus Swarm left). */
export function tasksText(s: SwarmServiceStatus): string {
  return `${s.running}/${s.desired} running${s.running !== s.desired ? ' ⚠️' : ''}`;
}

/** The service, its update state and a line per task: what Details shows for a Swarm environment. */
export function swarmLines(e: EnvironmentStatus, unknown: (why: string) => string): string[] {
  const p = e.swarm;
  if (!p) return [];
  if (!p.ok) return [`  Swarm service ${unknown(p.why)}`];
  const s = p.value;
  const version = [
    s.sha ? `<code>${escapeHtml(shortSha(s.sha))}</code>` : undefined,
    s.digest ? `<code>${escapeHtml(shortDigest(s.digest))}</code>` : undefined,
  ].filter(Boolean);
  return [
    `  Swarm service ${escapeHtml(s.name)}${s.global ? ' (global)' : ''}${version.length ? ` · ${version.join(' · ')}` : ''} · ${tasksText(s)}${s.update ? ` · ${updateText(s.update)}` : ''}`,
    ...s.tasks.map(taskLine),
  ];
}

/**
 * The app's health for the other environment on Swarm: its running tasks against those
 * asked for (the instances share no network to ask it).
 */
export function swarmHealth(e: EnvironmentStatus): 'healthy' | 'starting' | 'unhealthy' | undefined {
  if (!e.swarm?.ok) return undefined;
  const s = e.swarm.value;
  if (s.running === 0) return 'unhealthy';
  if (s.running < s.desired || s.update?.state === 'updating' || s.update?.state === 'rollback_started')
    return 'starting';
  return 'healthy';
}

/** `2/2 tasks · ⏳ updating` for the compact line; only what differs from all well. */
export function swarmCompact(e: EnvironmentStatus): string | undefined {
  if (!e.swarm) return undefined;
  if (!e.swarm.ok) return 'Swarm ❔';
  const s = e.swarm.value;
  const busy =
    s.update && s.update.state !== 'completed'
      ? ` · ${UPDATE_MARK[s.update.state] ?? escapeHtml(s.update.state)}`
      : '';
  return `${s.running}/${s.desired} tasks${s.running !== s.desired ? ' ⚠️' : ''}${busy}`;
}
