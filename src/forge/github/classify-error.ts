import { RequestError } from 'octokit';
import {
  AccessDeniedError,
  ConflictError,
  ForgeUnavailableError,
  NotFoundError,
  NotMergeableError,
  RateLimitedError,
} from '../errors.js';

/** GitHub's own reason when it gives one (`{ message }` in the body), else Octokit's. */
export function githubMessage(error: RequestError): string {
  return (error.response?.data as { message?: string } | undefined)?.message ?? error.message;
}

function rateLimitResetAt(headers: Record<string, unknown>): Date {
  const retryAfter = Number(headers['retry-after']);
  const reset = Number(headers['x-ratelimit-reset']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return new Date(Date.now() + retryAfter * 1000);
  if (Number.isFinite(reset) && reset > 0) return new Date(reset * 1000);
  return new Date(Date.now() + 60_000);
}

/**
 * Turns what Octokit threw into one of the forge's named errors, so callers branch on type.
 * Anything unrecognised is returned unchanged, to be rethrown.
 */
export function classifyGitHubError(error: unknown): unknown {
  if (!(error instanceof RequestError)) {
    if (error instanceof TypeError || (error as NodeJS.ErrnoException)?.code === 'ECONNREFUSED') {
      return new ForgeUnavailableError(`GitHub could not be reached: ${(error as Error).message}`);
    }
    return error;
  }
  const headers = error.response?.headers ?? {};
  const message = githubMessage(error);
  // Secondary rate limits may come as a bare 403; only the headers tell them from a refusal.
  if (
    error.status === 429 ||
    (error.status === 403 && (headers['x-ratelimit-remaining'] === '0' || headers['retry-after']))
  ) {
    return new RateLimitedError(`GitHub rate limit: ${message}`, rateLimitResetAt(headers));
  }
  if (error.status >= 500 || error.status === 0)
    return new ForgeUnavailableError(`GitHub answered ${error.status}: ${message}`);
  if (error.status === 401 || error.status === 403)
    return new AccessDeniedError(`GitHub refused the token (${error.status}): ${message}`);
  // Octokit's own message is kept for these: it is what callers showed before they were named.
  if (error.status === 404) return new NotFoundError(error.message);
  if (error.status === 405) return new NotMergeableError(message);
  if (error.status === 409) return new ConflictError(error.message);
  return error;
}

/** Runs one Octokit call and rethrows its failure as a forge error. */
export async function classified<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifyGitHubError(error);
  }
}
