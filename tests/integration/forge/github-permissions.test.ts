// What lugh tells people when GitHub refuses its token, against a stand-in whose token is as
// strict as GitHub's: a bare 403 secondary rate limit, a missing permission (named by the
// X-Accepted-GitHub-Permissions header), and a merge of workflow changes without `workflows`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessDeniedError, RateLimitedError } from '../../../src/forge/errors.js';
import type { Forge } from '../../../src/forge/forge.js';
import { createGitHubClient } from '../../../src/forge/github/github-client.js';
import { createGitHubForge } from '../../../src/forge/github/github-forge.js';
import { describeForgeProblem, forgeProblemOf } from '../../../src/promotion/policy.js';
import { DEFAULT_PERMISSIONS } from '../../../src/sandbox/github/index.js';
import { silentLogger } from '../../helpers/logger.js';
import { repoParams as base, type Sandbox, startSandbox, TOKEN } from '../sandbox/github/fixture.js';

/** What the chat and the audit log say about a forge failure. */
function told(error: unknown): string {
  const problem = forgeProblemOf(error);
  if (!problem) throw error;
  return describeForgeProblem(problem);
}

describe('GitHub refusals, named', () => {
  let sandbox: Sandbox;
  let forge: Forge;
  beforeAll(async () => {
    sandbox = await startSandbox();
    const client = createGitHubClient({
      token: TOKEN,
      apiUrl: sandbox.gh.apiUrl,
      logger: silentLogger,
      resilient: false,
    });
    forge = createGitHubForge(client, { owner: base.owner, name: base.repo });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('a bare 403 secondary rate limit is named as one, with a wait of at least a minute', async () => {
    sandbox.gh.injectFault({
      route: 'GET /repos/{owner}/{repo}/branches/{branch}',
      kind: 'secondary-rate-limit',
    });
    const before = Date.now();
    const error = await forge.branchSha('main').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).resetAt.getTime()).toBeGreaterThanOrEqual(before + 60_000);
    expect(told(error)).toMatch(/secondary rate limit/);
    expect(told(error)).not.toMatch(/token/);
  });

  it('a missing permission is named from X-Accepted-GitHub-Permissions, with the access it needs', async () => {
    sandbox.gh.setTokenGrant({
      kind: 'installation',
      permissions: { ...DEFAULT_PERMISSIONS, deployments: 'read' },
    });
    const error = await forge
      .createDeployment(sandbox.mainSha, 'production', 'test')
      .catch((e: unknown) => e);
    sandbox.gh.setTokenGrant({ kind: 'installation' });
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(told(error)).toContain('Deployments: read and write');
  });

  it('merging changes under .github/workflows without the workflows permission names that permission', async () => {
    await sandbox.gh.pushCommit('develop', {
      message: 'CI',
      files: { '.github/workflows/ci.yml': 'on: push\n' },
    });
    const opened = await forge.openOrReusePull('main', 'develop', 'Promote', '');
    sandbox.gh.setTokenGrant({
      kind: 'installation',
      permissions: { ...DEFAULT_PERMISSIONS, workflows: 'read' },
    });
    const error = await forge
      .merge(opened.pull.number, { sha: opened.pull.headSha, method: 'merge' })
      .catch((e: unknown) => e);
    sandbox.gh.setTokenGrant({ kind: 'installation' });
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(told(error)).toContain('Workflows: read and write');
    expect(told(error)).toContain('.github/workflows/ci.yml');
  });
});
