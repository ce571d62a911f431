import type { PullSummary } from '../forge.js';
import { classified, classifyGitHubError } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

/** GitHub's largest page. */
const PER_PAGE = 100;

/** A pull request as both a listing (pull-request-simple) and a read (pull-request) show it. */
interface PullListJson {
  readonly number: number;
  readonly html_url: string;
  readonly state: string;
  readonly merged?: boolean;
  readonly merged_at: string | null;
  readonly updated_at: string;
  readonly user: { readonly login: string } | null;
  readonly head: {
    readonly sha: string;
    readonly ref: string;
    readonly repo: { readonly full_name: string } | null;
  };
  readonly base: { readonly ref: string; readonly repo: { readonly full_name: string } };
}

/**
 * The summary previews reconcile from. A fork: the head's repository is another one, or is
 * gone (GitHub answers `head.repo: null` once a fork is deleted) — its code is not the team's.
 */
export function pullSummaryOf(data: PullListJson): PullSummary {
  const headRepo = data.head.repo?.full_name;
  return {
    number: data.number,
    url: data.html_url,
    state: data.state === 'closed' ? 'closed' : 'open',
    // A listing has no `merged`; its merged_at says the same.
    merged: data.merged === true || data.merged_at !== null,
    headSha: data.head.sha,
    headRef: data.head.ref,
    baseRef: data.base.ref,
    author: data.user?.login ?? 'ghost',
    fork: headRepo === undefined || headRepo.toLowerCase() !== data.base.repo.full_name.toLowerCase(),
    updatedAt: new Date(data.updated_at),
  };
}

/**
 * Every open pull request into `baseRef`, 100 a page, each page a conditional request of its
 * own (the client's ETag cache). One opened while paging shifts the pages (newest first), so
 * a pull request listed twice counts once.
 */
export async function listOpenPulls({ octokit, base }: GitHubRepo, baseRef: string): Promise<PullSummary[]> {
  const pulls = new Map<number, PullSummary>();
  const pages = octokit.paginate.iterator(octokit.rest.pulls.list, {
    ...base,
    state: 'open',
    base: baseRef,
    per_page: PER_PAGE,
  });
  try {
    for await (const { data } of pages) for (const pr of data) pulls.set(pr.number, pullSummaryOf(pr));
  } catch (error) {
    throw classifyGitHubError(error);
  }
  return [...pulls.values()];
}

/** One pull request as a list shows it; NotFoundError when there is none. */
export async function pullSummary({ octokit, base }: GitHubRepo, number: number): Promise<PullSummary> {
  const { data } = await classified(() => octokit.rest.pulls.get({ ...base, pull_number: number }));
  return pullSummaryOf(data);
}
