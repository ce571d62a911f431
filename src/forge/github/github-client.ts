import { Octokit, RequestError } from 'octokit';
import type { Logger } from '../../logger.js';

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
}

interface CachedResponse {
  readonly etag: string;
  readonly response: { data: unknown; headers: Record<string, unknown>; status: number; url: string };
}

/**
 * Octokit for one token, with conditional requests: every GET remembers its ETag and asks
 * again with If-None-Match, and a 304 (which costs no rate limit) answers from the cache.
 * Merges are never retried: 405 and 409 are GitHub's final word on that attempt.
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
    retry: resilient
      ? { enabled: true, doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422, 451] }
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
    if (method !== 'GET') return request(opts);
    const key = octokit.request.endpoint(opts as never).url;
    const cached = cache.get(key);
    if (cached) opts.headers = { ...opts.headers, 'if-none-match': cached.etag };
    try {
      const response = await request(opts);
      const etag = response.headers.etag;
      if (typeof etag === 'string')
        cache.set(key, { etag, response: response as CachedResponse['response'] });
      return response;
    } catch (error) {
      if (cached && error instanceof RequestError && error.status === 304) {
        return cached.response as never;
      }
      throw error;
    }
  });
  return { octokit };
}
