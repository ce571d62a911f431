// The decisions of the preview lifecycle as data: what a pull_request delivery asks for,
// what the reconciling poll finds to do, which preview the cap stops, and what a preview
// container's environment is (whether the host has room: preview-host-room.ts). Pure, tested by equality
// (tests/unit/previews/preview-plan.test.ts); preview-service.ts and preview-jobs.ts act on them.
//
// Decisions a user of such a tool would expect, written down:
// - A fork's head is never built on its own (its code is untrusted): the row waits, stopped,
//   until an admin starts it from chat; that admin's start approves THAT head only, so a
//   later push to the fork waits again.
// - A redelivered or repeated head (same SHA while queued, building or running) asks for
//   nothing; a new head supersedes a queued older one (a new generation).
// - A preview stopped by the TTL or the cap keeps its database and Redis keys (a push or a
//   start brings it back with its data); one torn down by an admin or closed loses them.
// - A failed head is not retried by the poll (it would fail again): a push or a redeploy does.
import type { PullSummary } from '../forge/forge.js';
import type { PreviewNames, PreviewRecord, PreviewState } from './preview.js';

/** A pull_request delivery's words that matter here. */
export interface PullRequestEvent {
  readonly action: string;
  readonly pr: number;
  readonly headSha: string;
  readonly headRef: string;
  readonly baseRef: string;
  readonly author: string;
  readonly fork: boolean;
  /** pull_request.state: `open` or `closed`. */
  readonly state: string;
  /** An `edited` delivery that changed the base (`changes.base`): the only edit that matters here. */
  readonly baseChanged: boolean;
}

/** What the row of a pull request needs in order to decide. */
export type PlanRow = Pick<
  PreviewRecord,
  'pr' | 'state' | 'headSha' | 'fork' | 'lastPushAt' | 'runningSha' | 'updatedAt'
> & {
  readonly approvedSha?: string;
};

export type DeliveryDecision =
  | { readonly kind: 'ignore'; readonly why: string }
  /** Record the head and queue its deploy. */
  | { readonly kind: 'deploy' }
  /** Record the head as waiting for an admin (a fork). */
  | { readonly kind: 'wait'; readonly reason: string }
  | { readonly kind: 'close' };

/** Waiting for an admin: what the row and the PR comment say of a fork's head. */
export const FORK_WAITS =
  'this pull request comes from a fork: its code is not built on its own. An admin can start its preview from chat (/previews)';

/** States in which a preview's job is still to do or doing. */
export const IN_FLIGHT: readonly PreviewState[] = ['queued', 'building', 'migrating', 'starting'];
/** States that take a place under PREVIEW_MAX. */
export const TAKES_A_PLACE: readonly PreviewState[] = ['running', 'starting', 'migrating', 'building'];

const OPENING = new Set(['opened', 'reopened', 'synchronize', 'ready_for_review']);

/** What a verified pull_request delivery asks of previews, given the pull request's row. */
export function decideDelivery(
  event: PullRequestEvent,
  row: PlanRow | undefined,
  base: string,
): DeliveryDecision {
  const retargeted = event.action === 'edited' && event.baseChanged;
  if (event.action === 'closed' || (retargeted && event.baseRef !== base)) {
    // A PR retargeted away from develop loses its preview like a closed one.
    if (event.action === 'closed' && event.baseRef !== base && !row)
      return { kind: 'ignore', why: `base ${event.baseRef}, not ${base}` };
    return row && row.state !== 'closed' ? { kind: 'close' } : { kind: 'ignore', why: 'no preview to close' };
  }
  // Anything else about a closed pull request (an edit of its title, a late delivery) builds nothing.
  if (event.state !== 'open') return { kind: 'ignore', why: `the pull request is ${event.state}` };
  if (event.baseRef !== base) return { kind: 'ignore', why: `base ${event.baseRef}, not ${base}` };
  // `edited` matters only when it retargeted the PR onto develop.
  if (event.action === 'edited' && !retargeted) return { kind: 'ignore', why: 'edited, base unchanged' };
  if (!OPENING.has(event.action) && !retargeted) return { kind: 'ignore', why: `action ${event.action}` };
  if (retargeted && row && row.state !== 'closed')
    return { kind: 'ignore', why: 'retargeted, has a preview' };
  // A synchronize or an opened after closed (out of order): the close stands; reopened opens again.
  if (row?.state === 'closed' && (event.action === 'synchronize' || event.action === 'opened'))
    return { kind: 'ignore', why: 'closed' };
  if (row && row.state !== 'closed' && row.headSha === event.headSha) {
    if (IN_FLIGHT.includes(row.state) || row.state === 'running') return { kind: 'ignore', why: 'same head' };
    // Failed or stopped at this head: a redelivery does not start it again (a push or chat does).
    if (event.action !== 'reopened') return { kind: 'ignore', why: `same head, ${row.state}` };
  }
  if (event.fork) return { kind: 'wait', reason: FORK_WAITS };
  return { kind: 'deploy' };
}

export type ReconcileAction =
  | { readonly kind: 'deploy'; readonly pull: PullSummary }
  | { readonly kind: 'wait'; readonly pull: PullSummary }
  | { readonly kind: 'close'; readonly pr: number }
  | { readonly kind: 'expire'; readonly pr: number }
  | { readonly kind: 'remove-container'; readonly pr: number }
  | { readonly kind: 'drop-database'; readonly pr: number }
  | { readonly kind: 'unroute'; readonly pr: number };

/** How long a preview's job may go without moving its row before the poll asks for it again. */
export const STALE_MS = 15 * 60_000;

/** What the parts hold now, by pull request number. */
export interface PartsSeen {
  readonly containers: readonly number[];
  readonly databases: readonly number[];
  readonly routes: readonly number[];
}

/**
 * What the poll finds to do: open pull requests into `base` without a preview (or at a new
 * head) are started, previews whose pull request is no longer open are closed, previews idle
 * longer than the TTL are stopped, and parts no row accounts for (a crash between a part and
 * its row) are removed. `pulls` are the open pull requests into `base`.
 */
export function planReconcile(input: {
  readonly rows: readonly PlanRow[];
  readonly pulls: readonly PullSummary[];
  readonly parts: PartsSeen;
  readonly now: Date;
  readonly ttlMs: number;
}): ReconcileAction[] {
  const { rows, pulls, parts, now, ttlMs } = input;
  const actions: ReconcileAction[] = [];
  const byPr = new Map(rows.map((r) => [r.pr, r]));
  const open = new Set(pulls.map((p) => p.number));
  for (const pull of pulls) {
    const row = byPr.get(pull.number);
    // A row mid-way that has not moved for STALE_MS lost its job (a worker and its retries
    // gone, Redis emptied): asked again.
    const stuck =
      row !== undefined &&
      IN_FLIGHT.includes(row.state) &&
      now.getTime() - row.updatedAt.getTime() > STALE_MS;
    if (row && row.state !== 'closed' && row.headSha === pull.headSha && !stuck) continue;
    // A head pushed while lugh was not listening (or a PR opened then).
    actions.push(pull.fork ? { kind: 'wait', pull } : { kind: 'deploy', pull });
  }
  for (const row of rows) {
    if (row.state === 'closed') continue;
    if (!open.has(row.pr)) {
      actions.push({ kind: 'close', pr: row.pr });
      continue;
    }
    const idle = now.getTime() - row.lastPushAt.getTime();
    if ((row.state === 'running' || row.state === 'failed') && idle > ttlMs)
      actions.push({ kind: 'expire', pr: row.pr });
  }
  // Parts of a closed row, or of none: a crash left them, or the row was never written.
  const accounted = (pr: number) => {
    const row = byPr.get(pr);
    return row !== undefined && row.state !== 'closed';
  };
  const holdsContainer = (pr: number) => {
    const row = byPr.get(pr);
    return row !== undefined && row.state !== 'closed' && row.state !== 'stopped';
  };
  for (const pr of parts.containers) if (!holdsContainer(pr)) actions.push({ kind: 'remove-container', pr });
  for (const pr of parts.databases) if (!accounted(pr)) actions.push({ kind: 'drop-database', pr });
  for (const pr of parts.routes) if (!holdsContainer(pr)) actions.push({ kind: 'unroute', pr });
  return actions;
}

/**
 * The preview PREVIEW_MAX makes room by stopping before `pr` starts: none while fewer than
 * `max` others hold a place; else the running one idle longest (oldest last push), never one
 * whose job runs (concurrency 1: none does but this one).
 */
export function capVictim(rows: readonly PlanRow[], pr: number, max: number): PlanRow | undefined {
  // A failed head whose previous container serves on holds a place too.
  const others = rows.filter(
    (r) =>
      r.pr !== pr &&
      (TAKES_A_PLACE.includes(r.state) || (r.state === 'failed' && r.runningSha !== undefined)),
  );
  if (others.length < max) return undefined;
  const running = others.filter((r) => r.state === 'running' || r.state === 'failed');
  return [...running].sort((a, b) => a.lastPushAt.getTime() - b.lastPushAt.getTime() || a.pr - b.pr)[0];
}

/**
 * A preview container's whole environment, built from nothing (never copied from staging's
 * container), so no staging or production secret reaches untrusted code.
 */
export function previewEnv(input: {
  readonly names: PreviewNames;
  readonly sha: string;
  readonly port: number;
  readonly url: string;
  readonly databaseUrl?: string;
  readonly redis?: { readonly url: string; readonly prefix: string };
}): Record<string, string> {
  return {
    PORT: String(input.port),
    APP_ENV: 'preview',
    PREVIEW_PR: String(input.names.pr),
    PUBLIC_URL: input.url,
    GIT_SHA: input.sha,
    COMMIT_SHA: input.sha,
    ...(input.databaseUrl ? { DATABASE_URL: input.databaseUrl } : {}),
    ...(input.redis ? { REDIS_URL: input.redis.url, REDIS_PREFIX: input.redis.prefix } : {}),
  };
}
