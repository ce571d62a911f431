// The promotion's refusal rules, as pure functions of facts: each returns the first reason
// that refuses (the reason is also what the audit log records), or undefined.
import {
  AccessDeniedError,
  ForgeUnavailableError,
  type MissingPermission,
  RateLimitedError,
} from '../forge/errors.js';
import type { BranchRules, CiState, PullRequestInfo } from '../forge/forge.js';
import type { HeldLock } from '../store/locks.js';
import type { Promotion } from '../store/promotions.js';

/** Why the forge could not do what was asked, where lugh knows what to tell people. */
export type ForgeProblem =
  | { readonly kind: 'rate limited'; readonly resetAt: Date; readonly secondary?: boolean }
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'access denied'; readonly missing?: MissingPermission };

/** The forge's known troubles as a ForgeProblem; undefined for anything else (to be rethrown). */
export function forgeProblemOf(error: unknown): ForgeProblem | undefined {
  if (error instanceof RateLimitedError)
    return {
      kind: 'rate limited',
      resetAt: error.resetAt,
      ...(error.limit === 'secondary' ? { secondary: true } : {}),
    };
  if (error instanceof ForgeUnavailableError) return { kind: 'unavailable' };
  if (error instanceof AccessDeniedError)
    return { kind: 'access denied', ...(error.missing ? { missing: error.missing } : {}) };
  return undefined;
}

/** A ForgeProblem in plain words: what the audit log records and the chat shows. */
export function describeForgeProblem(problem: ForgeProblem): string {
  switch (problem.kind) {
    case 'rate limited':
      return problem.secondary
        ? `GitHub's secondary rate limit was hit (too many requests in a short time): try again after ${problem.resetAt.toISOString().slice(11, 16)} UTC.`
        : `GitHub's rate limit is used up until ${problem.resetAt.toISOString().slice(11, 16)} UTC.`;
    case 'unavailable':
      return 'GitHub is not answering right now.';
    case 'access denied':
      return problem.missing
        ? missingPermissionText(problem.missing)
        : 'GitHub refused lugh’s token: check GITHUB_TOKEN and its permissions (lugh github check says which are missing).';
  }
}

/** Which permission the token lacks, and exactly what to grant. */
function missingPermissionText(m: MissingPermission): string {
  const access = m.access === 'read' ? 'read-only' : m.access === 'admin' ? 'admin' : 'read and write';
  const why = m.because ? ` to change ${m.because}` : '';
  const classic = m.scope ? ` (a classic token: the ${m.scope} scope)` : '';
  return `GitHub refused lugh’s token: it lacks the ${m.label} permission${why}. Give GITHUB_TOKEN (or its GitHub App) “${m.label}: ${access}”${classic}, then try again.`;
}

export type RequestRefusal =
  | { readonly reason: 'not an admin'; readonly userId: number }
  | { readonly reason: 'chat not allowed' }
  | { readonly reason: 'two-person rule needs a group' }
  | { readonly reason: 'flag off' }
  | { readonly reason: 'github not configured' }
  | {
      readonly reason: 'in flight';
      readonly promotion: Pick<Promotion, 'id' | 'status' | 'prUrl' | 'prNumber'>;
      /** The database refused a second one while this request raced another: its state is not shown. */
      readonly raced?: boolean;
    }
  | { readonly reason: 'deploy lock held'; readonly lock: HeldLock; readonly now: Date }
  | { readonly reason: 'freeze window'; readonly freeze: string; readonly timeZone: string }
  /** `started`: a promotion had been started (and is now failed) when the forge gave up. */
  | { readonly reason: 'github unavailable'; readonly problem: ForgeProblem; readonly started: boolean }
  | { readonly reason: 'nothing to promote'; readonly status: string };

/** Who asks, from where, and what this instance allows. */
export interface AskerFacts {
  readonly userId: number;
  readonly isAdmin: boolean;
  readonly chatId: number;
  readonly chatType: string;
  readonly allowedChatIds: readonly number[];
  readonly twoPersonRule: boolean;
  readonly promoteFlag: boolean;
  readonly forgeConfigured: boolean;
}

/** The rules about the person and the chat, checked before anything is looked up. */
export function refuseAsker(f: AskerFacts): RequestRefusal | undefined {
  if (!f.isAdmin) return { reason: 'not an admin', userId: f.userId };
  if (f.chatType !== 'private' && !f.allowedChatIds.includes(f.chatId)) return { reason: 'chat not allowed' };
  // The two-person rule needs a second admin to see the prompt: a group.
  if (f.twoPersonRule && f.chatType === 'private') return { reason: 'two-person rule needs a group' };
  if (!f.promoteFlag) return { reason: 'flag off' };
  if (!f.forgeConfigured) return { reason: 'github not configured' };
  return undefined;
}

/** The rules about what is going on: a promotion in flight, production's lock, a freeze window. */
export function refuseMoment(f: {
  readonly inFlight?: Promotion;
  readonly lock?: HeldLock;
  readonly freeze?: string;
  readonly timeZone: string;
  readonly now: Date;
}): RequestRefusal | undefined {
  if (f.inFlight) return { reason: 'in flight', promotion: f.inFlight };
  if (f.lock) return { reason: 'deploy lock held', lock: f.lock, now: f.now };
  if (f.freeze) return { reason: 'freeze window', freeze: f.freeze, timeZone: f.timeZone };
  return undefined;
}

/** Why a tap on a Yes/No button does nothing. */
export type ButtonRefusal =
  | 'not an admin'
  | 'already decided'
  /** Already decided by an approval: the merge is under way (or done). */
  | 'already confirmed'
  | 'expired'
  | 'not the requester'
  | 'two-person rule';

/** The rules of a button press, from the button, its promotion and who pressed it. */
export function refuseButton(f: {
  readonly actor: { readonly id: number; readonly isAdmin: boolean };
  readonly button: {
    readonly action: 'approve' | 'decline' | 'update';
    readonly usedAt: Date | null;
    readonly expiresAt: Date;
    readonly boundUserId: number | null;
    readonly notUserId: number | null;
  };
  readonly promotion?: Pick<Promotion, 'status'>;
  readonly now: Date;
}): ButtonRefusal | undefined {
  const { actor, button, promotion } = f;
  if (!actor.isAdmin) return 'not an admin';
  if (!promotion || button.usedAt || promotion.status !== 'awaiting_approval') {
    return promotion?.status === 'merging' || promotion?.status === 'merged'
      ? 'already confirmed'
      : 'already decided';
  }
  if (button.expiresAt < f.now) return 'expired';
  if (button.boundUserId !== null && actor.id !== button.boundUserId) return 'not the requester';
  if (button.notUserId !== null && actor.id === button.notUserId && button.action === 'approve')
    return 'two-person rule';
  return undefined;
}

/**
 * What a pull request whose CI passed is ready for, from GitHub's mergeability. `mergeable:
 * true` is not enough: mergeable_state says whether protection lets the merge through.
 */
export type MergeReadiness =
  /** GitHub is still computing it (mergeable null, or state unknown): read it again. */
  | 'ask again'
  /** clean, unstable (a check that protection does not require failed), has_hooks. */
  | 'ready'
  | 'conflicts'
  | 'draft'
  /** Required reviews or required checks missing: `blockersOf` says which. */
  | 'blocked'
  /** Strict protection: develop lacks main's tip; updating develop from main fixes it. */
  | 'behind';

export function mergeReadiness(
  pull: Pick<PullRequestInfo, 'mergeable' | 'mergeableState' | 'draft'>,
): MergeReadiness {
  const state = pull.mergeableState;
  if (pull.mergeable === false || state === 'dirty') return 'conflicts';
  if (pull.draft || state === 'draft') return 'draft';
  if (pull.mergeable === null || state === 'unknown') return 'ask again';
  if (state === 'blocked') return 'blocked';
  if (state === 'behind') return 'behind';
  // clean, unstable, has_hooks, and any state GitHub adds later: the merge itself says no if it must.
  return 'ready';
}

/** One thing that keeps a blocked pull request from merging. */
export type MergeBlocker =
  | { readonly kind: 'reviews'; readonly required: number; readonly approvals: number }
  | {
      readonly kind: 'check';
      readonly name: string;
      /** not reported: no run or status of that name on the head at all. */
      readonly state: 'not reported' | 'pending' | 'failing';
    }
  /** GitHub says blocked, and the protection lugh can read does not say why (rulesets, or no access). */
  | { readonly kind: 'unexplained'; readonly rulesReadable: boolean };

/** Why GitHub says `blocked`, from the base branch's rules, the approvals and the head's CI. */
export function blockersOf(f: {
  readonly rules: BranchRules;
  readonly approvals: number;
  readonly ci: CiState;
}): MergeBlocker[] {
  const blockers: MergeBlocker[] = [];
  if (f.approvals < f.rules.requiredApprovals) {
    blockers.push({ kind: 'reviews', required: f.rules.requiredApprovals, approvals: f.approvals });
  }
  for (const name of f.rules.requiredChecks) {
    const check = f.ci.checks.find((c) => c.name === name);
    if (!check) blockers.push({ kind: 'check', name, state: 'not reported' });
    else if (check.state === 'pending') blockers.push({ kind: 'check', name, state: 'pending' });
    else if (check.state === 'failure') blockers.push({ kind: 'check', name, state: 'failing' });
  }
  if (blockers.length === 0) blockers.push({ kind: 'unexplained', rulesReadable: f.rules.readable });
  return blockers;
}

/** The next patch version after the highest `vX.Y.Z` tag, or v0.1.0 for the first. */
export function nextTag(previous: string | undefined): string {
  const m = previous ? /^v?(\d+)\.(\d+)\.(\d+)$/.exec(previous) : null;
  if (!m) return 'v0.1.0';
  return `v${m[1]}.${m[2]}.${Number(m[3]) + 1}`;
}

/** The webhook events that may mean CI of a promotion's head changed. */
export const WAKING_EVENTS: ReadonlySet<string> = new Set([
  'check_run',
  'check_suite',
  'workflow_run',
  'status',
  'pull_request',
]);

/** The commit a CI webhook is about, where its payload names one. */
export function headShaOf(event: string, payload: unknown): string | undefined {
  const p = payload as Record<string, { head_sha?: string; head?: { sha?: string } } | string | undefined>;
  const object = p[event];
  if (event === 'status') return typeof p.sha === 'string' ? p.sha : undefined;
  if (event === 'pull_request' && typeof object === 'object') return object.head?.sha;
  return typeof object === 'object' ? object.head_sha : undefined;
}
