// What people do to pull requests outside the API lugh calls: push commits, open one (from a
// branch here or from a fork), close, reopen, merge. Tests and the stand-in's page drive the
// repository through these, and GitHub's webhooks follow as they would.
import { type Account, accountForEmail } from './account-json.js';
import type { StandInCore } from './core.js';
import { GitHubApiError } from './errors.js';
import { forkOwnerAccount } from './fork-json.js';
import { createPull, type ForkPullInput, openForkPull } from './pull-open.js';
import { headRefOf, mergePull, refreshPull, touches, updatePull } from './pulls.js';
import { isoSeconds } from './site.js';
import type { PullRecord } from './state.js';
import { emitPush } from './webhook-events.js';

export interface PushCommitInput {
  readonly message: string;
  /** Path → new content; other files stay as they are. */
  readonly files: Readonly<Record<string, string>>;
  readonly author?: { readonly name: string; readonly email: string };
}

export interface OpenPullInput {
  /** The branch to commit to (created from `base` when missing). */
  readonly headRef: string;
  /** The branch it asks to merge into (default develop). */
  readonly base?: string;
  readonly title?: string;
  readonly body?: string;
  /** The commit on the head branch: path → new content. */
  readonly files: Readonly<Record<string, string>>;
  readonly message?: string;
}

/** A pull request as the lifecycle calls answer it. */
export interface OpenedPullRequest {
  readonly number: number;
  readonly headSha: string;
}

/** The person who works on the repository from outside the API (the stand-in's page, tests). */
export const DEVELOPER = { name: 'Sandbox Developer', email: 'dev@acme.example' } as const;
const developer: Account = accountForEmail(DEVELOPER.email);

const ZERO = '0000000000000000000000000000000000000000';

/**
 * A real commit on `branch` (created from `from`, else the default branch, when missing) with
 * its push webhook; pull requests from or into the branch are refreshed after (synchronize).
 * `by`: who pushed, when not the token's account.
 */
export function pushCommit(
  core: StandInCore,
  branch: string,
  input: PushCommitInput,
  options: { from?: string; by?: Account } = {},
): Promise<string> {
  const { repo, now } = core;
  return core.exclusive(async () => {
    const start = options.from ?? (await repo.defaultBranch());
    const before = (await repo.branchSha(branch)) ?? (await repo.resolveCommit(start));
    const tree = await repo.treeWithFiles(before, input.files);
    const at = Math.floor(now() / 1000);
    const author = { ...(input.author ?? DEVELOPER), at };
    const sha = await repo.commitTree(tree, before ? [before] : [], input.message, author, author);
    const current = await repo.branchSha(branch);
    if (!(await repo.compareAndSwapRef(`refs/heads/${branch}`, sha, current))) {
      throw new Error(`pushCommit: ${branch} moved while committing`);
    }
    core.pushedAt = isoSeconds(now());
    const commit = await repo.commit(sha);
    core.background(
      emitPush(core, {
        ref: `refs/heads/${branch}`,
        before: current ?? ZERO,
        after: sha,
        commits: [commit],
        by: options.by,
      }).then(async () => {
        for (const pr of core.state.pulls) if (touches(pr, branch)) await refreshPull(core, pr, options.by);
      }),
    );
    return sha;
  });
}

/** GitHub's refusal as a plain error that says what was refused and why (its `errors` messages). */
async function asPerson<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof GitHubApiError)) throw error;
    const details = (error.extra.errors as Array<{ message?: string }> | undefined)
      ?.map((e) => e.message)
      .filter(Boolean);
    throw new Error(
      `${what}: GitHub refused (${error.status}): ${details?.length ? details.join('; ') : error.message}`,
    );
  }
}

/** The pull request `number`, or an error that says which is missing (for tests and the page). */
function pullNumbered(core: StandInCore, number: number, what: string): PullRecord {
  const pr = core.state.pull(number);
  if (!pr) throw new Error(`${what}: the repository has no pull request #${number}`);
  return pr;
}

/** A commit on `headRef` (from `base`) and a pull request of it into `base`, opened by a person. */
export async function openPull(core: StandInCore, input: OpenPullInput): Promise<OpenedPullRequest> {
  const base = input.base ?? 'develop';
  const message = input.message ?? `Change ${Object.keys(input.files).join(', ')}`;
  await pushCommit(core, input.headRef, { message, files: input.files }, { from: base, by: developer });
  const pr = await asPerson('openPull', () =>
    createPull(
      core,
      { head: input.headRef, base, title: input.title ?? message, body: input.body ?? null },
      developer,
    ),
  );
  return { number: pr.number, headSha: pr.headSha };
}

/** A pull request from a fork (see openForkPull in pull-open.ts). */
export async function openFork(core: StandInCore, input: ForkPullInput): Promise<OpenedPullRequest> {
  const pr = await openForkPull(core, input);
  return { number: pr.number, headSha: pr.headSha };
}

/**
 * A new commit on the pull request's head, pushed by its author: on its branch here (push, then
 * synchronize), or in the fork (synchronize only: a fork's push is not this repository's).
 */
export async function pushToPull(core: StandInCore, number: number, input: PushCommitInput): Promise<string> {
  const pr = pullNumbered(core, number, 'pushToPull');
  if (!pr.headRepo) return pushCommit(core, pr.head, input, { by: developer });
  const owner = forkOwnerAccount(pr.headRepo.owner);
  return core.exclusive(async () => {
    const ref = headRefOf(pr);
    const before = (await core.repo.refTarget(ref))?.sha;
    if (!before) throw new Error(`pushToPull: #${number}'s head is gone`);
    const at = Math.floor(core.now() / 1000);
    const author = {
      ...(input.author ?? {
        name: owner.login,
        email: `${owner.id}+${owner.login}@users.noreply.github.com`,
      }),
      at,
    };
    const tree = await core.repo.treeWithFiles(before, input.files);
    const sha = await core.repo.commitTree(tree, [before], input.message, author, author);
    if (!(await core.repo.compareAndSwapRef(ref, sha, before)))
      throw new Error(`pushToPull: #${number}'s head moved while committing`);
    core.background(refreshPull(core, pr, owner));
    return sha;
  });
}

/** Closes (not merged) or reopens the pull request, as a person on GitHub's page would. */
export async function setPullState(
  core: StandInCore,
  number: number,
  state: 'open' | 'closed',
): Promise<void> {
  const what = state === 'open' ? 'reopenPull' : 'closePull';
  const pr = pullNumbered(core, number, what);
  await asPerson(what, () => updatePull(core, pr, { state }, developer));
}

/** Merges the pull request (a merge commit), as a maintainer on GitHub's page would; the merge commit. */
export async function mergePullRequest(core: StandInCore, number: number): Promise<string> {
  const pr = pullNumbered(core, number, 'mergePull');
  return asPerson('mergePull', () => mergePull(core, pr, { merge_method: 'merge' }, developer));
}
