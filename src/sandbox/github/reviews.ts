// Pull request reviews (docs.github.com/rest/pulls/reviews) and what branch protection makes
// of them: the approvals that count towards `required_approving_review_count`.
import { type Account, userJson } from './account-json.js';
import type { StandInCore } from './core.js';
import { GitHubApiError } from './errors.js';
import { nodeId, repoApiUrl, repoHtmlUrl, type Site } from './site.js';
import type { PullRecord, ReviewRecord } from './state.js';

const EVENTS = { APPROVE: 'APPROVED', REQUEST_CHANGES: 'CHANGES_REQUESTED', COMMENT: 'COMMENTED' } as const;

/** GitHub's 422 for a review it will not take: `errors` is a list of plain sentences here. */
function unprocessable(reason: string): GitHubApiError {
  return new GitHubApiError(422, 'Unprocessable Entity', { errors: [reason] });
}

/** pull-request-review */
export function reviewJson(site: Site, review: ReviewRecord) {
  const pullUrl = `${repoApiUrl(site)}/pulls/${review.pullNumber}`;
  const html = `${repoHtmlUrl(site)}/pull/${review.pullNumber}#pullrequestreview-${review.id}`;
  return {
    id: review.id,
    node_id: nodeId('PRR', review.id),
    user: userJson(site, review.user),
    body: review.body,
    state: review.state,
    html_url: html,
    pull_request_url: pullUrl,
    _links: { html: { href: html }, pull_request: { href: pullUrl } },
    ...(review.submittedAt ? { submitted_at: review.submittedAt } : {}),
    commit_id: review.commitId,
    author_association: review.user.type === 'Bot' ? 'NONE' : 'MEMBER',
  };
}

/**
 * A review by `user` on the pull request's current head. As on GitHub, nobody approves or
 * requests changes on their own pull request, and a comment or a change request needs a body.
 */
export function addReview(
  core: StandInCore,
  pr: PullRecord,
  user: Account,
  input: { event?: unknown; body?: unknown; commit_id?: unknown },
): ReviewRecord {
  if (pr.state !== 'open') throw unprocessable('Can not review a closed pull request');
  if (input.event !== undefined && !(typeof input.event === 'string' && input.event in EVENTS)) {
    throw unprocessable(`Invalid event: ${String(input.event)}`);
  }
  const event = input.event as keyof typeof EVENTS | undefined;
  const body = typeof input.body === 'string' ? input.body : '';
  if (user.id === pr.user.id && event === 'APPROVE')
    throw unprocessable('Can not approve your own pull request');
  if (user.id === pr.user.id && event === 'REQUEST_CHANGES') {
    throw unprocessable('Can not request changes on your own pull request');
  }
  if ((event === 'COMMENT' || event === 'REQUEST_CHANGES') && body === '') {
    throw unprocessable('Body is required when the event is COMMENT or REQUEST_CHANGES');
  }
  const review: ReviewRecord = {
    id: core.state.nextId('review'),
    pullNumber: pr.number,
    user,
    state: event ? EVENTS[event] : 'PENDING',
    body,
    commitId: typeof input.commit_id === 'string' && input.commit_id !== '' ? input.commit_id : pr.headSha,
    submittedAt: event ? core.timestamp() : null,
  };
  core.state.reviews.push(review);
  return review;
}

/**
 * The approvals that count: each reviewer's latest approving or change-requesting review,
 * when it approves (and, with `dismiss_stale_reviews`, was given on the current head).
 */
export function countedApprovals(core: StandInCore, pr: PullRecord, dismissStale: boolean): number {
  const latest = new Map<number, ReviewRecord>();
  for (const review of core.state.reviews) {
    if (review.pullNumber !== pr.number) continue;
    if (review.state === 'APPROVED' || review.state === 'CHANGES_REQUESTED')
      latest.set(review.user.id, review);
  }
  return [...latest.values()].filter(
    (r) => r.state === 'APPROVED' && (!dismissStale || r.commitId === pr.headSha),
  ).length;
}
