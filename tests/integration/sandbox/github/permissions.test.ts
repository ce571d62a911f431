// The stand-in's token is as strict as GitHub's: each route needs its permission, a token
// without it gets GitHub's 403 naming what is accepted, merges of workflow changes need the
// workflows permission, and secondary rate limits may come as a bare 403.
import { RequestError } from 'octokit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PERMISSIONS } from '../../../../src/sandbox/github/index.js';
import { repoParams as base, type Sandbox, startSandbox } from './fixture.js';

async function requestError(call: Promise<unknown>): Promise<RequestError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RequestError)) throw new Error(`expected a RequestError, got ${String(error)}`);
  return error;
}

describe('GitHub stand-in: token permissions and secondary limits', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('names the permission each route needs, and refuses a token without it as GitHub does', async () => {
    const ok = await sandbox.octokit.rest.repos.listDeployments(base);
    expect(ok.headers['x-accepted-github-permissions']).toBe('deployments=read');
    sandbox.gh.setTokenGrant({
      kind: 'installation',
      permissions: { ...DEFAULT_PERMISSIONS, deployments: 'read' },
    });
    const refused = await requestError(
      sandbox.octokit.rest.repos.createDeployment({ ...base, ref: 'main', required_contexts: [] }),
    );
    expect(refused.status).toBe(403);
    expect(refused.response?.data).toMatchObject({ message: 'Resource not accessible by integration' });
    expect(refused.response?.headers['x-accepted-github-permissions']).toBe('deployments=write');
    sandbox.gh.setTokenGrant({ kind: 'fine-grained', permissions: { metadata: 'read' } });
    const pat = await requestError(sandbox.octokit.rest.repos.listTags(base));
    expect(pat.response?.data).toMatchObject({ message: 'Resource not accessible by personal access token' });
    expect(pat.response?.headers['x-accepted-github-permissions']).toBe('contents=read');
    sandbox.gh.setTokenGrant({ kind: 'installation' });
  });

  it('tells who the token is: a user for a personal token, the repositories for an App installation', async () => {
    expect((await requestError(sandbox.octokit.rest.users.getAuthenticated())).status).toBe(403);
    const { data } = await sandbox.octokit.rest.apps.listReposAccessibleToInstallation();
    expect(data.repositories.map((r) => r.full_name)).toEqual(['acme/app']);
    sandbox.gh.setTokenGrant({ kind: 'classic', scopes: ['repo'] });
    const user = await sandbox.octokit.rest.users.getAuthenticated();
    expect(user.data.login).toBe('lugh-deployer');
    expect(user.headers['x-oauth-scopes']).toBe('repo');
    sandbox.gh.setTokenGrant({ kind: 'installation' });
  });

  it('refuses to merge workflow changes without the workflows permission, naming the file', async () => {
    await sandbox.gh.pushCommit('develop', {
      message: 'CI: cache',
      files: { '.github/workflows/ci.yml': 'on: push\n' },
    });
    const { data: pr } = await sandbox.octokit.rest.pulls.create({
      ...base,
      base: 'main',
      head: 'develop',
      title: 'P',
    });
    sandbox.gh.setTokenGrant({
      kind: 'installation',
      permissions: { ...DEFAULT_PERMISSIONS, workflows: 'read' },
    });
    const refused = await requestError(sandbox.octokit.rest.pulls.merge({ ...base, pull_number: pr.number }));
    expect(refused.status).toBe(403);
    expect(refused.response?.data).toMatchObject({
      message:
        'refusing to allow a GitHub App to create or update workflow `.github/workflows/ci.yml` without `workflows` permission',
    });
    // The header names the merge route's own need, which the token holds: only the message tells.
    expect(refused.response?.headers['x-accepted-github-permissions']).toBe('contents=write');
    sandbox.gh.setTokenGrant({ kind: 'installation' });
  });

  it('answers a secondary rate limit as a bare 403 unless a retry-after is asked for', async () => {
    const route = 'GET /repos/{owner}/{repo}/tags';
    sandbox.gh.injectFault({ route, kind: 'secondary-rate-limit' });
    const bare = await requestError(sandbox.octokit.rest.repos.listTags(base));
    expect(bare.status).toBe(403);
    expect(bare.response?.headers['retry-after']).toBeUndefined();
    expect(bare.response?.headers['x-ratelimit-remaining']).not.toBe('0');
    expect(bare.message).toContain('You have exceeded a secondary rate limit');
    sandbox.gh.injectFault({ route, kind: 'secondary-rate-limit', retryAfter: 30 });
    expect(
      (await requestError(sandbox.octokit.rest.repos.listTags(base))).response?.headers['retry-after'],
    ).toBe('30');
  });
});
