// Writes that move a branch by merging: a pull request's head brought up to its base
// (PUT /pulls/{n}/update-branch) and POST /merges. Each moves the branch by
// compare-and-swap, announces the push, and refreshes the pull requests on either side.
import { GITHUB_COMMITTER } from './commit-json.js';
import type { StandInCore } from './core.js';
import { customValidation, GitHubApiError, missingField } from './errors.js';
import { refreshPull, touches } from './pulls.js';
import type { PullRecord } from './state.js';
import { emitPush } from './webhook-events.js';

/** A merge commit by the token's account, committed by GitHub, as GitHub's own merges are. */
async function mergeCommit(
  core: StandInCore,
  tree: string,
  parents: string[],
  message: string,
): Promise<string> {
  const at = Math.floor(core.now() / 1000);
  const author = {
    name: core.actor.login,
    email: `${core.actor.id}+${core.actor.login.replace('[bot]', '')}@users.noreply.github.com`,
    at,
  };
  return core.repo.commitTree(tree, parents, message, author, { ...GITHUB_COMMITTER, at });
}

/** Moves `branch` from `before` to `after` (never forced) and announces the push. */
async function advanceBranch(
  core: StandInCore,
  branch: string,
  before: string,
  after: string,
): Promise<boolean> {
  if (!(await core.repo.compareAndSwapRef(`refs/heads/${branch}`, after, before))) return false;
  core.pushedAt = core.timestamp();
  const commits = await core.repo.commitsBetween(before, after);
  core.background(
    emitPush(core, { ref: `refs/heads/${branch}`, before, after, commits }).then(async () => {
      for (const pr of core.state.pulls) if (touches(pr, branch)) await refreshPull(core, pr);
    }),
  );
  return true;
}

/**
 * PUT /pulls/{n}/update-branch: merges the base's tip into the head branch. GitHub answers 202
 * at once and moves the branch shortly after (here: in the background, as the next write);
 * 422 when `expected_head_sha` is not the head, or the base has nothing the head lacks.
 */
export async function updatePullBranch(
  core: StandInCore,
  pr: PullRecord,
  input: { expected_head_sha?: unknown },
): Promise<void> {
  await core.exclusive(async () => {
    await refreshPull(core, pr);
    if (pr.state !== 'open') throw customValidation('PullRequest', 'Pull request is closed');
    if (typeof input.expected_head_sha === 'string' && input.expected_head_sha !== pr.headSha) {
      throw customValidation('PullRequest', "expected_head_sha does not match the pull request's head");
    }
    if (await core.repo.isAncestor(pr.baseSha, pr.headSha)) {
      throw customValidation('PullRequest', 'There are no new commits on the base branch.');
    }
    if (!(await core.repo.mergeTree(pr.headSha, pr.baseSha)).clean) {
      throw customValidation('PullRequest', 'merge conflict between base and head');
    }
  });
  const { head, base } = pr;
  core.background(
    core.exclusive(async () => {
      const [headSha, baseSha] = await Promise.all([core.repo.branchSha(head), core.repo.branchSha(base)]);
      if (!headSha || !baseSha) return;
      const trial = await core.repo.mergeTree(headSha, baseSha);
      if (!trial.clean) return;
      const merged = await mergeCommit(
        core,
        trial.tree,
        [headSha, baseSha],
        `Merge branch '${base}' into ${head}`,
      );
      await advanceBranch(core, head, headSha, merged);
    }),
  );
}

/**
 * POST /merges: merges `head` (a branch or SHA) into the branch `base` with a merge commit.
 * 201 with the commit, undefined (GitHub's 204) when base already has it, 409 "Merge
 * conflict", 404 "Base does not exist" / "Head does not exist".
 */
export async function mergeBranches(
  core: StandInCore,
  input: { base?: unknown; head?: unknown; commit_message?: unknown },
): Promise<string | undefined> {
  if (typeof input.base !== 'string' || input.base === '') throw missingField('Merge', 'base');
  if (typeof input.head !== 'string' || input.head === '') throw missingField('Merge', 'head');
  const base = input.base;
  const headRef = input.head;
  return core.exclusive(async () => {
    const baseSha = await core.repo.branchSha(base);
    if (!baseSha) throw new GitHubApiError(404, 'Base does not exist');
    const headSha = await core.repo.resolveCommit(headRef);
    if (!headSha) throw new GitHubApiError(404, 'Head does not exist');
    if (await core.repo.isAncestor(headSha, baseSha)) return undefined;
    const trial = await core.repo.mergeTree(baseSha, headSha);
    if (!trial.clean) throw new GitHubApiError(409, 'Merge conflict');
    const message =
      typeof input.commit_message === 'string' && input.commit_message !== ''
        ? input.commit_message
        : `Merge ${headRef} into ${base}`;
    const merged = await mergeCommit(core, trial.tree, [baseSha, headSha], message);
    if (!(await advanceBranch(core, base, baseSha, merged))) {
      throw new GitHubApiError(409, 'Base branch was modified. Review and try the merge again.');
    }
    return merged;
  });
}
