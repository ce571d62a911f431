// What previews ask of the forge, against the GitHub stand-in: every open pull request into a
// branch (all pages), one pull request's summary (a fork told apart), the one comment lugh
// edits in place, and a transient deployment whose statuses carry the preview's URL.
import { RequestError } from 'octokit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../src/forge/errors.js';
import type { Forge } from '../../../src/forge/forge.js';
import { createGitHubClient } from '../../../src/forge/github/github-client.js';
import { createGitHubForge } from '../../../src/forge/github/github-forge.js';
import { silentLogger } from '../../helpers/logger.js';
import { loadGitHubOpenApi, type OpenApiValidator } from '../../helpers/openapi.js';
import { repoParams as base, type Sandbox, startSandbox, TOKEN } from '../sandbox/github/fixture.js';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly body: unknown;
}

describe('the forge for previews (GitHub)', () => {
  let sandbox: Sandbox;
  let forge: Forge;
  let openapi: OpenApiValidator;
  const seen: Seen[] = [];
  let featureSha: string;

  beforeAll(async () => {
    openapi = loadGitHubOpenApi();
    sandbox = await startSandbox();
    const client = createGitHubClient({
      token: TOKEN,
      apiUrl: sandbox.gh.apiUrl,
      logger: silentLogger,
      resilient: false,
    });
    // Every answer the forge gets, to check against GitHub's description.
    client.octokit.hook.wrap('request', async (request, options) => {
      const record = (status: number, body: unknown) =>
        seen.push({ method: String(options.method), path: String(options.url), status, body });
      try {
        const response = await request(options);
        record(response.status, response.data);
        return response;
      } catch (error) {
        if (error instanceof RequestError) record(error.status, error.response?.data);
        throw error;
      }
    });
    forge = createGitHubForge(client, { owner: base.owner, name: base.repo });
    featureSha = await sandbox.gh.pushCommit('feature/greeting', {
      message: 'A new greeting',
      files: { 'GREETING.md': 'hello\n' },
    });
  }, 60_000);
  afterAll(async () => {
    await sandbox?.close();
  });

  it('lists every open pull request into the branch over all pages, and no other', async () => {
    const { octokit } = sandbox;
    // 101 open into develop (two pages of 100), one into main, one closed into develop.
    for (let i = 1; i <= 103; i += 1) {
      await octokit.rest.git.createRef({ ...base, ref: `refs/heads/pr-${i}`, sha: featureSha });
      const { data } = await octokit.rest.pulls.create({
        ...base,
        head: `pr-${i}`,
        base: i === 102 ? 'main' : 'develop',
        title: `Change ${i}`,
      });
      if (i === 103) await octokit.rest.pulls.update({ ...base, pull_number: data.number, state: 'closed' });
    }
    const before = sandbox.gh.requests().length;
    const open = await forge.listOpenPulls('develop');
    expect(open.map((p) => p.number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 101 }, (_, i) => i + 1),
    );
    const pages = sandbox.gh
      .requests()
      .slice(before)
      .filter((r) => r.route === 'GET /repos/{owner}/{repo}/pulls');
    expect(pages).toHaveLength(2);
    expect(open.find((p) => p.number === 1)).toMatchObject({
      state: 'open',
      merged: false,
      headSha: featureSha,
      headRef: 'pr-1',
      baseRef: 'develop',
      author: 'lugh-sandbox[bot]',
      fork: false,
      url: expect.stringMatching(/\/acme\/app\/pull\/1$/),
    });
    expect(open[0]!.updatedAt).toBeInstanceOf(Date);
    expect(await forge.listOpenPulls('release')).toEqual([]);
  }, 120_000);

  it('reads one pull request as a summary; NotFoundError for a number that has none', async () => {
    const closed = await forge.pullSummary(103);
    expect(closed).toMatchObject({ number: 103, state: 'closed', merged: false, baseRef: 'develop' });
    await expect(forge.pullSummary(9999)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('tells a fork’s pull request apart: its head lives in another repository', async () => {
    const fork = await sandbox.gh.openForkPull({
      fork: 'someone/app-fork',
      headRef: 'develop',
      files: { 'GREETING.md': 'from a fork\n' },
    });
    const listed = (await forge.listOpenPulls('develop')).find((p) => p.number === fork.number);
    expect(listed).toMatchObject({
      fork: true,
      author: 'someone',
      headRef: 'develop',
      headSha: fork.headSha,
    });
    expect(await forge.pullSummary(fork.number)).toMatchObject({ fork: true, author: 'someone' });
    expect((await forge.pullSummary(1)).fork).toBe(false);
    // Its commit can be read (and built: its tarball) from this repository by SHA.
    expect(await forge.commitTree(fork.headSha)).toMatch(/^[0-9a-f]{40}$/);
    const tar = await forge.tarball(fork.headSha);
    expect(tar.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });

  it('comments once and edits that comment in place; a deleted comment is NotFoundError', async () => {
    const { id } = await forge.createComment(1, '<!-- lugh:preview -->\nBuilding abc1234…');
    await forge.updateComment(id, '<!-- lugh:preview -->\nRunning at http://pr-1.preview.localhost/');
    const { data: comments } = await sandbox.octokit.rest.issues.listComments({ ...base, issue_number: 1 });
    expect(comments.map((c) => [c.id, c.body])).toEqual([
      [id, '<!-- lugh:preview -->\nRunning at http://pr-1.preview.localhost/'],
    ]);
    const { data: pr } = await sandbox.octokit.rest.pulls.get({ ...base, pull_number: 1 });
    expect(pr.comments).toBe(1);
    await sandbox.octokit.rest.issues.deleteComment({ ...base, comment_id: id });
    await expect(forge.updateComment(id, 'again')).rejects.toBeInstanceOf(NotFoundError);
    await expect(forge.createComment(9999, 'x')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a comment GitHub made but answered 502 for is found, not made twice', async () => {
    sandbox.gh.injectFault({
      route: 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
      kind: '5xx',
      performed: true,
    });
    const { id } = await forge.createComment(2, '<!-- lugh:preview -->\nBuilding');
    const { data: comments } = await sandbox.octokit.rest.issues.listComments({ ...base, issue_number: 2 });
    expect(comments.map((c) => c.id)).toEqual([id]);
    // Not made at all: made once on the second try.
    sandbox.gh.injectFault({
      route: 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
      kind: '5xx',
    });
    const second = await forge.createComment(3, '<!-- lugh:preview -->\nBuilding');
    const { data: third } = await sandbox.octokit.rest.issues.listComments({ ...base, issue_number: 3 });
    expect(third.map((c) => c.id)).toEqual([second.id]);
  });

  it('a preview deployment is transient, not production, and its statuses carry the URL', async () => {
    const environment = 'preview/pr-1';
    const first = await forge.createDeployment(
      featureSha,
      environment,
      'Preview of #1',
      { lugh: true },
      {
        transient: true,
      },
    );
    await forge.setDeploymentStatus(first.id, 'in_progress', 'Building');
    await forge.setDeploymentStatus(first.id, 'success', 'Running', 'http://pr-1.preview.localhost:8088/');
    const { data: deployment } = await sandbox.octokit.rest.repos.getDeployment({
      ...base,
      deployment_id: first.id,
    });
    expect(deployment).toMatchObject({
      environment,
      transient_environment: true,
      production_environment: false,
      sha: featureSha,
    });
    const statuses = async (id: number) =>
      (await sandbox.octokit.rest.repos.listDeploymentStatuses({ ...base, deployment_id: id })).data;
    expect((await statuses(first.id)).map((s) => [s.state, s.environment_url])).toEqual([
      ['success', 'http://pr-1.preview.localhost:8088/'],
      ['in_progress', ''],
    ]);
    // A second push: a new deployment of the same environment. GitHub's auto_inactive
    // passes over transient deployments, so the old one is retired by lugh itself.
    const second = await forge.createDeployment(
      featureSha,
      environment,
      'Preview of #1',
      {},
      { transient: true },
    );
    await forge.setDeploymentStatus(second.id, 'success', 'Running', 'http://pr-1.preview.localhost:8088/');
    expect((await statuses(first.id))[0]!.state).toBe('success');
    await forge.setDeploymentStatus(first.id, 'inactive', 'Replaced');
    await forge.setDeploymentStatus(second.id, 'inactive', 'Torn down');
    expect((await statuses(first.id))[0]!.state).toBe('inactive');
    expect((await statuses(second.id))[0]!.state).toBe('inactive');
    // GitHub made it but its answer was lost (502): found, not made twice; not made at all: made once.
    const deployments = async () =>
      (await sandbox.octokit.rest.repos.listDeployments({ ...base, environment: 'preview/pr-2' })).data;
    const route = 'POST /repos/{owner}/{repo}/deployments';
    sandbox.gh.injectFault({ route, kind: '5xx', performed: true });
    const lost = await forge.createDeployment(
      featureSha,
      'preview/pr-2',
      'Preview of #2',
      { pr: 2 },
      { transient: true },
    );
    expect((await deployments()).map((d) => d.id)).toEqual([lost.id]);
    sandbox.gh.injectFault({ route, kind: '5xx' });
    const made = await forge.createDeployment(
      featureSha,
      'preview/pr-2',
      'Preview of #2 again',
      { pr: 2 },
      { transient: true },
    );
    expect((await deployments()).map((d) => d.id)).toEqual([made.id, lost.id]);
    // Other deployments are as before: production is a production environment, not transient.
    const prod = await forge.createDeployment(featureSha, 'production', 'Deploy');
    const { data: prodJson } = await sandbox.octokit.rest.repos.getDeployment({
      ...base,
      deployment_id: prod.id,
    });
    expect(prodJson).toMatchObject({ transient_environment: false, production_environment: true });
  });

  it('every answer the forge got validates against GitHub’s description', () => {
    // Paged requests carry the URL of the Link header, not the template: find the template.
    const templates = sandbox.gh.routes().map((key) => {
      const [method, path] = key.split(' ') as [string, string];
      return { method, path, pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`) };
    });
    const templateOf = (method: string, url: string) => {
      if (url.includes('{')) return url;
      const pathname = new URL(url, sandbox.gh.apiUrl).pathname;
      return templates.find((t) => t.method === method && t.pattern.test(pathname))?.path ?? url;
    };
    const failures: string[] = [];
    for (const { method, path: url, status, body } of seen) {
      const path = templateOf(method, url);
      if (!openapi.hasResponseSchema(method, path, status)) continue;
      const errors = openapi.validateResponse(method, path, status, body);
      if (errors.length > 0) failures.push(`${method} ${path} ${status}: ${errors.slice(0, 3).join('; ')}`);
    }
    expect(failures).toEqual([]);
    const checked = new Set(seen.map((s) => `${s.method} ${templateOf(s.method, s.path)}`));
    expect(checked).toContain('GET /repos/{owner}/{repo}/pulls');
    expect(checked).toContain('POST /repos/{owner}/{repo}/issues/{issue_number}/comments');
    expect(checked).toContain('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}');
  });
});
