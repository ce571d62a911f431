import { Octokit, RequestError } from 'octokit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AccessDeniedError,
  ConflictError,
  ForgeUnavailableError,
  HeadMovedError,
  NotFoundError,
  NotMergeableError,
  RateLimitedError,
} from '../../../src/forge/errors.js';
import { classified, classifyGitHubError } from '../../../src/forge/github/classify-error.js';
import { createGitHubForge } from '../../../src/forge/github/github-forge.js';

const NOW = new Date('2026-01-02T03:04:05Z');
const url = 'https://api.github.test/repos/o/r/pulls/1/merge';

function requestError(status: number, message: string, headers: Record<string, string> = {}) {
  return new RequestError(`${message} - https://docs.github.com/rest`, status, {
    request: { method: 'PUT', url, headers: { authorization: 'token ghs_secret' } },
    response: { status, url, headers, data: { message } },
  });
}

describe('classifyGitHubError', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  it('401 and a bare 403 are a refused token', () => {
    const refused = classifyGitHubError(requestError(401, 'Bad credentials'));
    expect(refused).toBeInstanceOf(AccessDeniedError);
    expect((refused as Error).message).toBe('GitHub refused the token (401): Bad credentials');
    const forbidden = classifyGitHubError(requestError(403, 'Resource not accessible by integration'));
    expect(forbidden).toBeInstanceOf(AccessDeniedError);
    expect((forbidden as Error).message).toBe(
      'GitHub refused the token (403): Resource not accessible by integration',
    );
  });

  it('a 403 with an exhausted primary limit waits until x-ratelimit-reset', () => {
    const reset = Math.floor(NOW.getTime() / 1000) + 900;
    const error = classifyGitHubError(
      requestError(403, 'API rate limit exceeded', {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(reset),
      }),
    );
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).message).toBe('GitHub rate limit: API rate limit exceeded');
    expect((error as RateLimitedError).resetAt).toEqual(new Date(reset * 1000));
  });

  it('a 403 with retry-after (a secondary limit) waits that many seconds', () => {
    const error = classifyGitHubError(
      requestError(403, 'You have exceeded a secondary rate limit', { 'retry-after': '30' }),
    );
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).resetAt).toEqual(new Date(NOW.getTime() + 30_000));
  });

  it('a bare 403 secondary limit (no retry-after, requests left) is a secondary limit of at least a minute', () => {
    const error = classifyGitHubError(
      requestError(
        403,
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        {
          'x-ratelimit-remaining': '4990',
          'x-ratelimit-reset': String(Math.floor(NOW.getTime() / 1000) + 3000),
        },
      ),
    );
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).limit).toBe('secondary');
    expect((error as RateLimitedError).resetAt).toEqual(new Date(NOW.getTime() + 60_000));
  });

  it('a 403 names the missing permission from X-Accepted-GitHub-Permissions (its first set)', () => {
    const error = classifyGitHubError(
      requestError(403, 'Resource not accessible by integration', {
        'x-accepted-github-permissions': 'pull_requests=write,contents=read; issues=write',
      }),
    );
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as AccessDeniedError).missing).toEqual({
      permission: 'pull_requests',
      label: 'Pull requests',
      access: 'write',
    });
  });

  it('a refused workflow change names the workflows permission and the file, whatever the status', () => {
    for (const status of [403, 422]) {
      const error = classifyGitHubError(
        requestError(
          status,
          'refusing to allow an OAuth App to create or update workflow `.github/workflows/a.yml` without `workflow` scope',
        ),
      );
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect((error as AccessDeniedError).missing).toMatchObject({
        permission: 'workflows',
        because: '.github/workflows/a.yml',
        scope: 'workflow',
      });
    }
  });

  it('a 429 without headers waits a minute', () => {
    const error = classifyGitHubError(requestError(429, 'Too Many Requests'));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).resetAt).toEqual(new Date(NOW.getTime() + 60_000));
  });

  it("404 is not found, keeping Octokit's message", () => {
    const original = requestError(404, 'Not Found');
    const error = classifyGitHubError(original);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toBe(original.message);
  });

  it("405 is not mergeable, with GitHub's reason", () => {
    const error = classifyGitHubError(requestError(405, 'Pull Request is not mergeable'));
    expect(error).toBeInstanceOf(NotMergeableError);
    expect((error as Error).message).toBe('Pull Request is not mergeable');
  });

  it('409 is a conflict, and not by itself a moved head', () => {
    const original = requestError(409, 'Conflict');
    const error = classifyGitHubError(original);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).not.toBeInstanceOf(HeadMovedError);
    expect((error as Error).message).toBe(original.message);
  });

  it.each([500, 502, 503, 0])('%i is an unavailable forge', (status) => {
    const error = classifyGitHubError(requestError(status, 'Server Error'));
    expect(error).toBeInstanceOf(ForgeUnavailableError);
    expect((error as Error).message).toBe(`GitHub answered ${status}: Server Error`);
  });

  it('a network failure is an unavailable forge', () => {
    const fetchFailed = classifyGitHubError(new TypeError('fetch failed'));
    expect(fetchFailed).toBeInstanceOf(ForgeUnavailableError);
    expect((fetchFailed as Error).message).toBe('GitHub could not be reached: fetch failed');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(classifyGitHubError(refused)).toBeInstanceOf(ForgeUnavailableError);
  });

  it('anything else is returned unchanged, to be rethrown', () => {
    const unprocessable = requestError(422, 'Validation Failed');
    expect(classifyGitHubError(unprocessable)).toBe(unprocessable);
    const bug = new RangeError('a bug of ours');
    expect(classifyGitHubError(bug)).toBe(bug);
  });

  it('classified() rethrows a failed call as the named error', async () => {
    await expect(classified(() => Promise.reject(requestError(502, 'Bad Gateway')))).rejects.toBeInstanceOf(
      ForgeUnavailableError,
    );
    await expect(classified(() => Promise.resolve(7))).resolves.toBe(7);
  });
});

describe('the GitHub forge at the HTTP boundary', () => {
  const answering = (status: number, body: unknown) => {
    const fetch = async () =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    // As the product's client with `resilient: false`: GitHub's answers as they are, at once.
    const octokit = new Octokit({
      baseUrl: 'https://api.github.test',
      request: { fetch },
      retry: { enabled: false },
      throttle: { enabled: false },
    });
    return createGitHubForge({ octokit }, { owner: 'o', name: 'r' });
  };

  it('a merge answered 409 is a moved head', async () => {
    const forge = answering(409, { message: 'Head branch was modified. Review and try the merge again.' });
    const merging = forge.merge(1, { sha: 'abcdef1234567890', method: 'merge' });
    await expect(merging).rejects.toBeInstanceOf(HeadMovedError);
    await expect(merging).rejects.toThrow("the pull request's head is no longer abcdef1");
  });

  it("a merge answered 405 is not mergeable, with GitHub's reason", async () => {
    const forge = answering(405, { message: 'Pull Request is not mergeable' });
    const merging = forge.merge(1, { sha: 'abcdef1234567890', method: 'merge' });
    await expect(merging).rejects.toBeInstanceOf(NotMergeableError);
    await expect(merging).rejects.toThrow('Pull Request is not mergeable');
  });

  it('no vX.Y.Z tag is no release tag (other names do not count)', async () => {
    await expect(answering(200, []).latestReleaseTag()).resolves.toBeUndefined();
    await expect(
      answering(200, [{ name: 'nightly', commit: { sha: 'a'.repeat(40), url: '' } }]).latestReleaseTag(),
    ).resolves.toBeUndefined();
  });
});
