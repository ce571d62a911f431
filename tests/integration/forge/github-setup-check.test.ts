// `lugh github check` against stand-in repositories set up right, and set up wrong in each
// way it reports: the token (refused, an App installation token, a classic token without
// the workflow scope), the repository, each permission lugh needs, main's protection, and
// the webhook (missing, inactive, unsigned, too few events, failing deliveries, unreadable).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../../src/forge/github/github-client.js';
import { checkGitHubSetup } from '../../../src/forge/github/setup-check.js';
import type { ForgeSetupReport, SetupFinding } from '../../../src/forge/setup-check.js';
import { DEFAULT_PERMISSIONS, type TokenGrant } from '../../../src/sandbox/github/index.js';
import { silentLogger } from '../../helpers/logger.js';
import {
  repoParams as base,
  type Sandbox,
  startReceiver,
  startSandbox,
  TOKEN,
} from '../sandbox/github/fixture.js';

const SECRET = 'the-webhook-secret-of-lugh';
/** A fine-grained token with everything lugh needs, and what the check reads with. */
const RIGHT: TokenGrant = { kind: 'fine-grained', permissions: DEFAULT_PERMISSIONS };

describe('lugh github check', () => {
  let sandbox: Sandbox;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const check = (options: { token?: string; repo?: string; webhookSecretSet?: boolean } = {}) =>
    checkGitHubSetup(
      createGitHubClient({
        token: options.token ?? TOKEN,
        apiUrl: sandbox.gh.apiUrl,
        logger: silentLogger,
        resilient: false,
      }),
      { owner: base.owner, name: options.repo ?? base.repo },
      { webhookSecretSet: options.webhookSecretSet ?? true },
    );
  const finding = (report: ForgeSetupReport, id: string): SetupFinding => {
    const found = report.findings.find((f) => f.id === id);
    if (!found) throw new Error(`no finding ${id} in ${report.findings.map((f) => f.id).join(', ')}`);
    return found;
  };
  const levels = (report: ForgeSetupReport) =>
    Object.fromEntries(report.findings.map((f) => [f.id, f.level]));

  beforeAll(async () => {
    receiver = await startReceiver(202);
    sandbox = await startSandbox({ webhook: { url: receiver.url, secret: SECRET, contentType: 'json' } });
    await sandbox.gh.pushCommit('develop', { message: 'Work', files: { 'W.md': 'w\n' } });
    await sandbox.gh.settled();
  });
  beforeEach(() => {
    sandbox.gh.setTokenGrant(RIGHT);
    sandbox.gh.setBranchProtection('main', null);
    receiver.setStatus(202);
  });
  afterAll(async () => {
    await sandbox?.close();
    await receiver?.close();
  });

  it('set up right: every permission present, main unprotected, the JSON hook delivering; nothing fails', async () => {
    const report = await check();
    expect(report.failed, JSON.stringify(report.findings, null, 1)).toBe(0);
    expect(levels(report)).toMatchObject({
      token: 'ok',
      repository: 'ok',
      'permission-contents': 'ok',
      'permission-pull_requests': 'ok',
      'permission-deployments': 'ok',
      'permission-checks': 'ok',
      'permission-statuses': 'ok',
      protection: 'ok',
      webhook: 'ok',
    });
    expect(finding(report, 'token').evidence).toBe('a fine-grained personal access token of lugh-deployer');
    expect(finding(report, 'webhook').evidence).toMatch(
      /content type JSON, events \*; recent deliveries, newest first: 202/,
    );
    // A fine-grained token's workflows permission cannot be seen: said, not failed.
    expect(finding(report, 'permission-workflows')).toMatchObject({ level: 'warn' });
    // The probes changed nothing on GitHub.
    const { data: refs } = await sandbox.octokit.rest.git.getRef({ ...base, ref: 'heads/main' });
    expect(refs.object.sha).toBe(sandbox.mainSha);
    expect((await sandbox.octokit.rest.pulls.list(base)).data).toEqual([]);
    expect((await sandbox.octokit.rest.repos.listDeployments(base)).data).toEqual([]);
  });

  it('a GitHub that cannot be reached fails at once, pointing at GITHUB_API_URL', async () => {
    const report = await checkGitHubSetup(
      createGitHubClient({
        token: TOKEN,
        apiUrl: 'http://127.0.0.1:1',
        logger: silentLogger,
        resilient: false,
      }),
      { owner: base.owner, name: base.repo },
      { webhookSecretSet: false },
    );
    expect(report.findings).toHaveLength(1);
    expect(finding(report, 'github')).toMatchObject({
      level: 'fail',
      fix: expect.stringContaining('GITHUB_API_URL'),
    });
  });

  it('a refused token fails at once, saying to make a new one', async () => {
    const report = await check({ token: 'ghp_notATokenGitHubKnows' });
    expect(report.findings).toHaveLength(1);
    expect(finding(report, 'token')).toMatchObject({
      level: 'fail',
      evidence: expect.stringContaining('401'),
    });
    expect(finding(report, 'token').fix).toContain('make a new one');
  });

  it('an App installation token is named, with the warning that it expires in an hour', async () => {
    sandbox.gh.setTokenGrant({ kind: 'installation' });
    const token = finding(await check(), 'token');
    expect(token).toMatchObject({
      level: 'warn',
      evidence: 'a GitHub App installation token, installed on acme/app',
    });
    expect(token.fix).toContain('expires after an hour');
  });

  it('a classic token shows its scopes, and fails without the workflow scope', async () => {
    sandbox.gh.setTokenGrant({ kind: 'classic', scopes: ['repo'] });
    const report = await check();
    expect(finding(report, 'token').evidence).toBe(
      'a classic personal access token of lugh-deployer, scopes: repo',
    );
    expect(finding(report, 'permission-workflows')).toMatchObject({
      level: 'fail',
      fix: 'Add the workflow scope to the token.',
    });
    sandbox.gh.setTokenGrant({ kind: 'classic', scopes: ['repo', 'workflow'] });
    expect(finding(await check(), 'permission-workflows').level).toBe('ok');
  });

  it('a repository the token cannot see fails, naming GITHUB_REPO', async () => {
    const report = await check({ repo: 'elsewhere' });
    expect(finding(report, 'repository')).toMatchObject({ level: 'fail' });
    expect(finding(report, 'repository').fix).toContain('GITHUB_REPO');
  });

  it.each([
    ['contents', 'read', 'Contents: read and write'],
    ['pull_requests', 'read', 'Pull requests: read and write'],
    ['deployments', 'read', 'Deployments: read and write'],
    ['checks', undefined, 'Checks: read-only'],
    ['statuses', undefined, 'Commit statuses: read-only'],
  ] as const)(
    'a token without %s (%s) fails that permission alone, saying what to grant',
    async (permission, left, grant) => {
      const permissions: Record<string, 'read' | 'write' | 'admin'> = { ...DEFAULT_PERMISSIONS };
      if (left) permissions[permission] = left;
      else delete permissions[permission];
      sandbox.gh.setTokenGrant({ kind: 'fine-grained', permissions });
      const report = await check();
      expect(report.findings.filter((f) => f.level === 'fail').map((f) => f.id)).toEqual([
        `permission-${permission}`,
      ]);
      expect(finding(report, `permission-${permission}`).fix).toContain(`“${grant}”`);
      expect(finding(report, `permission-${permission}`).evidence).toContain(
        'Resource not accessible by personal access token',
      );
    },
  );

  it('main protected: required reviews, strict up-to-date and a required check that never reports are explained', async () => {
    sandbox.gh.setBranchProtection('main', {
      required_status_checks: { strict: true, contexts: ['build', 'ci/never'] },
      enforce_admins: false,
      required_pull_request_reviews: { required_approving_review_count: 1 },
      restrictions: null,
    });
    await sandbox.gh.setCheckPlan(await developHead(sandbox), [
      { name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 0 },
    ]);
    await sandbox.gh.settled();
    const report = await check();
    expect(report.failed).toBe(0);
    expect(finding(report, 'protection-reviews')).toMatchObject({ level: 'warn' });
    expect(finding(report, 'protection-reviews').evidence).toContain('requires 1 approving review(s)');
    expect(finding(report, 'protection-strict').evidence).toContain('develop is behind main');
    expect(finding(report, 'protection-checks')).toMatchObject({ level: 'warn' });
    expect(finding(report, 'protection-checks').evidence).toMatch(
      /not reported on develop's head [0-9a-f]{7}: ci\/never\./,
    );
  });

  it('main’s protection unreadable without Administration: a warning saying what to grant', async () => {
    const { administration: _, ...permissions } = DEFAULT_PERMISSIONS;
    sandbox.gh.setTokenGrant({ kind: 'fine-grained', permissions });
    const protection = finding(await check(), 'protection');
    expect(protection).toMatchObject({ level: 'warn' });
    expect(protection.fix).toContain('Administration: read-only');
  });

  it('webhooks unreadable without the Webhooks permission: a warning, not a failure', async () => {
    const { repository_hooks: _, ...permissions } = DEFAULT_PERMISSIONS;
    sandbox.gh.setTokenGrant({ kind: 'fine-grained', permissions });
    const report = await check();
    expect(finding(report, 'webhook')).toMatchObject({ level: 'warn' });
    expect(finding(report, 'webhook').fix).toContain('Webhooks: read-only');
  });

  it('a hook whose deliveries lugh refuses (wrong secret) fails, saying the cause', async () => {
    receiver.setStatus(401);
    await sandbox.gh.pushCommit('develop', { message: 'More', files: { 'M.md': 'm\n' } });
    await sandbox.gh.settled();
    const webhook = finding(await check(), 'webhook');
    expect(webhook.level).toBe('fail');
    expect(webhook.evidence).toContain('its last delivery failed (401)');
    expect(webhook.fix).toContain('Secret must be GITHUB_WEBHOOK_SECRET');
    // Delivering again: the failure is history, a warning.
    receiver.setStatus(202);
    await sandbox.gh.pushCommit('develop', { message: 'Again', files: { 'N.md': 'n\n' } });
    await sandbox.gh.settled();
    expect(finding(await check(), 'webhook').level).toBe('warn');
  });

  it('GITHUB_WEBHOOK_SECRET unset while a hook delivers to lugh fails', async () => {
    const webhook = finding(await check({ webhookSecretSet: false }), 'webhook');
    expect(webhook.level).toBe('fail');
    expect(webhook.evidence).toContain('GITHUB_WEBHOOK_SECRET is not set');
  });
});

describe('lugh github check: hooks created on GitHub', () => {
  let sandbox: Sandbox;
  const check = (webhookSecretSet = true) =>
    checkGitHubSetup(
      createGitHubClient({ token: TOKEN, apiUrl: sandbox.gh.apiUrl, logger: silentLogger, resilient: false }),
      { owner: base.owner, name: base.repo },
      { webhookSecretSet },
    );
  const webhooks = async (webhookSecretSet = true) =>
    (await check(webhookSecretSet)).findings.filter((f) => f.id === 'webhook');
  beforeAll(async () => {
    sandbox = await startSandbox({
      tokenGrant: {
        kind: 'fine-grained',
        permissions: { ...DEFAULT_PERMISSIONS, repository_hooks: 'write' },
      },
    });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('no hook: a failure when GITHUB_WEBHOOK_SECRET is set (saying how to add one), fine when polling', async () => {
    const [missing] = await webhooks(true);
    expect(missing).toMatchObject({ level: 'fail' });
    expect(missing!.fix).toContain('Content type application/json, Secret = GITHUB_WEBHOOK_SECRET');
    expect((await webhooks(false))[0]).toMatchObject({ level: 'ok' });
  });

  it('a hook left at GitHub’s defaults (form, push only, no secret) fails for the secret and names the form', async () => {
    await sandbox.octokit.rest.repos.createWebhook({
      ...base,
      config: { url: 'http://127.0.0.1:9/webhooks/github' },
    });
    const [hook] = await webhooks();
    expect(hook).toMatchObject({ level: 'fail' });
    expect(hook!.evidence).toContain('content type form (GitHub’s default; lugh accepts it)');
    expect(hook!.evidence).toContain('the hook has no secret');
    expect(hook!.evidence).toContain('its last delivery failed (0)');
  });

  it('an inactive hook fails; a signed one without every event warns, naming the missing ones', async () => {
    await sandbox.octokit.rest.repos.createWebhook({
      ...base,
      config: { url: 'http://127.0.0.1:9/inactive/webhooks/github', secret: SECRET, content_type: 'json' },
      events: ['*'],
      active: false,
    });
    await sandbox.octokit.rest.repos.createWebhook({
      ...base,
      config: { url: 'http://127.0.0.1:9/few/webhooks/github', secret: SECRET, content_type: 'json' },
      active: false,
      events: ['push'],
    });
    const found = await webhooks();
    const inactive = found.find((f) => f.evidence.includes('/inactive/'))!;
    expect(inactive).toMatchObject({ level: 'fail', fix: expect.stringContaining('tick Active') });
    const few = found.find((f) => f.evidence.includes('/few/'))!;
    expect(few.evidence).toContain('the hook is inactive');
  });
});

describe('lugh github check: what it prints of a hook', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({
      tokenGrant: {
        kind: 'fine-grained',
        permissions: { ...DEFAULT_PERMISSIONS, repository_hooks: 'write' },
      },
    });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('shows a hook’s URL without user info or query, which may hold a credential', async () => {
    await sandbox.octokit.rest.repos.createWebhook({
      ...base,
      config: {
        url: 'http://relay:hunter2-password@127.0.0.1:9/webhooks/github?key=query-secret',
        secret: SECRET,
      },
    });
    const report = await checkGitHubSetup(
      createGitHubClient({ token: TOKEN, apiUrl: sandbox.gh.apiUrl, logger: silentLogger, resilient: false }),
      { owner: base.owner, name: base.repo },
      { webhookSecretSet: true },
    );
    const text = JSON.stringify(report);
    expect(text).toContain('http://127.0.0.1:9/webhooks/github');
    expect(text).not.toContain('hunter2-password');
    expect(text).not.toContain('query-secret');
  });
});

async function developHead(sandbox: Sandbox): Promise<string> {
  const { data } = await sandbox.octokit.rest.repos.getBranch({ ...base, branch: 'develop' });
  return data.commit.sha;
}
