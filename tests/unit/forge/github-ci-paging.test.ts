// lugh reading a commit's check runs while CI adds runs: GitHub lists the newest first, so a
// run created between two page reads shifts the list down (the next page repeats one run and
// the new one is on the page already read). total_count says so; lugh reads the list again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { createGitHubClient } from '../../../src/forge/github/github-client.js';
import { createGitHubForge } from '../../../src/forge/github/github-forge.js';
import { createLogger } from '../../../src/logger.js';

const logger = createLogger({ level: 'silent', secrets: [], destination: { write: () => {} } });
/** The fake pages by two (whatever per_page asks), to keep the lists short. */
const PAGE = 2;

const run = (id: number, name: string) => ({
  id,
  name,
  status: 'completed',
  conclusion: 'success',
  started_at: `2026-11-30T10:0${id}:00Z`,
  app: { id: 15368 },
  html_url: null,
  details_url: null,
});

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

it('a run created while lugh pages the check runs is not lost: total_count says more, and the list is read again', async () => {
  const runs = [run(3, 'lint'), run(2, 'test'), run(1, 'build')];
  let pageOneReads = 0;
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://github.test');
    if (url.pathname.endsWith('/status')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ state: 'pending', statuses: [], total_count: 0, sha: 'abc', url: url.href }));
      return;
    }
    const page = Number(url.searchParams.get('page') ?? 1);
    const body = { total_count: runs.length, check_runs: runs.slice((page - 1) * PAGE, page * PAGE) };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (page * PAGE < runs.length) {
      url.searchParams.set('page', String(page + 1));
      headers.link = `<http://${req.headers.host}${url.pathname}${url.search}>; rel="next"`;
    }
    res.writeHead(200, headers);
    res.end(JSON.stringify(body));
    // CI starts a new run just after lugh read the first page the first time.
    if (page === 1 && ++pageOneReads === 1) runs.unshift(run(4, 'deploy-preview'));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const forge = createGitHubForge(
    createGitHubClient({ token: 'ghs_test', apiUrl: `http://127.0.0.1:${port}`, logger, resilient: false }),
    { owner: 'o', name: 'r' },
  );

  const ci = await forge.ciState('abc');
  expect(ci.checks.map((c) => c.name)).toEqual(['build', 'deploy-preview', 'lint', 'test']);
});
