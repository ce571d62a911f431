import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ForgeUnavailableError } from '../../../src/forge/errors.js';
import { createGitHubClient, mayRetry } from '../../../src/forge/github/github-client.js';
import { createGitHubForge } from '../../../src/forge/github/github-forge.js';
import { createLogger } from '../../../src/logger.js';

const logger = createLogger({ level: 'silent', secrets: [], destination: { write: () => {} } });

/** A server that answers every request 502, or never (hang), and counts what it was asked. */
async function brokenGitHub(mode: '502' | 'hang') {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    if (mode === 'hang') return;
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'Server Error' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    seen,
    apiUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the GitHub client as production runs it (retries on)', () => {
  let github: Awaited<ReturnType<typeof brokenGitHub>> | undefined;
  afterEach(async () => {
    await github?.close();
    github = undefined;
  });

  const forgeOn = (apiUrl: string, timeoutMs = 60_000) =>
    createGitHubForge(
      createGitHubClient({ token: 'ghs_test', apiUrl, logger, resilient: true, retryBaseMs: 1, timeoutMs }),
      { owner: 'o', name: 'r' },
    );

  it('never repeats a request that creates something; reads are retried', async () => {
    github = await brokenGitHub('502');
    const forge = forgeOn(github.apiUrl);
    const outcomes = await Promise.allSettled([
      forge.merge(1, { sha: 'a'.repeat(40), method: 'merge' }),
      forge.createDeployment('a'.repeat(40), 'production', 'x', { lugh: { promotionId: 1 } }),
      forge.branchSha('main'),
    ]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(ForgeUnavailableError);
    }
    const count = (prefix: string) => github!.seen.filter((s) => s.startsWith(prefix)).length;
    expect(count('PUT /repos/o/r/pulls/1/merge')).toBe(1);
    expect(count('POST /repos/o/r/deployments')).toBe(1);
    // The first try and the retry plugin's three.
    expect(count('GET /repos/o/r/branches/main')).toBe(4);
  });

  it('a request GitHub never answers fails at the deadline as GitHub unavailable, and is not repeated', async () => {
    github = await brokenGitHub('hang');
    const forge = forgeOn(github.apiUrl, 200);
    await expect(forge.createDeployment('a'.repeat(40), 'production', 'x')).rejects.toBeInstanceOf(
      ForgeUnavailableError,
    );
    expect(github.seen).toEqual(['POST /repos/o/r/deployments']);
  });
});

describe('mayRetry', () => {
  it('names the requests that create something', () => {
    for (const route of [
      'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge',
      'POST /repos/{owner}/{repo}/pulls',
      'POST /repos/{owner}/{repo}/deployments',
      'POST /repos/{owner}/{repo}/releases',
      'POST /repos/{owner}/{repo}/git/refs',
    ]) {
      const [method, url] = route.split(' ') as [string, string];
      expect(mayRetry(method, url), route).toBe(false);
    }
    expect(mayRetry('GET', '/repos/{owner}/{repo}/pulls/{pull_number}')).toBe(true);
    expect(mayRetry('POST', '/repos/{owner}/{repo}/releases/generate-notes')).toBe(true);
  });
});

describe('the ETag cache', () => {
  it('answers a 304 with the response as GitHub first sent it, even after a caller rewrote its copy', async () => {
    const asked: Array<string | undefined> = [];
    const server: Server = createServer((req, res) => {
      asked.push(req.headers['if-none-match'] as string | undefined);
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' });
      res.end(JSON.stringify({ total_count: 2, check_runs: [{ id: 1 }, { id: 2 }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const { octokit } = createGitHubClient({
        token: 'ghs_test',
        apiUrl: `http://127.0.0.1:${port}`,
        logger,
        resilient: false,
      });
      const route = 'GET /repos/o/r/commits/abc/check-runs';
      const first = await octokit.request(route);
      // What octokit.paginate does to each page it gets.
      (first as { data: unknown }).data = first.data.check_runs;
      const second = await octokit.request(route);
      expect(asked).toEqual([undefined, '"v1"']);
      expect(second.data).toEqual({ total_count: 2, check_runs: [{ id: 1 }, { id: 2 }] });
      const all = await octokit.paginate(route);
      expect(all).toEqual([{ id: 1 }, { id: 2 }]);
      expect(await octokit.paginate(route)).toEqual([{ id: 1 }, { id: 2 }]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
