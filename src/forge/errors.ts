import { RequestError } from 'octokit';

/** GitHub answered 5xx or could not be reached: try again later; nothing was changed by us. */
export class GitHubUnavailableError extends Error {
  override name = 'GitHubUnavailableError';
}

/** The token's primary or secondary rate limit is exhausted until `resetAt`. */
export class GitHubRateLimitedError extends Error {
  override name = 'GitHubRateLimitedError';
  constructor(
    message: string,
    readonly resetAt: Date,
  ) {
    super(message);
  }
}

/** The merge was refused (405): conflicts, failing required checks, or already merged. */
export class NotMergeableError extends Error {
  override name = 'NotMergeableError';
}

/** The pull request's head moved since it was approved (409): ask again for the new SHA. */
export class HeadMovedError extends Error {
  override name = 'HeadMovedError';
}

/** The token was refused (401) or lacks a permission (403 without rate-limit headers). */
export class GitHubAccessError extends Error {
  override name = 'GitHubAccessError';
}

/**
 * Turns what Octokit threw into one of the named errors above, so callers branch on type.
 * Anything unrecognised is returned unchanged, to be rethrown.
 */
export function classifyGitHubError(error: unknown): unknown {
  if (!(error instanceof RequestError)) {
    if (error instanceof TypeError || (error as NodeJS.ErrnoException)?.code === 'ECONNREFUSED') {
      return new GitHubUnavailableError(`GitHub could not be reached: ${(error as Error).message}`);
    }
    return error;
  }
  const headers = error.response?.headers ?? {};
  const message = (error.response?.data as { message?: string } | undefined)?.message ?? error.message;
  if (
    error.status === 429 ||
    (error.status === 403 && (headers['x-ratelimit-remaining'] === '0' || headers['retry-after']))
  ) {
    const retryAfter = Number(headers['retry-after']);
    const reset = Number(headers['x-ratelimit-reset']);
    const resetAt =
      Number.isFinite(retryAfter) && retryAfter > 0
        ? new Date(Date.now() + retryAfter * 1000)
        : Number.isFinite(reset) && reset > 0
          ? new Date(reset * 1000)
          : new Date(Date.now() + 60_000);
    return new GitHubRateLimitedError(`GitHub rate limit: ${message}`, resetAt);
  }
  if (error.status >= 500 || error.status === 0)
    return new GitHubUnavailableError(`GitHub answered ${error.status}: ${message}`);
  if (error.status === 401 || error.status === 403)
    return new GitHubAccessError(`GitHub refused the token (${error.status}): ${message}`);
  return error;
}
