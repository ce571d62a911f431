import { RequestError } from 'octokit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PERMISSIONS } from '../../../../src/sandbox/github/index.js';
import { loadGitHubOpenApi, type OpenApiValidator } from '../../../helpers/openapi.js';
import { repoParams as base, eventually, type Sandbox, startSandbox } from './fixture.js';

const FULL_GRANT = {
  kind: 'installation',
  permissions: { ...DEFAULT_PERMISSIONS, administration: 'write', repository_hooks: 'write' },
} as const;

interface Seen {
  readonly route: string;
  readonly status: number;
  readonly body: unknown;
}

/** Every route the stand-in declares, answered and checked against GitHub's published description. */
describe('GitHub stand-in against @octokit/openapi (api.github.com)', () => {
  let sandbox: Sandbox;
  let openapi: OpenApiValidator;
  const seen: Seen[] = [];

  beforeAll(async () => {
    openapi = loadGitHubOpenApi();
    // The token may also change protection and hooks (Administration and Webhooks: write).
    sandbox = await startSandbox({ tokenGrant: FULL_GRANT });
    const { octokit } = sandbox;
    octokit.hook.wrap('request', async (request, options) => {
      const route = `${options.method} ${options.url}`;
      try {
        const response = await request(options);
        seen.push({ route, status: response.status, body: response.data });
        return response;
      } catch (error) {
        if (error instanceof RequestError)
          seen.push({ route, status: error.status, body: error.response?.data });
        throw error;
      }
    });
    const ignore = (call: Promise<unknown>) =>
      call.catch((e: unknown) => (e instanceof RequestError ? e : Promise.reject(e)));
    const { mainSha, developSha } = sandbox;

    await octokit.rest.repos.get(base);
    await ignore(octokit.rest.repos.get({ owner: 'acme', repo: 'missing' }));
    await octokit.rest.repos.getBranch({ ...base, branch: 'develop' });
    await ignore(octokit.rest.repos.getBranch({ ...base, branch: 'nope' }));
    // Protection on develop, which the pull request below merges from, so that it changes nothing there.
    await ignore(octokit.rest.repos.getBranchProtection({ ...base, branch: 'develop' }));
    await ignore(
      octokit.rest.repos.updateBranchProtection({
        ...base,
        branch: 'develop',
        required_status_checks: { strict: true, contexts: ['build'] },
        enforce_admins: true,
      } as never),
    );
    await octokit.rest.repos.updateBranchProtection({
      ...base,
      branch: 'develop',
      required_status_checks: { strict: true, contexts: ['build'] },
      enforce_admins: true,
      required_pull_request_reviews: { required_approving_review_count: 1 },
      restrictions: null,
    });
    await octokit.rest.repos.getBranchProtection({ ...base, branch: 'develop' });
    await octokit.rest.git.getRef({ ...base, ref: 'heads/develop' });
    await ignore(octokit.rest.git.getRef({ ...base, ref: 'heads/nope' }));
    await octokit.rest.repos.getCommit({ ...base, ref: developSha });
    await ignore(octokit.rest.repos.getCommit({ ...base, ref: 'nope' }));
    await octokit.rest.git.getCommit({ ...base, commit_sha: developSha });
    await ignore(octokit.rest.git.getCommit({ ...base, commit_sha: 'develop' }));
    await octokit.rest.repos.compareCommitsWithBasehead({ ...base, basehead: 'main...develop' });
    await ignore(octokit.rest.repos.compareCommitsWithBasehead({ ...base, basehead: 'main...nope' }));

    await sandbox.gh.setCheckPlan(developSha, [
      { name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 0 },
      { name: 'ci/legacy', kind: 'status', conclusion: 'success', afterMs: 0 },
    ]);
    const { data: pr } = await octokit.rest.pulls.create({
      ...base,
      base: 'main',
      head: 'develop',
      title: 'Promote',
    });
    await ignore(octokit.rest.pulls.create({ ...base, base: 'main', head: 'develop', title: 'again' }));
    await octokit.rest.pulls.list({ ...base, head: 'acme:develop' });
    await octokit.rest.pulls.get({ ...base, pull_number: pr.number });
    await ignore(octokit.rest.pulls.get({ ...base, pull_number: 404 }));
    await octokit.rest.checks.listForRef({ ...base, ref: developSha });
    await octokit.rest.checks.listSuitesForRef({ ...base, ref: developSha });
    await octokit.rest.repos.listCommitStatusesForRef({ ...base, ref: developSha });
    await eventually(
      async () =>
        (await octokit.rest.repos.getCombinedStatusForRef({ ...base, ref: developSha })).data.state ===
        'success',
    );
    await eventually(
      async () =>
        (await octokit.rest.pulls.get({ ...base, pull_number: pr.number })).data.mergeable_state === 'clean',
    );
    await octokit.rest.repos.createCommitStatus({
      ...base,
      sha: developSha,
      state: 'success',
      context: 'extra',
    });
    await ignore(octokit.rest.pulls.merge({ ...base, pull_number: pr.number, sha: mainSha }));
    await octokit.rest.pulls.merge({
      ...base,
      pull_number: pr.number,
      sha: developSha,
      merge_method: 'squash',
    });
    await ignore(octokit.rest.pulls.merge({ ...base, pull_number: pr.number }));
    // A lagging read of the merged pull request: its state from before the merge.
    sandbox.gh.injectFault({ route: 'GET /repos/{owner}/{repo}/pulls/{pull_number}', kind: 'stale' });
    const stale = await octokit.rest.pulls.get({ ...base, pull_number: pr.number });
    expect(stale.data).toMatchObject({ state: 'open', merged: false });
    await octokit.rest.pulls.update({ ...base, pull_number: pr.number, body: 'Shipped.' });
    // After the squash, develop lacks main's new commit: reviews, then bring develop up to date.
    const { data: next } = await octokit.rest.pulls.create({
      ...base,
      base: 'main',
      head: 'develop',
      title: 'Next',
    });
    await octokit.rest.pulls.createReview({
      ...base,
      pull_number: next.number,
      event: 'COMMENT',
      body: 'Seen.',
    });
    await ignore(octokit.rest.pulls.createReview({ ...base, pull_number: next.number, event: 'APPROVE' }));
    await octokit.rest.pulls.listReviews({ ...base, pull_number: next.number });
    // The pull request's conversation (issue comments): the one comment previews edit in place.
    const { data: comment } = await octokit.rest.issues.createComment({
      ...base,
      issue_number: next.number,
      body: '<!-- lugh:preview -->',
    });
    await ignore(octokit.rest.issues.createComment({ ...base, issue_number: next.number } as never));
    await ignore(octokit.rest.issues.createComment({ ...base, issue_number: 404, body: 'x' }));
    await octokit.rest.issues.listComments({ ...base, issue_number: next.number });
    await octokit.rest.issues.getComment({ ...base, comment_id: comment.id });
    await octokit.rest.issues.updateComment({ ...base, comment_id: comment.id, body: 'edited' });
    await octokit.rest.issues.deleteComment({ ...base, comment_id: comment.id });
    await ignore(octokit.rest.issues.getComment({ ...base, comment_id: comment.id }));
    await ignore(octokit.rest.issues.updateComment({ ...base, comment_id: comment.id, body: 'gone' }));
    await octokit.rest.pulls.updateBranch({ ...base, pull_number: next.number });
    await sandbox.gh.settled();
    await ignore(octokit.rest.pulls.updateBranch({ ...base, pull_number: next.number }));
    await octokit.rest.git.createRef({ ...base, ref: 'refs/heads/side', sha: mainSha });
    await octokit.rest.repos.merge({ ...base, base: 'side', head: 'develop' });
    await octokit.rest.repos.merge({ ...base, base: 'side', head: 'develop' });
    await octokit.rest.git.updateRef({ ...base, ref: 'heads/side', sha: mainSha, force: true });
    await octokit.rest.git.updateRef({ ...base, ref: 'heads/side', sha: developSha });
    await ignore(octokit.rest.git.updateRef({ ...base, ref: 'heads/side', sha: mainSha }));

    await octokit.rest.git.createRef({ ...base, ref: 'refs/tags/v0.9.0', sha: mainSha });
    await ignore(octokit.rest.git.createRef({ ...base, ref: 'refs/tags/v0.9.0', sha: mainSha }));
    await octokit.rest.repos.listTags(base);
    await ignore(octokit.rest.repos.getLatestRelease(base));
    await octokit.rest.repos.createRelease({ ...base, tag_name: 'v0.9.0', name: 'v0.9.0' });
    await ignore(octokit.rest.repos.createRelease({ ...base, tag_name: 'v0.9.0' }));
    const notes = await octokit.rest.repos.generateReleaseNotes({
      ...base,
      tag_name: 'v1.0.0',
      target_commitish: 'main',
    });
    await octokit.rest.repos.createRelease({ ...base, tag_name: 'v1.0.0', body: notes.data.body });
    await octokit.rest.repos.getLatestRelease(base);
    await octokit.rest.repos.listReleases(base);
    await octokit.rest.repos.getReleaseByTag({ ...base, tag: 'v1.0.0' });
    await ignore(octokit.rest.repos.getReleaseByTag({ ...base, tag: 'v9.9.9' }));

    const deployment = await octokit.rest.repos.createDeployment({
      ...base,
      ref: 'main',
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
    });
    await ignore(octokit.rest.repos.createDeployment({ ...base, ref: 'nope' }));
    const deployment_id = 'id' in deployment.data ? deployment.data.id : 0;
    await octokit.rest.repos.listDeployments(base);
    await octokit.rest.repos.getDeployment({ ...base, deployment_id });
    await ignore(octokit.rest.repos.getDeployment({ ...base, deployment_id: 1 }));
    await octokit.rest.repos.createDeploymentStatus({
      ...base,
      deployment_id,
      state: 'success',
      log_url: 'https://ci.example/1',
    });
    await ignore(
      octokit.rest.repos.createDeploymentStatus({ ...base, deployment_id, state: 'bogus' as never }),
    );
    await octokit.rest.repos.listDeploymentStatuses({ ...base, deployment_id });
    await ignore(octokit.rest.repos.listDeploymentStatuses({ ...base, deployment_id: 1 }));
    await octokit.rest.rateLimit.get();

    const { data: hook } = await octokit.rest.repos.createWebhook({
      ...base,
      config: { url: 'http://127.0.0.1:9/hook', content_type: 'json' },
    });
    await ignore(octokit.rest.repos.createWebhook({ ...base, config: { url: 'not a url' } }));
    await octokit.rest.repos.listWebhooks(base);
    await sandbox.gh.settled();
    await octokit.rest.repos.listWebhookDeliveries({ ...base, hook_id: hook.id });
    await octokit.rest.apps.listReposAccessibleToInstallation();
    await ignore(octokit.rest.users.getAuthenticated());
    sandbox.gh.setTokenGrant({ kind: 'fine-grained' });
    await octokit.rest.users.getAuthenticated();
    await ignore(octokit.rest.apps.listReposAccessibleToInstallation());
    sandbox.gh.setTokenGrant(FULL_GRANT);

    // A file's contents: JSON (base64) by default, the bytes themselves
    // for the raw media type (no JSON to check), and GitHub's 404 for a path the commit lacks.
    await octokit.rest.repos.getContent({ ...base, path: 'package.json', ref: mainSha });
    const raw = await octokit.rest.repos.getContent({
      ...base,
      path: 'package.json',
      ref: mainSha,
      headers: { accept: 'application/vnd.github.raw+json' },
    });
    expect(typeof raw.data === 'string' && JSON.parse(raw.data).name).toBe('acme-app');
    await ignore(octokit.rest.repos.getContent({ ...base, path: 'lugh.yml', ref: mainSha }));
    await ignore(octokit.rest.repos.getContent({ ...base, path: 'package.json', ref: 'nope' }));

    // Octokit follows the tarball's redirect, so ask for the 302 itself as well.
    await octokit.rest.repos.downloadTarballArchive({ ...base, ref: 'main' });
    const redirect = await fetch(`${sandbox.gh.apiUrl}/repos/acme/app/tarball/main`, {
      headers: { authorization: 'Bearer ghs_sandboxtoken' },
      redirect: 'manual',
    });
    const text = await redirect.text();
    seen.push({
      route: 'GET /repos/{owner}/{repo}/tarball/{ref}',
      status: redirect.status,
      body: text === '' ? undefined : text,
    });
    await sandbox.gh.settled();
  }, 60_000);
  afterAll(async () => {
    await sandbox?.close();
  });

  it('rejects a body that does not match (the validator is not vacuous)', () => {
    expect(openapi.validateResponse('GET', '/repos/{owner}/{repo}', 200, { id: 'x' }).length).toBeGreaterThan(
      0,
    );
    expect(
      openapi.validateResponse('GET', '/repos/{owner}/{repo}/pulls/{pull_number}', 200, {}).length,
    ).toBeGreaterThan(0);
  });

  it('serves only operations GitHub describes, under their own paths', () => {
    for (const key of sandbox.gh.routes()) {
      const [method, path] = key.split(' ') as [string, string];
      expect(openapi.operationId(method, path), key).toBeDefined();
    }
  });

  it('exercised every declared route (adding a route without a check here fails)', () => {
    const declared = [...sandbox.gh.routes()].sort();
    const requested = [...new Set(sandbox.gh.requests().flatMap((r) => (r.route ? [r.route] : [])))].sort();
    expect(requested).toEqual(declared);
    const answeredOk = [
      ...new Set(seen.filter((s) => s.status >= 200 && s.status < 400).map((s) => s.route)),
    ].sort();
    expect(answeredOk).toEqual(declared);
  });

  it('answers bodies that validate against the schema of that operation and status', () => {
    const failures: string[] = [];
    const unchecked: string[] = [];
    for (const { route, status, body } of seen) {
      const [method, path] = route.split(' ') as [string, string];
      // The raw media type answers a file's own bytes, which no JSON schema describes.
      if (route === 'GET /repos/{owner}/{repo}/contents/{path}' && typeof body === 'string') continue;
      if (!openapi.hasResponseSchema(method, path, status)) {
        // No JSON to check: the tarball's 302 (and, followed, the archive itself from the download
        // host), and create-deployment's 409, for which GitHub's description gives no schema.
        const tarball = route === 'GET /repos/{owner}/{repo}/tarball/{ref}';
        const deployConflict = route === 'POST /repos/{owner}/{repo}/deployments' && status === 409;
        // Editing a deleted comment: GitHub answers 404 (its description lists only 200 and 422).
        const goneComment =
          route === 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}' && status === 404;
        if (body !== undefined && body !== '' && !tarball && !deployConflict && !goneComment) {
          unchecked.push(`${route} ${status}`);
        }
        continue;
      }
      const errors = openapi.validateResponse(method, path, status, body);
      if (errors.length > 0) failures.push(`${route} ${status}: ${errors.slice(0, 5).join('; ')}`);
    }
    expect(failures).toEqual([]);
    expect(unchecked).toEqual([]);
    // Error envelopes were among the checked answers.
    expect(seen.some((s) => s.status === 404)).toBe(true);
    expect(seen.some((s) => s.status === 422)).toBe(true);
    expect(seen.some((s) => s.status === 405)).toBe(true);
    expect(seen.some((s) => s.status === 409)).toBe(true);
  });
});
