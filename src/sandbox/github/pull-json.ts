import { userJson } from './account-json.js';
import { forkOwnerAccount, headRepositoryJson } from './fork-json.js';
import type { repositoryJson } from './repository-json.js';
import { nodeId, repoApiUrl, repoHtmlUrl, type Site } from './site.js';
import type { PullRecord } from './state.js';

export interface PullDetail {
  readonly mergeable: boolean | null;
  readonly mergeableState: string;
  readonly rebaseable: boolean | null;
  readonly commits: number;
  readonly additions: number;
  readonly deletions: number;
  readonly changedFiles: number;
  /** Comments in its conversation (issue comments). */
  readonly comments: number;
}

/**
 * pull-request-simple (lists), or with `detail` the full pull-request (get, create, update,
 * webhooks), whose mergeability GitHub only reports for a single pull request.
 */
export function pullJson(
  site: Site,
  pr: PullRecord,
  repository: ReturnType<typeof repositoryJson>,
  detail?: PullDetail,
) {
  const api = repoApiUrl(site);
  const html = repoHtmlUrl(site);
  const url = `${api}/pulls/${pr.number}`;
  const htmlUrl = `${html}/pull/${pr.number}`;
  const issueUrl = `${api}/issues/${pr.number}`;
  const owner = repository.owner;
  const link = (href: string) => ({ href });
  const simple = {
    url,
    id: pr.id,
    node_id: nodeId('PR', pr.id),
    html_url: htmlUrl,
    diff_url: `${htmlUrl}.diff`,
    patch_url: `${htmlUrl}.patch`,
    issue_url: issueUrl,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    review_comment_url: `${api}/pulls/comments{/number}`,
    comments_url: `${issueUrl}/comments`,
    statuses_url: `${api}/statuses/${pr.headSha}`,
    number: pr.number,
    state: pr.state,
    locked: false,
    title: pr.title,
    user: userJson(site, pr.user),
    body: pr.body,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
    closed_at: pr.closedAt,
    merged_at: pr.mergedAt,
    merge_commit_sha: pr.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: {
      label: `${pr.headRepo?.owner ?? site.owner}:${pr.head}`,
      ref: pr.head,
      sha: pr.headSha,
      user: pr.headRepo ? userJson(site, forkOwnerAccount(pr.headRepo.owner)) : owner,
      repo: headRepositoryJson(site, pr, repository),
    },
    base: {
      label: `${site.owner}:${pr.base}`,
      ref: pr.base,
      sha: pr.baseSha,
      user: owner,
      repo: repository,
    },
    _links: {
      self: link(url),
      html: link(htmlUrl),
      issue: link(issueUrl),
      comments: link(`${issueUrl}/comments`),
      review_comments: link(`${url}/comments`),
      review_comment: link(`${api}/pulls/comments{/number}`),
      commits: link(`${url}/commits`),
      statuses: link(`${api}/statuses/${pr.headSha}`),
    },
    author_association: 'NONE',
    auto_merge: null,
    draft: pr.draft,
  };
  if (!detail) return simple;
  return {
    ...simple,
    merged: pr.mergedAt !== null,
    mergeable: detail.mergeable,
    rebaseable: detail.rebaseable,
    mergeable_state: detail.mergeableState,
    merged_by: pr.mergedBy ? userJson(site, pr.mergedBy) : null,
    comments: detail.comments,
    review_comments: 0,
    maintainer_can_modify: pr.maintainerCanModify,
    commits: detail.commits,
    additions: detail.additions,
    deletions: detail.deletions,
    changed_files: detail.changedFiles,
  };
}
