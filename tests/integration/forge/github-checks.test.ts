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
