import { RequestError } from 'octokit';
import { ForgeUnavailableError, HeadMovedError } from '../errors.js';
import type { MergeOptions, OpenedPull, PullRequestInfo } from '../forge.js';
import { classified, classifyGitHubError } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

export async function pull({ octokit, base }: GitHubRepo, number: number): Promise<PullRequestInfo> {
  const { data } = await classified(() => octokit.rest.pulls.get({ ...base, pull_number: number }));
  return {
    number: data.number,
    url: data.html_url,
    state: data.state as 'open' | 'closed',
    merged: data.merged,
    mergeable: data.mergeable,
    mergeableState: data.mergeable_state,
    mergeCommitSha: data.merged ? data.merge_commit_sha : null,
    headSha: data.head.sha,
    headRef: data.head.ref,
    baseRef: data.base.ref,
  };
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
  const pr = data[0];
  return pr ? pull(gh, pr.number) : undefined;
}

export async function openOrReusePull(
  gh: GitHubRepo,
  baseRef: string,
  headRef: string,
  title: string,
  body: string,
): Promise<OpenedPull> {
  const existing = await findOpenPull(gh, baseRef, headRef);
  if (existing) return { pull: existing, created: false };
  const create = async (): Promise<OpenedPull> => {
    const { data } = await gh.octokit.rest.pulls.create({
      ...gh.base,
      base: baseRef,
      head: headRef,
      title,
      body,
    });
    return { pull: await pull(gh, data.number), created: true };
  };
  try {
    return await create();
  } catch (error) {
    // Lost a race with another opener: GitHub says one already exists.
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
