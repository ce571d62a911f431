import { Octokit, RequestError } from 'octokit';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics/metrics.js';

export interface GitHubClient {
  readonly octokit: Octokit;
}

export interface GitHubClientOptions {
  readonly token: string;
  readonly apiUrl: string;
  readonly logger: Logger;
  /**
   * Retries (5xx, network) and throttling (≥ 1 s between writes, waits on rate limits).
   * On in production; tests turn it off to see GitHub's answers as they are.
   */
  readonly resilient?: boolean;
  /** How long one request (one attempt) may take before it fails, so a hang becomes an error. */
  readonly timeoutMs?: number;
  /** The retry plugin's pace: waits of 1, 4, 9 × this (tests shorten it). */
  readonly retryBaseMs?: number;
  /** Where each answer's status and the rate limit it reports are counted. */
  readonly metrics?: Pick<Metrics, 'githubResponse'>;
}

/** Long enough for a tarball, short enough that a hung request does not hold a promotion. */
export const DEFAULT_GITHUB_TIMEOUT_MS = 60_000;

/**
 * Requests that create something: GitHub may do it and still answer 5xx, or never answer,
 * so a blind retry could do it twice. Never retried; callers look the object up instead.
 */
const NOT_RETRIED = new Set([
  'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge',
  'POST /repos/{owner}/{repo}/pulls',
  'POST /repos/{owner}/{repo}/deployments',
  'POST /repos/{owner}/{repo}/releases',
  'POST /repos/{owner}/{repo}/git/refs',
  'POST /repos/{owner}/{repo}/git/tags',
  'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
]);

/** True for a write the retry plugin may repeat: one whose repetition changes nothing more. */
export function mayRetry(method: string, urlTemplate: string): boolean {
  return !NOT_RETRIED.has(`${method.toUpperCase()} ${urlTemplate}`);
}

/**
 * fetch with a deadline per attempt (the retry plugin calls it once per attempt); each
 * attempt's status (0: no answer) and `x-ratelimit-remaining` are counted.
 */
function fetchWithin(timeoutMs: number, metrics?: GitHubClientOptions['metrics']): typeof fetch {
  return async (input, init) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    try {
      const response = await fetch(input, { ...init, signal });
      const remaining = response.headers.get('x-ratelimit-remaining');
      metrics?.githubResponse(response.status, remaining === null ? undefined : Number(remaining));
      return response;
    } catch (error) {
      metrics?.githubResponse(0);
      throw error;
    }
  };
}

interface CachedResponse {
  readonly etag: string;
  readonly response: { data: unknown; headers: Record<string, unknown>; status: number; url: string };
}

/**
 * Octokit for one token, with conditional requests: every GET (each page of a list is its own
 * URL) remembers its ETag and asks again with If-None-Match, and a 304 (which costs no rate
 * limit) answers with a fresh copy of the response as it first came.
 * Requests that create something (merge, pull request, deployment, release, tag, comment) are never
 * retried: after a 5xx or a timeout the object may exist, and 405/409 on a merge are final.
 * Every attempt has a deadline, so a request GitHub never answers fails instead of hanging.
 */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const resilient = options.resilient ?? true;
  const octokit = new Octokit({
    auth: options.token,
    baseUrl: options.apiUrl,
    log: {
      debug: () => {},
      info: (msg: string) => options.logger.debug({ component: 'github' }, msg),
      warn: (msg: string) => options.logger.warn({ component: 'github' }, msg),
      error: (msg: string) => options.logger.error({ component: 'github' }, msg),
    },
    request: { fetch: fetchWithin(options.timeoutMs ?? DEFAULT_GITHUB_TIMEOUT_MS, options.metrics) },
    retry: resilient
      ? {
          enabled: true,
          doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422, 451],
          ...(options.retryBaseMs === undefined ? {} : { retryAfterBaseValue: options.retryBaseMs }),
        }
      : { enabled: false },
    throttle: resilient
      ? {
          enabled: true,
          onRateLimit: (_retryAfter: number, opts: { request: { retryCount: number } }) =>
            opts.request.retryCount === 0,
          onSecondaryRateLimit: () => false,
        }
      : { enabled: false },
  });

  const cache = new Map<string, CachedResponse>();
  octokit.hook.wrap('request', async (request, opts) => {
    const method = (opts.method ?? 'GET').toUpperCase();
    // The retry plugin reads `request.retries` of each request: 0 turns it off for this one.
    if (!mayRetry(method, String(opts.url))) opts.request = { ...opts.request, retries: 0 };
    if (method !== 'GET') return request(opts);
    const key = octokit.request.endpoint(opts as never).url;
    const cached = cache.get(key);
    if (cached) opts.headers = { ...opts.headers, 'if-none-match': cached.etag };
    try {
      const response = await request(opts);
      const etag = response.headers.etag;
      // A copy, taken before the caller sees the response: paginate rewrites the response it
      // gets (a list's `data` becomes the list itself), and a 304 must answer as GitHub did.
      if (typeof etag === 'string')
        cache.set(key, { etag, response: structuredClone(response) as CachedResponse['response'] });
      return response;
    } catch (error) {
      if (cached && error instanceof RequestError && error.status === 304) {
        return structuredClone(cached.response) as never;
      }
      throw error;
    }
  });
  return { octokit };
}
