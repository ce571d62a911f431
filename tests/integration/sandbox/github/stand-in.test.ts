import { gunzipSync } from 'node:zlib';
import { RequestError } from 'octokit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PERMISSIONS } from '../../../../src/sandbox/github/index.js';
import { repoParams as base, eventually, gitIn, octokitFor, type Sandbox, startSandbox } from './fixture.js';

/** Entry names of a tar archive (ustar: name at 0, prefix at 345; size in octal at 124). */
function tarEntries(tar: Buffer): string[] {
  const names: string[] = [];
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    names.push(prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

async function openPromotion(sandbox: Sandbox) {
  const { data } = await sandbox.octokit.rest.pulls.create({
    ...base,
    base: 'main',
    head: 'develop',
    title: 'Promote develop',
  });
  return data.number;
}

/** Reads the pull request until GitHub has computed its mergeability. */
async function settledPull(sandbox: Sandbox, pull_number: number) {
  return eventually(async () => {
    const { data } = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
    return data.mergeable === null ? undefined : data;
  });
}

async function requestError(call: Promise<unknown>): Promise<RequestError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RequestError);
  return error as RequestError;
}

describe('GitHub stand-in over a real git repository', () => {
  let sandbox: Sandbox;
  beforeEach(async () => {
    sandbox = await startSandbox();
  });
  afterEach(async () => {
    await sandbox.close();
  });

  it('describes the repository and its branches', async () => {
    const { data: repo } = await sandbox.octokit.rest.repos.get(base);
    expect(repo.full_name).toBe('acme/app');
    expect(repo.default_branch).toBe('main');
    const { data: branch } = await sandbox.octokit.rest.repos.getBranch({ ...base, branch: 'develop' });
    expect(branch.commit.sha).toBe(sandbox.developSha);
    const { data: ref } = await sandbox.octokit.rest.git.getRef({ ...base, ref: 'heads/main' });
    expect(ref.object.sha).toBe(sandbox.mainSha);
  });

  it('serves a commit object with its tree as git does: a merge commit with no change of its own has its parent’s tree', async () => {
    const { octokit, repoDir, developSha } = sandbox;
    const { data } = await octokit.rest.git.getCommit({ ...base, commit_sha: developSha });
    expect(data.sha).toBe(developSha);
    expect(data.tree.sha).toBe(await gitIn(repoDir, 'rev-parse', `${developSha}^{tree}`));
    expect(data.parents.map((p) => p.sha)).toEqual(
      (await gitIn(repoDir, 'log', '-1', '--format=%P', developSha)).split(' '),
    );
    // Abbreviated SHAs resolve; branch names and unknown commits are 404, as on GitHub.
    const short = await octokit.rest.git.getCommit({ ...base, commit_sha: developSha.slice(0, 7) });
    expect(short.data.sha).toBe(developSha);
    for (const commit_sha of ['develop', 'f'.repeat(40)]) {
      await expect(octokit.rest.git.getCommit({ ...base, commit_sha })).rejects.toMatchObject({
        status: 404,
      });
    }
    const pull_number = await openPromotion(sandbox);
    const { data: merged } = await octokit.rest.pulls.merge({ ...base, pull_number, sha: developSha });
    const mergeCommit = await octokit.rest.git.getCommit({ ...base, commit_sha: merged.sha });
    expect(mergeCommit.data.parents).toHaveLength(2);
    expect(mergeCommit.data.tree.sha).toBe(data.tree.sha);
  });

  it('compares main...develop: ahead by three, then diverged after a commit on main', async () => {
    const { data } = await sandbox.octokit.rest.repos.compareCommitsWithBasehead({
      ...base,
      basehead: 'main...develop',
    });
    expect(data).toMatchObject({ status: 'ahead', ahead_by: 3, behind_by: 0, total_commits: 3 });
    expect(data.commits.map((c) => c.commit.message)).toEqual([
      'Log each request with its status and duration',
      'Report the start time from /version',
      'Document the PORT variable',
    ]);
    expect(data.commits[0]?.commit.author?.name).toBe('Niamh Kelly');
    expect(data.files?.map((f) => [f.filename, f.status])).toEqual([
      ['README.md', 'modified'],
      ['server.js', 'modified'],
    ]);
    expect(data.files?.[1]).toMatchObject({ additions: 7, deletions: 1, changes: 8 });

    await sandbox.gh.pushCommit('main', { message: 'Hotfix: add a LICENSE', files: { LICENSE: 'MIT\n' } });
    const after = await sandbox.octokit.rest.repos.compareCommitsWithBasehead({
      ...base,
      basehead: 'main...develop',
    });
    expect(after.data).toMatchObject({ status: 'diverged', ahead_by: 3, behind_by: 1 });
    const reverse = await sandbox.octokit.rest.repos.compareCommitsWithBasehead({
      ...base,
      basehead: 'develop...main',
    });
    expect(reverse.data).toMatchObject({ status: 'diverged', ahead_by: 1, behind_by: 3 });
    const same = await sandbox.octokit.rest.repos.compareCommitsWithBasehead({
      ...base,
      basehead: 'main...main',
    });
    expect(same.data).toMatchObject({ status: 'identical', ahead_by: 0, behind_by: 0 });
  });

  it('opens a pull request once: 422 for a duplicate and for no commits', async () => {
    const number = await openPromotion(sandbox);
    expect(number).toBe(1);
    const duplicate = await requestError(
      sandbox.octokit.rest.pulls.create({ ...base, base: 'main', head: 'develop', title: 'again' }),
    );
    expect(duplicate.status).toBe(422);
    expect(duplicate.message).toContain('A pull request already exists for acme:develop.');
    const empty = await requestError(
      sandbox.octokit.rest.pulls.create({ ...base, base: 'develop', head: 'main', title: 'backwards' }),
    );
    expect(empty.status).toBe(422);
    expect(empty.message).toContain('No commits between develop and main');

    const listed = await sandbox.octokit.rest.pulls.list({
      ...base,
      state: 'open',
      head: 'acme:develop',
      base: 'main',
    });
    expect(listed.data.map((p) => p.number)).toEqual([1]);
    const none = await sandbox.octokit.rest.pulls.list({ ...base, head: 'acme:feature' });
    expect(none.data).toEqual([]);
  });

  it('keeps branch protection as GitHub does: 404 "Branch not protected" until set, then its REST shape', async () => {
    const { octokit, gh } = sandbox;
    // Changing protection takes Administration: write (reading it, read).
    gh.setTokenGrant({
      kind: 'installation',
      permissions: { ...DEFAULT_PERMISSIONS, administration: 'write' },
    });
    const none = await requestError(octokit.rest.repos.getBranchProtection({ ...base, branch: 'main' }));
    expect(none.status).toBe(404);
    expect(none.message).toContain('Branch not protected');
    const missing = await requestError(octokit.rest.repos.getBranchProtection({ ...base, branch: 'nope' }));
    expect(missing.message).toContain('Branch not found');
    // PUT needs all four top-level keys, each may be null.
    const incomplete = await requestError(
      octokit.rest.repos.updateBranchProtection({
        ...base,
        branch: 'main',
        required_status_checks: null,
        enforce_admins: null,
        required_pull_request_reviews: null,
      } as never),
    );
    expect(incomplete.status).toBe(422);
    expect(incomplete.message).toContain('"restrictions" wasn\'t supplied.');

    await octokit.rest.repos.updateBranchProtection({
      ...base,
      branch: 'main',
      required_status_checks: { strict: true, contexts: ['build'] },
      enforce_admins: false,
      required_pull_request_reviews: { required_approving_review_count: 2 },
      restrictions: null,
    });
    const { data } = await octokit.rest.repos.getBranchProtection({ ...base, branch: 'main' });
    expect(data.required_status_checks).toMatchObject({
      strict: true,
      contexts: ['build'],
      checks: [{ context: 'build', app_id: null }],
    });
    expect(data.required_pull_request_reviews).toMatchObject({ required_approving_review_count: 2 });
    expect(data.enforce_admins).toMatchObject({ enabled: false });

    // The test-side setter takes the same body; null removes the protection.
    gh.setBranchProtection('main', {
      required_status_checks: null,
      enforce_admins: true,
      required_pull_request_reviews: null,
      restrictions: null,
    });
    const reviewsOnly = await octokit.rest.repos.getBranchProtection({ ...base, branch: 'main' });
    expect(reviewsOnly.data.required_status_checks).toBeUndefined();
    expect(reviewsOnly.data.enforce_admins?.enabled).toBe(true);
    gh.setBranchProtection('main', null);
    expect(
      (await requestError(octokit.rest.repos.getBranchProtection({ ...base, branch: 'main' }))).status,
    ).toBe(404);
  });

  it('computes mergeable_state from branch protection as GitHub does: blocked by reviews and required checks, behind when strict, unstable on a failing optional check', async () => {
    const { octokit, gh } = sandbox;
    // A commit on main that develop lacks (no conflict): strict protection calls develop behind.
    await gh.pushCommit('main', { message: 'Hotfix on main', files: { 'HOTFIX.md': 'fixed\n' } });
    gh.setBranchProtection('main', {
      required_status_checks: { strict: true, contexts: ['build'] },
      enforce_admins: true,
      required_pull_request_reviews: { required_approving_review_count: 1 },
      restrictions: null,
    });
    const pull_number = await openPromotion(sandbox);
    const state = async () => (await settledPull(sandbox, pull_number)).mergeable_state;
    // mergeable is true all along: only mergeable_state tells what stops the merge.
    expect((await settledPull(sandbox, pull_number)).mergeable).toBe(true);
    expect(await state()).toBe('blocked');
    const noReview = await requestError(octokit.rest.pulls.merge({ ...base, pull_number }));
    expect(noReview.status).toBe(405);
    expect(noReview.message).toContain(
      'At least 1 approving review is required by reviewers with write access.',
    );
    // The token's own account opened it: it cannot approve it.
    const own = await requestError(
      octokit.rest.pulls.createReview({ ...base, pull_number, event: 'APPROVE' }),
    );
    expect(own.status).toBe(422);
    expect(own.response?.data).toMatchObject({ errors: ['Can not approve your own pull request'] });
    gh.reviewPull(pull_number, 'maintainer', 'APPROVE');
    const { data: reviews } = await octokit.rest.pulls.listReviews({ ...base, pull_number });
    expect(reviews.map((r) => [r.user?.login, r.state])).toEqual([['maintainer', 'APPROVED']]);

    // Approved, but the required "build" never reported: still blocked, "expected".
    expect(await state()).toBe('blocked');
    const expected = await requestError(octokit.rest.pulls.merge({ ...base, pull_number }));
    expect(expected.message).toContain('Required status check "build" is expected.');
    await octokit.rest.repos.createCommitStatus({
      ...base,
      sha: sandbox.developSha,
      state: 'success',
      context: 'build',
    });

    // Reviews and checks done; strict protection and main's hotfix missing from develop: behind.
    expect(await state()).toBe('behind');
    const behind = await requestError(
      octokit.rest.pulls.merge({ ...base, pull_number, sha: sandbox.developSha, request: { retries: 0 } }),
    );
    expect(behind.status).toBe(409);
    expect(behind.message).toContain('Head branch is out of date');
    expect(await gitIn(sandbox.repoDir, 'log', '-1', '--format=%s', 'main')).toBe('Hotfix on main');

    // GitHub's update-branch merges main into develop (202 at once, the branch moves after).
    const update = await octokit.rest.pulls.updateBranch({
      ...base,
      pull_number,
      expected_head_sha: sandbox.developSha,
    });
    expect(update.status).toBe(202);
    await gh.settled();
    const head = await gitIn(sandbox.repoDir, 'rev-parse', 'develop');
    expect(await gitIn(sandbox.repoDir, 'log', '-1', '--format=%s|%P', head)).toBe(
      `Merge branch 'main' into develop|${sandbox.developSha} ${await gitIn(sandbox.repoDir, 'rev-parse', 'main')}`,
    );
    const again = await requestError(octokit.rest.pulls.updateBranch({ ...base, pull_number }));
    expect(again.message).toContain('There are no new commits on the base branch.');
    // The new head needs its own required check; a failing non-required one makes it unstable.
    expect(await state()).toBe('blocked');
    await octokit.rest.repos.createCommitStatus({ ...base, sha: head, state: 'success', context: 'build' });
    await octokit.rest.repos.createCommitStatus({ ...base, sha: head, state: 'failure', context: 'lint' });
    expect(await state()).toBe('unstable');
    const { data } = await octokit.rest.pulls.merge({ ...base, pull_number, sha: head });
    expect(data.merged).toBe(true);
  });

  it('reports a draft as draft and refuses to merge it', async () => {
    const { data } = await sandbox.octokit.rest.pulls.create({
      ...base,
      base: 'main',
      head: 'develop',
      title: 'Draft promotion',
      draft: true,
    });
    expect((await settledPull(sandbox, data.number)).mergeable_state).toBe('draft');
    const error = await requestError(sandbox.octokit.rest.pulls.merge({ ...base, pull_number: data.number }));
    expect(error.status).toBe(405);
    expect(error.message).toContain('Pull Request is still a draft');
  });

  it('reports mergeable null on the first read, then a real trial merge result', async () => {
    const pull_number = await openPromotion(sandbox);
    const first = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
    expect(first.data.mergeable).toBeNull();
    expect(first.data.mergeable_state).toBe('unknown');
    const second = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
    expect(second.data.mergeable).toBe(true);
    expect(second.data.mergeable_state).toBe('clean');
    expect(second.data).toMatchObject({ commits: 3, changed_files: 2, head: { sha: sandbox.developSha } });

    // A conflicting change on main: the next read is null again, then false/dirty.
    await sandbox.gh.pushCommit('main', {
      message: 'Rewrite the README',
      files: { 'README.md': '# conflicting\n' },
    });
    const reread = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
    expect(reread.data.mergeable).toBeNull();
    const dirty = await settledPull(sandbox, pull_number);
    expect(dirty.mergeable).toBe(false);
    expect(dirty.mergeable_state).toBe('dirty');

    // A busy GitHub: unknown for two more reads, then the answer again.
    sandbox.gh.setMergeabilityLag(2);
    const states = [];
    for (let i = 0; i < 3; i++)
      states.push((await sandbox.octokit.rest.pulls.get({ ...base, pull_number })).data);
    expect(states.map((d) => [d.mergeable, d.mergeable_state])).toEqual([
      [null, 'unknown'],
      [null, 'unknown'],
      [false, 'dirty'],
    ]);
  });

  it.each([
    ['merge', 2],
    ['squash', 1],
    ['rebase', 1],
  ] as const)('merges with %s using real git', async (merge_method, parents) => {
    const pull_number = await openPromotion(sandbox);
    const { data } = await sandbox.octokit.rest.pulls.merge({
      ...base,
      pull_number,
      sha: sandbox.developSha,
      merge_method,
    });
    expect(data).toEqual({ sha: data.sha, merged: true, message: 'Pull Request successfully merged' });
    expect(await gitIn(sandbox.repoDir, 'rev-parse', 'refs/heads/main')).toBe(data.sha);
    expect((await gitIn(sandbox.repoDir, 'log', '-1', '--format=%P', data.sha)).split(' ')).toHaveLength(
      parents,
    );
    // Whatever the method, main now has develop's content.
    expect(await gitIn(sandbox.repoDir, 'rev-parse', `${data.sha}^{tree}`)).toBe(
      await gitIn(sandbox.repoDir, 'rev-parse', `${sandbox.developSha}^{tree}`),
    );
    const log = (
      await gitIn(sandbox.repoDir, 'log', '--format=%s|%an|%cn', `${sandbox.mainSha}..main`)
    ).split('\n');
    if (merge_method === 'merge') {
      expect(log[0]).toBe('Merge pull request #1 from acme/develop|lugh-sandbox[bot]|GitHub');
      expect(await gitIn(sandbox.repoDir, 'rev-parse', `${data.sha}^2`)).toBe(sandbox.developSha);
    } else if (merge_method === 'squash') {
      expect(log).toEqual(['Promote develop (#1)|lugh-sandbox[bot]|GitHub']);
    } else {
      expect(log).toEqual([
        'Document the PORT variable|Aoife Byrne|GitHub',
        'Report the start time from /version|Cian Walsh|GitHub',
        'Log each request with its status and duration|Niamh Kelly|GitHub',
      ]);
    }
    const pull = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
    expect(pull.data).toMatchObject({ state: 'closed', merged: true, merge_commit_sha: data.sha });
    const again = await requestError(sandbox.octokit.rest.pulls.merge({ ...base, pull_number }));
    expect(again.status).toBe(405);
    expect(again.message).toContain('Pull Request is not mergeable');
  });

  it('answers 409 when the head moved since the given sha, and merges nothing', async () => {
    const pull_number = await openPromotion(sandbox);
    const moved = await sandbox.gh.pushCommit('develop', {
      message: 'One more thing',
      files: { 'NOTES.md': 'x\n' },
    });
    const error = await requestError(
      sandbox.octokit.rest.pulls.merge({
        ...base,
        pull_number,
        sha: sandbox.developSha,
        request: { retries: 0 },
      }),
    );
    expect(error.status).toBe(409);
    expect(error.message).toContain('Head branch was modified. Review and try the merge again.');
    expect(await gitIn(sandbox.repoDir, 'rev-parse', 'refs/heads/main')).toBe(sandbox.mainSha);
    const pull = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
    expect(pull.data.head.sha).toBe(moved);
    const merges = sandbox.gh
      .requests()
      .filter((r) => r.route === 'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge');
    expect(merges.map((r) => r.status)).toEqual([409]);
  });

  it('answers 405 on a conflict and leaves main alone', async () => {
    const pull_number = await openPromotion(sandbox);
    const conflicting = await sandbox.gh.pushCommit('main', {
      message: 'Change the README on main',
      files: { 'README.md': '# acme app, edited on main\n' },
    });
    const error = await requestError(
      sandbox.octokit.rest.pulls.merge({ ...base, pull_number, merge_method: 'merge' }),
    );
    expect(error.status).toBe(405);
    expect(error.message).toContain('Pull Request is not mergeable');
    expect(await gitIn(sandbox.repoDir, 'rev-parse', 'refs/heads/main')).toBe(conflicting);
  });

  it('runs a check plan: pending at once, then success or failure; blocked until green when main’s protection requires them', async () => {
    sandbox.gh.setBranchProtection('main', {
      required_status_checks: { strict: false, contexts: ['build', 'ci/legacy'] },
      enforce_admins: true,
      required_pull_request_reviews: null,
      restrictions: null,
    });
    // Long enough that the checks still run while the test looks at them pending and blocked,
    // on a busy machine too (1 s was over before the first look under load).
    await sandbox.gh.setDefaultCheckPlan([
      { name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 4000 },
      { name: 'ci/legacy', kind: 'status', conclusion: 'success', afterMs: 4000 },
    ]);
    const pull_number = await openPromotion(sandbox);
    const ref = sandbox.developSha;
    const runs = await eventually(async () => {
      const { data } = await sandbox.octokit.rest.checks.listForRef({ ...base, ref });
      return data.total_count > 0 ? data : undefined;
    });
    expect(runs.check_runs[0]).toMatchObject({ name: 'build', status: 'in_progress', conclusion: null });
    const pending = await sandbox.octokit.rest.repos.getCombinedStatusForRef({ ...base, ref });
    expect(pending.data).toMatchObject({ state: 'pending', total_count: 1 });
    await settledPull(sandbox, pull_number);
    const blocked = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
    expect(blocked.data.mergeable_state).toBe('blocked');
    const early = await requestError(sandbox.octokit.rest.pulls.merge({ ...base, pull_number }));
    expect(early.status).toBe(405);

    const done = await eventually(async () => {
      const { data } = await sandbox.octokit.rest.checks.listForRef({ ...base, ref });
      return data.check_runs[0]?.status === 'completed' ? data.check_runs[0] : undefined;
    }, 20_000);
    expect(done.conclusion).toBe('success');
    const combined = await eventually(async () => {
      const { data } = await sandbox.octokit.rest.repos.getCombinedStatusForRef({ ...base, ref });
      return data.state === 'success' ? data : undefined;
    }, 20_000);
    expect(combined.statuses.map((s) => [s.context, s.state])).toEqual([['ci/legacy', 'success']]);
    const suites = await sandbox.octokit.rest.checks.listSuitesForRef({ ...base, ref });
    expect(suites.data.check_suites[0]).toMatchObject({ status: 'completed', conclusion: 'success' });
    const clean = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
    expect(clean.data.mergeable_state).toBe('clean');

    await sandbox.gh.setCheckPlan(sandbox.mainSha, [
      { name: 'build', kind: 'check_run', conclusion: 'failure', afterMs: 30 },
    ]);
    const failed = await eventually(async () => {
      const { data } = await sandbox.octokit.rest.checks.listForRef({ ...base, ref: sandbox.mainSha });
      return data.check_runs[0]?.status === 'completed' ? data.check_runs[0] : undefined;
    });
    expect(failed.conclusion).toBe('failure');
  });

  it('without branch protection no check is required: a red or running check only makes it unstable, and GitHub merges it', async () => {
    const { octokit, gh } = sandbox;
    const { data: branch } = await octokit.rest.repos.getBranch({ ...base, branch: 'main' });
    expect(branch.protected).toBe(false);
    await gh.setDefaultCheckPlan([{ name: 'build', kind: 'check_run', conclusion: 'failure', afterMs: 0 }]);
    const pull_number = await openPromotion(sandbox);
    await eventually(async () => {
      const { data } = await octokit.rest.checks.listForRef({ ...base, ref: sandbox.developSha });
      return data.check_runs[0]?.conclusion === 'failure' || undefined;
    });
    expect((await settledPull(sandbox, pull_number)).mergeable_state).toBe('unstable');
    const { data } = await octokit.rest.pulls.merge({ ...base, pull_number, sha: sandbox.developSha });
    expect(data.merged).toBe(true);

    // GET /branches/{branch} shows the protection too.
    gh.setBranchProtection('main', {
      required_status_checks: { strict: true, contexts: ['build'] },
      enforce_admins: false,
      required_pull_request_reviews: null,
      restrictions: null,
    });
    const { data: protectedMain } = await octokit.rest.repos.getBranch({ ...base, branch: 'main' });
    expect(protectedMain).toMatchObject({
      protected: true,
      protection: {
        enabled: true,
        required_status_checks: { contexts: ['build'], enforcement_level: 'non_admins' },
      },
    });
  });

  it('finishes a check on demand and takes commit statuses from CI', async () => {
    const ref = sandbox.developSha;
    await sandbox.gh.setCheckPlan(ref, [
      { name: 'e2e', kind: 'check_run', conclusion: 'success', afterMs: 60_000 },
    ]);
    await sandbox.gh.completeCheck(ref, 'e2e', 'timed_out');
    const { data } = await sandbox.octokit.rest.checks.listForRef({ ...base, ref });
    expect(data.check_runs[0]).toMatchObject({ status: 'completed', conclusion: 'timed_out' });

    await sandbox.octokit.rest.repos.createCommitStatus({
      ...base,
      sha: ref,
      state: 'pending',
      context: 'deploy/preview',
    });
    await sandbox.octokit.rest.repos.createCommitStatus({
      ...base,
      sha: ref,
      state: 'failure',
      context: 'deploy/preview',
    });
    const combined = await sandbox.octokit.rest.repos.getCombinedStatusForRef({ ...base, ref });
    expect(combined.data).toMatchObject({ state: 'failure', total_count: 1 });
    const all = await sandbox.octokit.rest.repos.listCommitStatusesForRef({ ...base, ref });
    expect(all.data.map((s) => s.state)).toEqual(['failure', 'pending']);
  });

  it('answers 304 to a matching If-None-Match without charging the rate limit', async () => {
    const first = await sandbox.octokit.rest.repos.getBranch({ ...base, branch: 'main' });
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^W\/"/);
    const remaining = Number(first.headers['x-ratelimit-remaining']);
    const notModified = await requestError(
      sandbox.octokit.rest.repos.getBranch({ ...base, branch: 'main', headers: { 'if-none-match': etag } }),
    );
    expect(notModified.status).toBe(304);
    expect(Number(notModified.response?.headers['x-ratelimit-remaining'])).toBe(remaining);
    const after = await sandbox.octokit.rest.repos.getBranch({ ...base, branch: 'main' });
    expect(Number(after.headers['x-ratelimit-remaining'])).toBe(remaining - 1);
    expect(after.headers).toMatchObject({ 'x-ratelimit-limit': '5000', 'x-ratelimit-resource': 'core' });
    expect(after.headers['x-github-request-id']).toBeTruthy();
    const log = sandbox.gh
      .requests()
      .filter((r) => r.route === 'GET /repos/{owner}/{repo}/branches/{branch}');
    // The log says which requests cost a point: what the bench counts while CI runs.
    expect(log.map((r) => [r.status, r.conditional, r.charged])).toEqual([
      [200, false, true],
      [304, true, false],
      [200, false, true],
    ]);
    // Moving the branch changes the ETag.
    await sandbox.gh.pushCommit('main', { message: 'Touch', files: { 'TOUCH.md': '1\n' } });
    const moved = await sandbox.octokit.rest.repos.getBranch({
      ...base,
      branch: 'main',
      headers: { 'if-none-match': etag },
    });
    expect(moved.status).toBe(200);
  });

  it('injects primary and secondary rate limits, 5xx and hangs on a route', async () => {
    const route = 'GET /repos/{owner}/{repo}/pulls/{pull_number}';
    const pull_number = await openPromotion(sandbox);
    sandbox.gh.injectFault({ route, kind: 'primary-rate-limit' });
    const primary = await requestError(sandbox.octokit.rest.pulls.get({ ...base, pull_number }));
    expect(primary.status).toBe(403);
    expect(primary.response?.headers['x-ratelimit-remaining']).toBe('0');
    expect(primary.message).toContain('API rate limit exceeded for');

    sandbox.gh.injectFault({ route, kind: 'secondary-rate-limit', status: 429, retryAfter: 60 });
    const secondary = await requestError(sandbox.octokit.rest.pulls.get({ ...base, pull_number }));
    expect(secondary.status).toBe(429);
    expect(secondary.response?.headers['retry-after']).toBe('60');
    expect(secondary.message).toContain('You have exceeded a secondary rate limit');

    sandbox.gh.injectFault({ route, kind: '5xx', times: 2, status: 503 });
    for (let i = 0; i < 2; i++) {
      expect((await requestError(sandbox.octokit.rest.pulls.get({ ...base, pull_number }))).status).toBe(503);
    }
    expect((await sandbox.octokit.rest.pulls.get({ ...base, pull_number })).status).toBe(200);

    sandbox.gh.injectFault({ route: 'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge', kind: 'hang' });
    const hung = await requestError(
      sandbox.octokit.rest.pulls.merge({
        ...base,
        pull_number,
        request: { signal: AbortSignal.timeout(200) },
      }),
    );
    expect(hung.status).toBe(500);
    expect(await gitIn(sandbox.repoDir, 'rev-parse', 'refs/heads/main')).toBe(sandbox.mainSha);
    expect(() => sandbox.gh.injectFault({ route: 'GET /nowhere', kind: '5xx' })).toThrow(/no route/);
  });

  it('performs a request and then loses its answer: a 502 or a hang after the work was done', async () => {
    const pull_number = await openPromotion(sandbox);
    const merge = 'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge';
    sandbox.gh.injectFault({ route: merge, kind: '5xx', performed: true });
    const lost = await requestError(sandbox.octokit.rest.pulls.merge({ ...base, pull_number }));
    expect(lost.status).toBe(502);
    const { data: merged } = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
    expect(merged.merged).toBe(true);
    expect(await gitIn(sandbox.repoDir, 'rev-parse', 'refs/heads/main')).toBe(merged.merge_commit_sha);

    sandbox.gh.injectFault({
      route: 'POST /repos/{owner}/{repo}/deployments',
      kind: 'hang',
      performed: true,
    });
    const hung = await requestError(
      sandbox.octokit.rest.repos.createDeployment({
        ...base,
        ref: 'main',
        environment: 'production',
        payload: { lugh: { promotionId: 7 } },
        required_contexts: [],
        request: { signal: AbortSignal.timeout(200) },
      }),
    );
    expect(hung.status).toBe(500);
    const { data: deployments } = await sandbox.octokit.rest.repos.listDeployments({
      ...base,
      environment: 'production',
    });
    expect(deployments.map((d) => d.payload)).toEqual([{ lugh: { promotionId: 7 } }]);

    // `after` lets the first matching requests through; a refused request stays refused.
    sandbox.gh.injectFault({
      route: 'POST /repos/{owner}/{repo}/releases',
      kind: '5xx',
      performed: true,
      after: 1,
    });
    await sandbox.octokit.rest.repos.createRelease({ ...base, tag_name: 'v1.0.0' });
    expect(
      (await requestError(sandbox.octokit.rest.repos.createRelease({ ...base, tag_name: 'v1.1.0' }))).status,
    ).toBe(502);
    const { data: release } = await sandbox.octokit.rest.repos.getReleaseByTag({ ...base, tag: 'v1.1.0' });
    expect(release.tag_name).toBe('v1.1.0');
    expect(
      (await requestError(sandbox.octokit.rest.repos.getReleaseByTag({ ...base, tag: 'v2.0.0' }))).status,
    ).toBe(404);
    const statuses = sandbox.gh
      .requests()
      .filter((r) => r.method !== 'GET')
      .map((r) => `${r.route} ${r.status}`);
    expect(statuses).toEqual([
      'POST /repos/{owner}/{repo}/pulls 201',
      `${merge} 502`,
      'POST /repos/{owner}/{repo}/deployments 0',
      'POST /repos/{owner}/{repo}/releases 201',
      'POST /repos/{owner}/{repo}/releases 502',
    ]);
    expect(() =>
      sandbox.gh.injectFault({ route: merge, kind: 'primary-rate-limit', performed: true }),
    ).toThrow(/only a 5xx or a hang/);
  });

  it('serves stale reads after a merge, as lagging replicas do: still open and mergeable, then merged', async () => {
    const route = 'GET /repos/{owner}/{repo}/pulls/{pull_number}';
    const merge = 'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge';
    const pull_number = await openPromotion(sandbox);
    const open = await settledPull(sandbox, pull_number);
    // Armed before the merge: reads with nothing older to serve pass and do not use it up.
    sandbox.gh.injectFault({ route, kind: 'stale', times: 2 });
    expect((await sandbox.octokit.rest.pulls.get({ ...base, pull_number })).data.merged).toBe(false);
    const { data: merged } = await sandbox.octokit.rest.pulls.merge({
      ...base,
      pull_number,
      sha: sandbox.developSha,
    });
    for (let i = 0; i < 2; i++) {
      const { data: stale } = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
      expect(stale).toMatchObject({
        state: 'open',
        merged: false,
        merge_commit_sha: null,
        mergeable: true,
        head: { sha: sandbox.developSha },
        base: { sha: open.base.sha },
      });
      // Meanwhile the write is real: main moved, and merging again is refused as on GitHub.
      expect(await gitIn(sandbox.repoDir, 'rev-parse', 'refs/heads/main')).toBe(merged.sha);
      const again = await requestError(
        sandbox.octokit.rest.pulls.merge({ ...base, pull_number, sha: sandbox.developSha }),
      );
      expect(again.status).toBe(405);
      expect(again.response?.data).toMatchObject({ message: 'Pull Request is not mergeable' });
    }
    const { data: caughtUp } = await sandbox.octokit.rest.pulls.get({ ...base, pull_number });
    expect(caughtUp).toMatchObject({ state: 'closed', merged: true, merge_commit_sha: merged.sha });
    expect(
      sandbox.gh
        .requests()
        .filter((r) => r.route === route || r.route === merge)
        .map((r) => `${r.method} ${r.status}`)
        .slice(-6),
    ).toEqual(['PUT 200', 'GET 200', 'PUT 405', 'GET 200', 'PUT 405', 'GET 200']);

    // Only reads can be stale, and only reads that have an older state.
    expect(() => sandbox.gh.injectFault({ route: merge, kind: 'stale' })).toThrow(/no stale reads/);
    expect(() => sandbox.gh.injectFault({ route: 'GET /repos/{owner}/{repo}', kind: 'stale' })).toThrow(
      /no stale reads/,
    );
  });

  it('refuses a bad token with 401 and unknown things with 404', async () => {
    const bad = await requestError(octokitFor(sandbox.gh, 'ghs_wrong').rest.repos.get(base));
    expect(bad.status).toBe(401);
    expect(bad.message).toContain('Bad credentials');
    const missing = await requestError(sandbox.octokit.rest.repos.get({ owner: 'acme', repo: 'other' }));
    expect(missing.status).toBe(404);
    expect(missing.response?.data).toMatchObject({ message: 'Not Found' });
    const unknown = await requestError(sandbox.octokit.request('GET /repos/{owner}/{repo}/issues', base));
    expect(unknown.status).toBe(404);
    const pull = await requestError(sandbox.octokit.rest.pulls.get({ ...base, pull_number: 99 }));
    expect(pull.status).toBe(404);
  });

  it('tags, releases and generated notes', async () => {
    const pull_number = await openPromotion(sandbox);
    await sandbox.octokit.rest.git.createRef({ ...base, ref: 'refs/tags/v1.0.0', sha: sandbox.mainSha });
    const exists = await requestError(
      sandbox.octokit.rest.git.createRef({ ...base, ref: 'refs/tags/v1.0.0', sha: sandbox.mainSha }),
    );
    expect(exists.status).toBe(422);
    await sandbox.octokit.rest.repos.createRelease({ ...base, tag_name: 'v1.0.0', name: 'v1.0.0' });
    const { data: merged } = await sandbox.octokit.rest.pulls.merge({
      ...base,
      pull_number,
      merge_method: 'squash',
    });

    const notes = await sandbox.octokit.rest.repos.generateReleaseNotes({
      ...base,
      tag_name: 'v1.1.0',
      target_commitish: merged.sha,
    });
    expect(notes.data.name).toBe('v1.1.0');
    expect(notes.data.body).toContain(
      `* Promote develop by @lugh-sandbox[bot] in ${sandbox.gh.apiUrl}/acme/app/pull/1`,
    );
    expect(notes.data.body).toContain('**Full Changelog**: ');
    expect(notes.data.body).toContain('/compare/v1.0.0...v1.1.0');

    const { data: release } = await sandbox.octokit.rest.repos.createRelease({
      ...base,
      tag_name: 'v1.1.0',
      target_commitish: merged.sha,
      name: notes.data.name,
      body: notes.data.body,
    });
    expect(release.tag_name).toBe('v1.1.0');
    expect(await gitIn(sandbox.repoDir, 'rev-parse', 'refs/tags/v1.1.0^{commit}')).toBe(merged.sha);
    const latest = await sandbox.octokit.rest.repos.getLatestRelease(base);
    expect(latest.data.id).toBe(release.id);
    const list = await sandbox.octokit.rest.repos.listReleases(base);
    expect(list.data.map((r) => r.tag_name)).toEqual(['v1.1.0', 'v1.0.0']);
    const tags = await sandbox.octokit.rest.repos.listTags(base);
    expect(tags.data.map((t) => t.name).sort()).toEqual(['v1.0.0', 'v1.1.0']);
  });

  it('latest release is 404 when there is none', async () => {
    const none = await requestError(sandbox.octokit.rest.repos.getLatestRelease(base));
    expect(none.status).toBe(404);
  });

  it('deployments and their statuses; a newer success retires the older one', async () => {
    const create = (ref: string) =>
      sandbox.octokit.rest.repos.createDeployment({
        ...base,
        ref,
        environment: 'production',
        auto_merge: false,
        required_contexts: [],
      });
    const first = await create(sandbox.mainSha);
    if (!('id' in first.data)) throw new Error('no deployment');
    const firstId = first.data.id;
    await sandbox.octokit.rest.repos.createDeploymentStatus({
      ...base,
      deployment_id: firstId,
      state: 'success',
    });
    const second = await create(sandbox.developSha);
    if (!('id' in second.data)) throw new Error('no deployment');
    expect(second.data).toMatchObject({
      sha: sandbox.developSha,
      environment: 'production',
      production_environment: true,
    });
    await sandbox.octokit.rest.repos.createDeploymentStatus({
      ...base,
      deployment_id: second.data.id,
      state: 'in_progress',
    });
    await sandbox.octokit.rest.repos.createDeploymentStatus({
      ...base,
      deployment_id: second.data.id,
      state: 'success',
      description: 'healthy',
    });
    const statuses = await sandbox.octokit.rest.repos.listDeploymentStatuses({
      ...base,
      deployment_id: second.data.id,
    });
    expect(statuses.data.map((s) => s.state)).toEqual(['success', 'in_progress']);
    const retired = await sandbox.octokit.rest.repos.listDeploymentStatuses({
      ...base,
      deployment_id: firstId,
    });
    expect(retired.data.map((s) => s.state)).toEqual(['inactive', 'success']);
    const list = await sandbox.octokit.rest.repos.listDeployments({ ...base, environment: 'production' });
    expect(list.data.map((d) => d.id)).toEqual([second.data.id, firstId]);

    // Without required_contexts: [] GitHub insists on green checks.
    await sandbox.octokit.rest.repos.createCommitStatus({
      ...base,
      sha: sandbox.mainSha,
      state: 'failure',
      context: 'ci',
    });
    const refused = await requestError(
      sandbox.octokit.rest.repos.createDeployment({ ...base, ref: sandbox.mainSha, auto_merge: false }),
    );
    expect(refused.status).toBe(409);
  });

  it('redirects a tarball download to a gzip tar with the Dockerfile under the prefix', async () => {
    const manual = await fetch(`${sandbox.gh.apiUrl}/repos/acme/app/tarball/main`, {
      headers: { authorization: 'token ghs_sandboxtoken' },
      redirect: 'manual',
    });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toContain('/legacy.tar.gz/');
    const { data, status } = await sandbox.octokit.rest.repos.downloadTarballArchive({
      ...base,
      ref: 'main',
    });
    expect(status).toBe(200);
    const entries = tarEntries(gunzipSync(Buffer.from(data as ArrayBuffer)));
    const prefix = `acme-app-${sandbox.mainSha.slice(0, 7)}`;
    expect(entries).toContain(`${prefix}/Dockerfile`);
    expect(entries).toContain(`${prefix}/server.js`);
  });

  it('seeds a deployable app: the Dockerfile takes BASE_IMAGE and server.js serves /healthz and /version', async () => {
    const dockerfile = await gitIn(sandbox.repoDir, 'show', 'main:Dockerfile');
    expect(dockerfile).toContain('ARG BASE_IMAGE=node:20-bookworm-slim');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ${} syntax
    expect(dockerfile).toContain('FROM ${BASE_IMAGE}');
    const server = await gitIn(sandbox.repoDir, 'show', 'develop:server.js');
    expect(server).toContain("'/healthz'");
    expect(server).toContain("'/version'");
    expect(server).toContain('process.env.PORT');
    expect(server).toContain("process.on('SIGTERM'");
    expect(await gitIn(sandbox.repoDir, 'rev-list', '--count', 'main..develop')).toBe('3');
  });
});
