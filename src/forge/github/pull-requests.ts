import { RequestError } from 'octokit';
import { ForgeUnavailableError, HeadMovedError, NotMergeableError } from '../errors.js';
import type { BranchRules, MergeOptions, OpenedPull, PullRequestInfo } from '../forge.js';
import { classified, classifyGitHubError, githubMessage } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

/** A pull request as GitHub lists, opens or reads it; a listing says nothing of mergeability (unknown). */
interface PullJson {
  readonly number: number;
  readonly html_url: string;
  readonly state: string;
  readonly merged?: boolean;
  readonly mergeable?: boolean | null;
  readonly mergeable_state?: string;
  readonly draft?: boolean;
  readonly merge_commit_sha: string | null;
  readonly head: { readonly sha: string; readonly ref: string };
  readonly base: { readonly ref: string };
}

function pullInfo(data: PullJson): PullRequestInfo {
  const merged = data.merged === true;
  return {
    number: data.number,
    url: data.html_url,
    state: data.state as 'open' | 'closed',
    merged,
    mergeable: data.mergeable ?? null,
    mergeableState: data.mergeable_state ?? 'unknown',
    draft: data.draft === true,
    mergeCommitSha: merged ? data.merge_commit_sha : null,
    headSha: data.head.sha,
    headRef: data.head.ref,
    baseRef: data.base.ref,
  };
}

export async function pull({ octokit, base }: GitHubRepo, number: number): Promise<PullRequestInfo> {
  const { data } = await classified(() => octokit.rest.pulls.get({ ...base, pull_number: number }));
  return pullInfo(data);
}

export async function findOpenPull(
  gh: GitHubRepo,
  baseRef: string,
  headRef: string,
): Promise<PullRequestInfo | undefined> {
  const { octokit, base, repo } = gh;
  const { data } = await classified(() =>
    octokit.rest.pulls.list({ ...base, state: 'open', base: baseRef, head: `${repo.owner}:${headRef}` }),
  );
  // The listing holds what opening a promotion needs (number, head, URL): no second read.
  // Its mergeability is unknown; the CI stage reads the pull request itself before deciding.
  const pr = data[0];
  return pr ? pullInfo(pr) : undefined;
}

export async function openOrReusePull(
  gh: GitHubRepo,
  baseRef: string,
  headRef: string,
  title: string,
  body: string,
): Promise<OpenedPull> {
  // Opening first: GitHub answers 422 "A pull request already exists for …" when one is
  // open, and only then is it listed. The usual promotion (none open) makes one request.
  const create = async (): Promise<OpenedPull> => {
    const { data } = await gh.octokit.rest.pulls.create({
      ...gh.base,
      base: baseRef,
      head: headRef,
      title,
      body,
    });
    // GitHub answers with the whole pull request (mergeability still being computed).
    return { pull: pullInfo(data), created: true };
  };
  try {
    return await create();
  } catch (error) {
    // One is open already (an earlier promotion's, or another opener's): reuse it.
    if (error instanceof RequestError && error.status === 422) {
      const raced = await findOpenPull(gh, baseRef, headRef);
      if (raced) return { pull: raced, created: false };
    }
    const named = classifyGitHubError(error);
    if (!(named instanceof ForgeUnavailableError)) throw named;
    // A 5xx or a timeout may come after GitHub opened it: look before opening again.
    const opened = await findOpenPull(gh, baseRef, headRef);
    if (opened) return { pull: opened, created: true };
    try {
      return await create();
    } catch (again) {
      throw classifyGitHubError(again);
    }
  }
}

export async function updatePullBody(
  { octokit, base }: GitHubRepo,
  number: number,
  body: string,
): Promise<void> {
  await classified(() => octokit.rest.pulls.update({ ...base, pull_number: number, body }));
}

/** 409 means the head moved since approval, 405 (classified as not mergeable) that GitHub will not merge it. */
export async function merge(
  { octokit, base }: GitHubRepo,
  number: number,
  options: MergeOptions,
): Promise<{ sha: string }> {
  try {
    const { data } = await octokit.rest.pulls.merge({
      ...base,
      pull_number: number,
      sha: options.sha,
      merge_method: options.method,
      commit_title: options.title,
      request: { retries: 0 },
    });
    return { sha: data.sha };
  } catch (error) {
    if (error instanceof RequestError && error.status === 409) {
      throw new HeadMovedError(`the pull request's head is no longer ${options.sha.slice(0, 7)}`);
    }
    throw classifyGitHubError(error);
  }
}

/**
 * The protection of `branch`: 404 "Branch not protected" means no rules; a refusal (403, or
 * 404 for a token that may not see it) leaves the rules unknown rather than failing.
 */
export async function branchRules({ octokit, base }: GitHubRepo, branch: string): Promise<BranchRules> {
  try {
    const { data } = await octokit.rest.repos.getBranchProtection({ ...base, branch });
    const checks = data.required_status_checks;
    const named = checks?.checks?.length ? checks.checks.map((c) => c.context) : (checks?.contexts ?? []);
    return {
      readable: true,
      requiredApprovals: data.required_pull_request_reviews?.required_approving_review_count ?? 0,
      requiredChecks: [...new Set(named)],
      strict: checks?.strict === true,
    };
  } catch (error) {
    const unprotected =
      error instanceof RequestError &&
      error.status === 404 &&
      (error.response?.data as { message?: string } | undefined)?.message === 'Branch not protected';
    if (unprotected) return { readable: true, requiredApprovals: 0, requiredChecks: [], strict: false };
    if (error instanceof RequestError && (error.status === 403 || error.status === 404)) {
      return { readable: false, requiredApprovals: 0, requiredChecks: [], strict: false };
    }
    throw classifyGitHubError(error);
  }
}

/** Reviewers whose latest approving or change-requesting review approves. */
export async function approvals({ octokit, base }: GitHubRepo, number: number): Promise<number> {
  // One page: a promotion's pull request has far fewer than 100 reviews (and paginate does
  // not mix with the client's ETag cache, see issue 13).
  const { data: reviews } = await classified(() =>
    octokit.rest.pulls.listReviews({ ...base, pull_number: number, per_page: 100 }),
  );
  const latest = new Map<number, string>();
  for (const review of reviews) {
    if (!review.user || (review.state !== 'APPROVED' && review.state !== 'CHANGES_REQUESTED')) continue;
    latest.set(review.user.id, review.state);
  }
  return [...latest.values()].filter((state) => state === 'APPROVED').length;
}

/** GitHub's update-branch: 202, and the head branch moves shortly after. */
export async function updatePullBranch(
  { octokit, base }: GitHubRepo,
  number: number,
  expectedHeadSha: string,
): Promise<void> {
  try {
    await octokit.rest.pulls.updateBranch({
      ...base,
      pull_number: number,
      expected_head_sha: expectedHeadSha,
      request: { retries: 0 },
    });
  } catch (error) {
    if (error instanceof RequestError && error.status === 422) {
      const message = githubMessage(error);
      const details = (error.response?.data as { errors?: Array<{ message?: string }> } | undefined)?.errors;
      const reason = details?.map((d) => d.message).find(Boolean) ?? message;
      if (/expected_head_sha/i.test(reason)) throw new HeadMovedError(reason);
      throw new NotMergeableError(reason);
    }
    throw classifyGitHubError(error);
  }
}

/** POST /merges: 201 with the merge commit, 204 when there is nothing to merge, 409 on a conflict. */
export async function mergeBranch(
  { octokit, base }: GitHubRepo,
  baseRef: string,
  head: string,
  message: string,
): Promise<string | undefined> {
  try {
    const response = await octokit.rest.repos.merge({
      ...base,
      base: baseRef,
      head,
      commit_message: message,
      request: { retries: 0 },
    });
    return response.status === 201 ? response.data.sha : undefined;
  } catch (error) {
    if (error instanceof RequestError && error.status === 409)
      throw new NotMergeableError(githubMessage(error));
    throw classifyGitHubError(error);
  }
}

/** PATCH …/git/refs/heads/{branch} with force; GitHub's 422 (e.g. a protected branch) is a refusal. */
export async function moveBranch({ octokit, base }: GitHubRepo, branch: string, sha: string): Promise<void> {
  try {
    await octokit.rest.git.updateRef({ ...base, ref: `heads/${branch}`, sha, force: true });
  } catch (error) {
    if (error instanceof RequestError && error.status === 422)
      throw new NotMergeableError(githubMessage(error));
    throw classifyGitHubError(error);
  }
}
