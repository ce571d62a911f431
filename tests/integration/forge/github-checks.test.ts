// lugh's GitHub forge reading CI from the GitHub stand-in, which behaves as GitHub does:
// `filter=latest` dedupes check runs only within one check suite, and a new workflow run
// on the same commit (a re-run, a reopened pull request, an `edited` event) is a new suite.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { octokitFor, repoParams } from '../sandbox/github/fixture.js';

type Seeded = Awaited<ReturnType<typeof startSeededGitHub>>;

let github: Seeded;
let sha: string;

beforeEach(async () => {
  github = await startSeededGitHub('ghs_sandboxtoken');
  sha = github.seeded.developSha;
});

afterEach(async () => {
  await github.gh.close();
  await rm(path.dirname(github.repoDir), { recursive: true, force: true });
});

/** One check run named `name` on `sha` that ends with `conclusion` (finished at once, no timer). */
async function ranOnce(name: string, conclusion: 'success' | 'failure') {
  await github.gh.setCheckPlan(sha, [{ name, kind: 'check_run', conclusion, afterMs: 60_000 }]);
  await github.gh.completeCheck(sha, name, conclusion);
}

describe('the GitHub stand-in: check suites', () => {
  it('a re-run is a new check suite, and filter=latest still lists the old failed run beside the new one', async () => {
    await ranOnce('build', 'failure');
    await github.gh.rerunCheck(sha, 'build', 'success', 60_000);
    await github.gh.completeCheck(sha, 'build', 'success');

    const octokit = octokitFor(github.gh);
    const { data } = await octokit.rest.checks.listForRef({ ...repoParams, ref: sha, filter: 'latest' });
    expect(data.total_count).toBe(2);
    expect(data.check_runs.map((r) => [r.name, r.conclusion])).toEqual([
      ['build', 'success'],
      ['build', 'failure'],
    ]);
    expect(new Set(data.check_runs.map((r) => r.check_suite?.id)).size).toBe(2);
    const suites = await octokit.rest.checks.listSuitesForRef({ ...repoParams, ref: sha });
    expect(suites.data.total_count).toBe(2);
  });

  it('refuses to re-run a check the commit never ran', async () => {
    await expect(github.gh.rerunCheck(sha, 'build', 'success')).rejects.toThrow('no check run "build"');
  });
});

describe('lugh reading CI: only the latest run of each check counts', () => {
  it('a check that failed and then passed on a re-run (a new suite) counts as passed', async () => {
    await ranOnce('build', 'failure');
    await ranOnce('lint', 'success');
    await github.gh.rerunCheck(sha, 'build', 'success', 60_000);
    await github.gh.completeCheck(sha, 'build', 'success');

    const ci = await github.forge.ciState(sha);
    expect(ci.overall).toBe('success');
    expect(ci.checks.map((c) => [c.name, c.state])).toEqual([
      ['build', 'success'],
      ['lint', 'success'],
    ]);
  });

  it('a re-run still under way waits: the old failure does not fail the promotion', async () => {
    await ranOnce('build', 'failure');
    await github.gh.rerunCheck(sha, 'build', 'success', 60_000);

    const ci = await github.forge.ciState(sha);
    expect(ci.overall).toBe('pending');
    expect(ci.checks.map((c) => [c.name, c.state, c.detail])).toEqual([['build', 'pending', 'in_progress']]);
  });

  it('a re-run that fails fails CI, however green the older run was', async () => {
    await ranOnce('build', 'success');
    await github.gh.rerunCheck(sha, 'build', 'failure', 60_000);
    await github.gh.completeCheck(sha, 'build', 'failure');

    const ci = await github.forge.ciState(sha);
    expect(ci.overall).toBe('failure');
    expect(ci.checks.map((c) => [c.name, c.state])).toEqual([['build', 'failure']]);
  });
});

/**
 * A big matrix on `sha`: `runs` check runs and `statuses` commit statuses, all finished green
 * but the oldest check run, which failed (listed newest first, it comes on the last page).
 */
async function bigMatrix(runs: number, statuses: number) {
  const name = (prefix: string, i: number) => `${prefix}-${String(i).padStart(3, '0')}`;
  const plan = [
    ...Array.from({ length: runs }, (_, i) => ({ name: name('job', i), kind: 'check_run' as const })),
    ...Array.from({ length: statuses }, (_, i) => ({ name: name('ci/legacy', i), kind: 'status' as const })),
  ];
  await github.gh.setCheckPlan(
    sha,
    plan.map((c) => ({ ...c, conclusion: 'success' as const, afterMs: 60_000 })),
  );
  for (const check of plan)
    await github.gh.completeCheck(sha, check.name, check.name === 'job-000' ? 'failure' : 'success');
}

describe('the GitHub stand-in: paging', () => {
  it('pages check runs at most 100 at a time, with total_count and a Link to the next page', async () => {
    await bigMatrix(130, 0);
    const octokit = octokitFor(github.gh);
    const first = await octokit.rest.checks.listForRef({ ...repoParams, ref: sha, per_page: 500 });
    expect(first.data.total_count).toBe(130);
    expect(first.data.check_runs).toHaveLength(100);
    expect(first.headers.link).toContain('rel="next"');
    const second = await octokit.rest.checks.listForRef({ ...repoParams, ref: sha, per_page: 100, page: 2 });
    expect(second.data.check_runs.map((r) => r.name)).toContain('job-000');
    expect(second.data.check_runs).toHaveLength(30);
  });

  it('pages the combined status: 30 statuses by default, total_count and state of them all', async () => {
    await bigMatrix(0, 35);
    await octokitFor(github.gh).rest.repos.createCommitStatus({
      ...repoParams,
      sha,
      state: 'failure',
      context: 'ci/legacy-000',
    });
    const octokit = octokitFor(github.gh);
    const first = await octokit.rest.repos.getCombinedStatusForRef({ ...repoParams, ref: sha });
    expect(first.data).toMatchObject({ total_count: 35, state: 'failure' });
    expect(first.data.statuses).toHaveLength(30);
    expect(first.headers.link).toContain('rel="next"');
    const rest = await octokit.rest.repos.getCombinedStatusForRef({ ...repoParams, ref: sha, page: 2 });
    expect(rest.data.statuses).toHaveLength(5);
  });
});

describe('lugh reading CI: every page', () => {
  it('reads all 130 check runs and 110 commit statuses, and a failure on the last page fails CI', async () => {
    await bigMatrix(130, 110);
    const ci = await github.forge.ciState(sha);
    expect(ci.checks.filter((c) => c.kind === 'check_run')).toHaveLength(130);
    expect(ci.checks.filter((c) => c.kind === 'status')).toHaveLength(110);
    expect(ci.checks.filter((c) => c.state === 'failure').map((c) => c.name)).toEqual(['job-000']);
    expect(ci.overall).toBe('failure');
  });

  it('a second look, answered page by page with 304s (conditional requests), still sees every run and status', async () => {
    await bigMatrix(130, 110);
    const first = await github.forge.ciState(sha);
    const before = github.gh.requests().length;
    const second = await github.forge.ciState(sha);

    const again = github.gh.requests().slice(before);
    const pages = again.filter((r) => r.route?.includes('/check-runs') || r.route?.endsWith('/status'));
    // Two pages of check runs and two of statuses, each asked with If-None-Match and answered 304.
    expect(pages.map((r) => [r.conditional, r.status])).toEqual(Array(4).fill([true, 304]));
    expect(second).toEqual(first);
    expect(second.checks).toHaveLength(240);
  });
});
