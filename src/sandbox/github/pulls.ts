import type { Account } from './account-json.js';
import { latestStatuses } from './check-json.js';
import { GITHUB_COMMITTER } from './commit-json.js';
import type { StandInCore } from './core.js';
import { customValidation, GitHubApiError, invalidField, notFound } from './errors.js';
import { type PullDetail, pullJson } from './pull-json.js';
import { countedApprovals } from './reviews.js';
import type { PullRecord } from './state.js';
import { emitPullRequest, emitPush } from './webhook-events.js';

export type MergeMethod = 'merge' | 'squash' | 'rebase';

interface Verdict {
  /** Required checks (from a check plan) that are not green, with GitHub's word for why. */
  readonly blocking: ReadonlyArray<{ name: string; why: 'failing' | 'expected' }>;
  /** Any check or status, required or not, that is not green. */
  readonly unstable: boolean;
}

/**
 * What the latest check run per name and the latest status per context say about `sha`.
 * Required: named by the base branch's protection; a required one that never reported is
 * expected. Without protection nothing is required, and a red check only makes it unstable.
 */
export function checksVerdict(
  core: StandInCore,
  sha: string,
  requiredContexts: readonly string[] = [],
): Verdict {
  const latestRuns = new Map<string, { done: boolean; ok: boolean }>();
  for (const run of core.state.checkRuns.filter((r) => r.headSha === sha)) {
    latestRuns.set(run.name, {
      done: run.status === 'completed',
      ok: run.conclusion === 'success',
    });
  }
  const checks = [
    ...[...latestRuns].map(([name, r]) => ({ name, ...r })),
    ...latestStatuses(core.state.statuses.filter((s) => s.sha === sha)).map((s) => ({
      name: s.context,
      done: s.state !== 'pending',
      ok: s.state === 'success',
    })),
  ];
  const required = (c: { name: string }) => requiredContexts.includes(c.name);
  const reported = new Set(checks.map((c) => c.name));
  return {
    blocking: [
      ...checks
        .filter((c) => required(c) && !(c.done && c.ok))
        .map((c) => ({ name: c.name, why: c.done ? ('failing' as const) : ('expected' as const) })),
      ...requiredContexts
        .filter((name) => !reported.has(name))
        .map((name) => ({ name, why: 'expected' as const })),
    ],
    unstable: checks.some((c) => !(c.done && c.ok)),
  };
}

/** What keeps an open, conflict-free pull request from merging, in GitHub's order; undefined: nothing. */
export type MergeBlock =
  | { readonly kind: 'draft' }
  | { readonly kind: 'reviews'; readonly required: number; readonly approvals: number }
  | { readonly kind: 'checks'; readonly name: string; readonly why: 'failing' | 'expected' }
  | { readonly kind: 'behind' };

/** The base branch's protection applied to the pull request's current head (draft first). */
export async function mergeBlock(core: StandInCore, pr: PullRecord): Promise<MergeBlock | undefined> {
  if (pr.draft) return { kind: 'draft' };
  const protection = core.state.protections.get(pr.base);
  const reviews = protection?.requiredPullRequestReviews;
  if (reviews && reviews.requiredApprovingReviewCount > 0) {
    const approvals = countedApprovals(core, pr, reviews.dismissStaleReviews);
    if (approvals < reviews.requiredApprovingReviewCount) {
      return { kind: 'reviews', required: reviews.requiredApprovingReviewCount, approvals };
    }
  }
  const checks = protection?.requiredStatusChecks;
  const blocked = checksVerdict(core, pr.headSha, checks?.contexts ?? []).blocking[0];
  if (blocked) return { kind: 'checks', ...blocked };
  if (checks?.strict && !(await core.repo.isAncestor(pr.baseSha, pr.headSha))) return { kind: 'behind' };
  return undefined;
}

/** GitHub's refusal of a merge that protection does not allow yet. */
function refusal(block: MergeBlock): GitHubApiError {
  switch (block.kind) {
    case 'draft':
      return new GitHubApiError(405, 'Pull Request is still a draft');
    case 'reviews': {
      const n = block.required;
      return new GitHubApiError(
        405,
        `At least ${n} approving review${n === 1 ? ' is' : 's are'} required by reviewers with write access.`,
      );
    }
    case 'checks':
      return new GitHubApiError(405, `Required status check "${block.name}" is ${block.why}.`);
    case 'behind':
      // Reported by users of the REST merge as a 409, like a moved head, although the head did not move.
      return new GitHubApiError(409, 'Head branch is out of date. Review and try the merge again.');
  }
}

/** Whether a push to `branch` of this repository moves the pull request's head or base. */
export function touches(pr: PullRecord, branch: string | undefined): boolean {
  return branch !== undefined && ((!pr.headRepo && pr.head === branch) || pr.base === branch);
}

/** The git ref of the pull request's head: its branch here, or GitHub's refs/pull/{n}/head for a fork's. */
export function headRefOf(pr: Pick<PullRecord, 'number' | 'head' | 'headRepo'>): string {
  return pr.headRepo ? `refs/pull/${pr.number}/head` : `refs/heads/${pr.head}`;
}

/** Where the pull request's head is now. */
export async function headTip(core: StandInCore, pr: PullRecord): Promise<string | undefined> {
  return (await core.repo.refTarget(headRefOf(pr)))?.sha;
}

/**
 * Brings an open pull request up to its branches' tips; a moved head gets the default check
 * plan and a `synchronize` webhook, as a push to a pull request's branch does on GitHub.
 */
export async function refreshPull(core: StandInCore, pr: PullRecord, sender?: Account): Promise<void> {
  if (pr.state !== 'open') return;
  const [head, base] = await Promise.all([headTip(core, pr), core.repo.branchSha(pr.base)]);
  if (base) pr.baseSha = base;
  if (head && head !== pr.headSha) {
    const before = pr.headSha;
    pr.headSha = head;
    pr.updatedAt = core.timestamp();
    core.background(core.planner.applyDefault(head));
    const detail = await pullDetail(core, pr, { observe: false });
    core.background(emitPullRequest(core, 'synchronize', pr, detail, { before, after: head }, sender));
  }
}

/**
 * The full pull request's counts and mergeability. GitHub computes mergeability in the
 * background: the first observation after the base or head changed answers null and starts a
 * real trial merge (git merge-tree); later observations get its answer.
 */
export async function pullDetail(
  core: StandInCore,
  pr: PullRecord,
  options: { observe: boolean },
): Promise<PullDetail> {
  const mergeBase = (await core.repo.mergeBase(pr.baseSha, pr.headSha)) ?? pr.baseSha;
  const [commits, changes] = await Promise.all([
    core.repo.countBetween(pr.baseSha, pr.headSha),
    core.repo.changes(mergeBase, pr.headSha),
  ]);
  const counts = {
    commits,
    additions: changes.reduce((sum, c) => sum + c.additions, 0),
    deletions: changes.reduce((sum, c) => sum + c.deletions, 0),
    changedFiles: changes.length,
    comments: core.state.comments.filter((c) => c.issueNumber === pr.number).length,
  };
  if (pr.state !== 'open') return { ...counts, mergeable: null, rebaseable: null, mergeableState: 'unknown' };

  const key = `${pr.baseSha}:${pr.headSha}`;
  const known = pr.mergeability;
  let mergeable: boolean | null = null;
  if (known.key === key && options.observe && known.lagReads) {
    known.lagReads -= 1; // GitHub still computing: unknown again
  } else if (known.key === key) {
    if (known.computing) await known.computing;
    mergeable = known.value;
  } else if (options.observe) {
    const entry: PullRecord['mergeability'] = { key, value: null, lagReads: core.state.mergeabilityLagReads };
    entry.computing = core.repo
      .mergeTree(pr.baseSha, pr.headSha)
      .then(({ clean }) => {
        entry.value = clean;
      })
      .finally(() => {
        entry.computing = undefined;
      });
    core.background(entry.computing);
    pr.mergeability = entry;
  }
  // GitHub's mergeable_state: dirty, draft, blocked (reviews or required checks), behind
  // (strict protection and the head lacks the base's tip), unstable (other checks), clean.
  let mergeableState = 'unknown';
  if (mergeable === false) mergeableState = 'dirty';
  else if (mergeable === true) {
    const block = await mergeBlock(core, pr);
    if (block) mergeableState = block.kind === 'reviews' || block.kind === 'checks' ? 'blocked' : block.kind;
    else mergeableState = checksVerdict(core, pr.headSha).unstable ? 'unstable' : 'clean';
  }
  return { ...counts, mergeable, rebaseable: mergeable, mergeableState };
}

/** PATCH /pulls/{n}: title, body, base, and closing or reopening. */
export async function updatePull(
  core: StandInCore,
  pr: PullRecord,
  input: { title?: unknown; body?: unknown; state?: unknown; base?: unknown },
  /** Who did it, when not the token's account (a person on the stand-in's page). */
  sender?: Account,
): Promise<void> {
  await core.exclusive(async () => {
    await refreshPull(core, pr);
    if (input.state !== undefined && input.state !== 'open' && input.state !== 'closed') {
      throw invalidField('PullRequest', 'state');
    }
    if (input.base !== undefined) {
      if (typeof input.base !== 'string' || !(await core.repo.branchSha(input.base))) {
        throw invalidField('PullRequest', 'base');
      }
      if (pr.state === 'open') {
        pr.base = input.base;
        await refreshPull(core, pr);
      }
    }
    if (typeof input.title === 'string' && input.title !== '') pr.title = input.title;
    if (typeof input.body === 'string' || input.body === null) pr.body = input.body;
    const at = core.timestamp();
    if (input.state === 'closed' && pr.state === 'open') {
      pr.state = 'closed';
      pr.closedAt = at;
      const detail = await pullDetail(core, pr, { observe: false });
      core.background(emitPullRequest(core, 'closed', pr, detail, undefined, sender));
    } else if (input.state === 'open' && pr.state === 'closed') {
      if (pr.mergedAt)
        throw customValidation('PullRequest', 'state cannot be changed. The pull request has been merged.');
      if (
        core.state.pulls.some(
          (p) =>
            p !== pr &&
            p.state === 'open' &&
            p.head === pr.head &&
            p.headRepo?.owner === pr.headRepo?.owner &&
            p.base === pr.base,
        )
      ) {
        throw customValidation(
          'PullRequest',
          `A pull request already exists for ${pr.headRepo?.owner ?? core.site.owner}:${pr.head}.`,
        );
      }
      // GitHub announces the reopening with the head as it is now (no synchronize for a push
      // made while it was closed).
      const head = await headTip(core, pr);
      if (!head)
        throw customValidation('PullRequest', 'state cannot be changed. The head branch was deleted.');
      pr.state = 'open';
      pr.closedAt = null;
      pr.headSha = head;
      await refreshPull(core, pr);
      const detail = await pullDetail(core, pr, { observe: false });
      core.background(emitPullRequest(core, 'reopened', pr, detail, undefined, sender));
    }
    pr.updatedAt = at;
  });
}

function notMergeable(): GitHubApiError {
  return new GitHubApiError(405, 'Pull Request is not mergeable');
}

/**
 * PUT /pulls/{n}/merge with real git on the base branch. Answers like GitHub and never forces:
 * 409 when `sha` is not the head, 405 when it is closed, a draft, conflicted, short of required
 * approvals or required checks, and 409 when strict protection finds the head out of date.
 */
export async function mergePull(
  core: StandInCore,
  pr: PullRecord,
  input: { sha?: unknown; merge_method?: unknown; commit_title?: unknown; commit_message?: unknown },
  /** Who merged, when not the token's account (a person on the stand-in's page). */
  by?: Account,
): Promise<string> {
  const method = (input.merge_method ?? 'merge') as MergeMethod;
  if (!['merge', 'squash', 'rebase'].includes(method)) throw invalidField('PullRequest', 'merge_method');
  return core.exclusive(async () => {
    await refreshPull(core, pr);
    if (pr.state !== 'open') throw notMergeable();
    if (typeof input.sha === 'string' && input.sha !== pr.headSha) {
      throw new GitHubApiError(409, 'Head branch was modified. Review and try the merge again.');
    }
    if (pr.draft) throw refusal({ kind: 'draft' });
    const { baseSha, headSha } = pr;
    const trial = await core.repo.mergeTree(baseSha, headSha);
    pr.mergeability = { key: `${baseSha}:${headSha}`, value: trial.clean };
    if (!trial.clean) throw notMergeable();
    const block = await mergeBlock(core, pr);
    if (block) throw refusal(block);

    const at = Math.floor(core.now() / 1000);
    const committer = { ...GITHUB_COMMITTER, at };
    const author = {
      name: core.actor.login,
      // GitHub would write "[bot]" into the address, which is not a valid e-mail (and fails its own schema).
      email: `${core.actor.id}+${core.actor.login.replace('[bot]', '')}@users.noreply.github.com`,
      at,
    };
    const commits = await core.repo.commitsBetween(baseSha, headSha);
    const title =
      typeof input.commit_title === 'string' && input.commit_title !== '' ? input.commit_title : undefined;
    const message = typeof input.commit_message === 'string' ? input.commit_message : undefined;
    let merged: string | undefined;
    if (method === 'merge') {
      const from = `${pr.headRepo?.owner ?? core.site.owner}/${pr.head}`;
      const text = `${title ?? `Merge pull request #${pr.number} from ${from}`}\n\n${message ?? pr.title}`;
      merged = await core.repo.commitTree(trial.tree, [baseSha, headSha], text, author, committer);
    } else if (method === 'squash') {
      const list = commits.map((c) => `* ${c.message}`).join('\n\n');
      merged = await core.repo.commitTree(
        trial.tree,
        [baseSha],
        `${title ?? `${pr.title} (#${pr.number})`}\n\n${message ?? list}`,
        author,
        committer,
      );
    } else {
      merged = await core.repo.replay(
        baseSha,
        commits.filter((c) => c.parents.length === 1),
        committer,
      );
      if (!merged) throw notMergeable();
    }
    // What a read answered until now, and what lagging replicas go on answering for a while.
    const before = pullJson(
      core.site,
      pr,
      await core.repositoryJson(),
      await pullDetail(core, pr, { observe: false }),
    );
    if (!(await core.repo.compareAndSwapRef(`refs/heads/${pr.base}`, merged, baseSha))) {
      throw new GitHubApiError(409, 'Base branch was modified. Review and try the merge again.');
    }
    const iso = core.timestamp();
    pr.state = 'closed';
    pr.mergedAt = iso;
    pr.closedAt = iso;
    pr.updatedAt = iso;
    pr.mergedBy = by ?? core.actor;
    pr.mergeCommitSha = merged;
    pr.beforeMerge = before;
    core.pushedAt = iso;
    const landed = await core.repo.commitsBetween(baseSha, merged);
    const detail = await pullDetail(core, pr, { observe: false });
    core.background(
      emitPush(core, { ref: `refs/heads/${pr.base}`, before: baseSha, after: merged, commits: landed }).then(
        () => emitPullRequest(core, 'closed', pr, detail, undefined, by),
      ),
    );
    return merged;
  });
}

/** The pull request with this number, or GitHub's 404. */
export function findPull(core: StandInCore, raw: string): PullRecord {
  const pr = /^\d+$/.test(raw) ? core.state.pull(Number(raw)) : undefined;
  if (!pr) throw notFound();
  return pr;
}
