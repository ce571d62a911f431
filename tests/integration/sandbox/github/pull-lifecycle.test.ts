// Pull requests as people make them, with the webhooks GitHub sends: opened by a person,
// pushed to (synchronize), closed unmerged, reopened, merged; and from a fork, whose head.repo
// is the fork and whose commits are still readable from this repository.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGitHubOpenApi, type OpenApiValidator } from '../../../helpers/openapi.js';
import { repoParams as base, gitIn, type Sandbox, startReceiver, startSandbox } from './fixture.js';

type Payload = {
  action?: string;
  number?: number;
  before?: string;
  after?: string;
  sender?: { login: string };
  pull_request?: {
    number: number;
    state: string;
    merged: boolean;
    user: { login: string };
    head: {
      sha: string;
      ref: string;
      label: string;
      repo: { fork: boolean; full_name: string; owner: { login: string } } | null;
    };
    base: { ref: string; repo: { full_name: string } };
  };
};

describe('GitHub stand-in: pull requests as people make them', () => {
  let sandbox: Sandbox;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let openapi: OpenApiValidator;
  const pullHooks = (number: number) =>
    sandbox.gh
      .deliveries()
      .filter((d) => d.event === 'pull_request' && (d.payload as Payload).number === number)
      .map((d) => d.payload as Payload);

  beforeAll(async () => {
    openapi = loadGitHubOpenApi();
    receiver = await startReceiver();
    sandbox = await startSandbox({ webhook: { url: receiver.url, secret: 'a-secret-of-some-length' } });
  });
  afterAll(async () => {
    await sandbox?.close();
    await receiver?.close();
  });

  it('opens, pushes to, closes, reopens and merges a pull request, each with its webhook', async () => {
    const { gh } = sandbox;
    const opened = await gh.openPull({
      headRef: 'feature/greeting',
      title: 'A warmer greeting',
      files: { 'GREETING.md': 'Dia duit\n' },
    });
    const { data: pr } = await sandbox.octokit.rest.pulls.get({ ...base, pull_number: opened.number });
    expect(pr).toMatchObject({
      state: 'open',
      base: { ref: 'develop' },
      head: { ref: 'feature/greeting', sha: opened.headSha },
    });
    expect(pr.user?.login).toBe('dev');
    // The branch was made from develop: one commit ahead of it.
    expect(await gitIn(sandbox.repoDir, 'rev-parse', `${opened.headSha}^`)).toBe(sandbox.developSha);

    const second = await gh.pushToPull(opened.number, {
      message: 'More',
      files: { 'GREETING.md': 'Dia daoibh\n' },
    });
    await gh.closePull(opened.number);
    await gh.reopenPull(opened.number);
    await gh.settled();
    const merged = await gh.mergePull(opened.number);
    await gh.settled();

    const hooks = pullHooks(opened.number);
    expect(hooks.map((h) => h.action)).toEqual(['opened', 'synchronize', 'closed', 'reopened', 'closed']);
    const [open, sync, closed, reopened, mergedHook] = hooks as [Payload, Payload, Payload, Payload, Payload];
    expect(open.pull_request).toMatchObject({
      head: { sha: opened.headSha, repo: { fork: false } },
      base: { ref: 'develop' },
    });
    expect(open.sender?.login).toBe('dev');
    expect(sync).toMatchObject({
      before: opened.headSha,
      after: second,
      pull_request: { head: { sha: second } },
    });
    expect(closed.pull_request).toMatchObject({ state: 'closed', merged: false });
    expect(reopened.pull_request).toMatchObject({ state: 'open', head: { sha: second } });
    expect(mergedHook.pull_request).toMatchObject({ state: 'closed', merged: true });
    expect(await gitIn(sandbox.repoDir, 'rev-parse', 'refs/heads/develop')).toBe(merged);
    // A push to the pull request's branch is also a push.
    const pushes = sandbox.gh.deliveries().filter((d) => d.event === 'push');
    expect(pushes.map((d) => (d.payload as { after: string }).after)).toEqual(
      expect.arrayContaining([opened.headSha, second, merged]),
    );

    // Reopening a merged one is refused, as on GitHub, and says why.
    await expect(gh.reopenPull(opened.number)).rejects.toThrow(/has been merged/);
    await expect(gh.closePull(999)).rejects.toThrow(/closePull: the repository has no pull request #999/);
  });

  it('opens a pull request from a fork: head.repo is the fork, its commit readable here', async () => {
    const { gh, octokit } = sandbox;
    const fork = await gh.openForkPull({
      fork: 'someone/app-fork',
      headRef: 'main',
      title: 'Drive-by change',
      files: { 'GREETING.md': 'Hello from a fork\n' },
    });
    const { data: pr } = await octokit.rest.pulls.get({ ...base, pull_number: fork.number });
    expect(pr.head).toMatchObject({
      ref: 'main',
      sha: fork.headSha,
      label: 'someone:main',
      user: { login: 'someone', type: 'User' },
      repo: { fork: true, full_name: 'someone/app-fork', owner: { login: 'someone' } },
    });
    expect(pr.base.repo.full_name).toBe('acme/app');
    expect(pr.user?.login).toBe('someone');
    // Its commit is this repository's to read, at refs/pull/{n}/head, as on GitHub.
    const { data: commit } = await octokit.rest.repos.getCommit({ ...base, ref: fork.headSha });
    expect(commit.sha).toBe(fork.headSha);
    expect(await gitIn(sandbox.repoDir, 'rev-parse', `refs/pull/${fork.number}/head`)).toBe(fork.headSha);
    // Listed by its head as owner:branch, and a push to this repository's main moves nothing of it.
    const { data: listed } = await octokit.rest.pulls.list({ ...base, head: 'someone:main' });
    expect(listed.map((p) => p.number)).toEqual([fork.number]);
    await gh.pushCommit('main', { message: 'Hotfix', files: { 'HOTFIX.md': 'x\n' } });
    const next = await gh.pushToPull(fork.number, { message: 'Fix', files: { 'GREETING.md': 'Hi\n' } });
    await gh.settled();
    const { data: after } = await octokit.rest.pulls.get({ ...base, pull_number: fork.number });
    expect(after.head.sha).toBe(next);

    const hooks = pullHooks(fork.number);
    expect(hooks.map((h) => h.action)).toEqual(['opened', 'synchronize']);
    for (const hook of hooks) {
      expect(hook.sender?.login).toBe('someone');
      expect(hook.pull_request?.head.repo).toMatchObject({ fork: true, full_name: 'someone/app-fork' });
    }
    // The fork's push is not this repository's: no push webhook for it.
    const pushed = sandbox.gh
      .deliveries()
      .filter((d) => d.event === 'push')
      .map((d) => (d.payload as { after: string }).after);
    expect(pushed).not.toContain(next);
    await expect(gh.openForkPull({ fork: 'acme/app', headRef: 'x', files: {} })).rejects.toThrow(
      /another account/,
    );
    await expect(gh.openForkPull({ fork: 'not a fork', headRef: 'x', files: {} })).rejects.toThrow(
      /owner\/name/,
    );
  });

  it('sends pull_request payloads that validate against the published webhook schemas', async () => {
    await sandbox.gh.settled();
    const failures: string[] = [];
    const names = new Set<string>();
    for (const delivery of sandbox.gh.deliveries()) {
      if (delivery.event !== 'pull_request') continue;
      const name = `pull-request-${(delivery.payload as Payload).action}`;
      names.add(name);
      const errors = openapi.validateWebhook(name, delivery.payload);
      if (errors.length > 0) failures.push(`${name}: ${errors.slice(0, 5).join('; ')}`);
    }
    expect(failures).toEqual([]);
    expect([...names].sort()).toEqual([
      'pull-request-closed',
      'pull-request-opened',
      'pull-request-reopened',
      'pull-request-synchronize',
    ]);
    // The fork's pull request as the REST API answers it validates too.
    const { data } = await sandbox.octokit.rest.pulls.list({ ...base, state: 'all' });
    expect(openapi.validateResponse('GET', '/repos/{owner}/{repo}/pulls', 200, data)).toEqual([]);
  });
});
