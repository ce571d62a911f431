// The GitHub stand-in's page, driven over HTTP as a browser posts its forms: "Simulate a PR"
// opens a pull request into develop whose commit makes the seeded app greet at `/`, and each
// pull request's buttons push to it, close, reopen and merge it, with GitHub's webhooks.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoParams as base, gitIn, type Sandbox, startReceiver, startSandbox } from './fixture.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The app's server.js at `sha`, run with node: what it answers at `/`. */
async function appAnswer(repoDir: string, sha: string): Promise<{ status: number; text: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'lugh-greeting-'));
  await writeFile(join(dir, 'server.js'), await gitIn(repoDir, 'show', `${sha}:server.js`));
  const port = await freePort();
  const child = spawn(process.execPath, ['server.js'], {
    cwd: dir,
    env: { PATH: process.env.PATH, PORT: String(port), COMMIT_SHA: sha },
    stdio: 'ignore',
  });
  try {
    for (let i = 0; ; i += 1) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`);
        return { status: response.status, text: await response.text() };
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('GitHub stand-in page: simulate a PR', () => {
  let sandbox: Sandbox;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let page: string;
  const post = async (path: string, form: Record<string, string> = {}) => {
    const response = await fetch(`${page}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!, page);
    expect(location.pathname).toBe('/_sandbox/');
    return { done: location.searchParams.get('done'), error: location.searchParams.get('error') };
  };
  const actions = (number: number) =>
    sandbox.gh
      .deliveries()
      .filter((d) => d.event === 'pull_request' && (d.payload as { number: number }).number === number)
      .map((d) => (d.payload as { action: string }).action);

  beforeAll(async () => {
    receiver = await startReceiver();
    sandbox = await startSandbox({ webhook: { url: receiver.url, secret: 'a-secret-of-some-length' } });
    page = `${sandbox.gh.apiUrl}/_sandbox/`;
  });
  afterAll(async () => {
    await sandbox?.close();
    await receiver?.close();
  });

  it('serves the page without a token: the simulate form, and no pull request yet', async () => {
    const response = await fetch(page);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('action="/_sandbox/pulls"');
    expect(html).toContain('id="no-pulls"');
    // The API itself still wants a token.
    expect((await fetch(`${sandbox.gh.apiUrl}/repos/acme/app/pulls`)).status).toBe(401);
  });

  it('"Simulate a PR" opens a pull request into develop whose app greets at / (it answered 404 before)', async () => {
    expect((await appAnswer(sandbox.repoDir, sandbox.developSha)).status).toBe(404);
    const { done } = await post('pulls', { greeting: 'Dia duit <b>ó</b> PR', base: 'develop' });
    expect(done).toMatch(/^Opened #1 \([0-9a-f]{7}\)$/);
    const { data: pr } = await sandbox.octokit.rest.pulls.get({ ...base, pull_number: 1 });
    expect(pr).toMatchObject({
      state: 'open',
      base: { ref: 'develop' },
      head: { ref: 'simulated/greeting-1' },
    });
    expect(pr.head.repo?.fork).toBe(false);
    const app = await appAnswer(sandbox.repoDir, pr.head.sha);
    expect(app.status).toBe(200);
    expect(app.text).toContain('<h1 id="greeting">Dia duit &lt;b&gt;ó&lt;/b&gt; PR</h1>');
    expect(app.text).toContain(pr.head.sha);
    await sandbox.gh.settled();
    expect(actions(1)).toEqual(['opened']);
    // The page lists it, escaped, with its buttons.
    const html = await (await fetch(page)).text();
    expect(html).toContain('id="pull-1" data-state="open"');
    expect(html).toContain('Dia duit &#60;b&#62;ó&#60;/b&#62; PR');
    expect(html).toContain('action="/_sandbox/pulls/1/push"');
  });

  it('shows the head’s deployment with "View deployment" once it succeeded, and the comment lugh edits', async () => {
    const { octokit } = sandbox;
    const { data: pr } = await octokit.rest.pulls.get({ ...base, pull_number: 1 });
    const created = await octokit.rest.repos.createDeployment({
      ...base,
      ref: pr.head.sha,
      environment: 'preview/pr-1',
      transient_environment: true,
      production_environment: false,
      required_contexts: [],
      auto_merge: false,
    });
    const deployment_id = 'id' in created.data ? created.data.id : 0;
    await octokit.rest.repos.createDeploymentStatus({ ...base, deployment_id, state: 'in_progress' });
    await octokit.rest.issues.createComment({
      ...base,
      issue_number: 1,
      body: '<!-- lugh:preview -->\nBuilding <x>',
    });
    let html = await (await fetch(page)).text();
    expect(html).toContain('preview/pr-1: <span class="deployment-state">in_progress</span>');
    expect(html).not.toContain('View deployment');
    expect(html).toContain('Building &#60;x&#62;');
    await octokit.rest.repos.createDeploymentStatus({
      ...base,
      deployment_id,
      state: 'success',
      environment_url: 'http://pr-1.preview.localhost:8080/',
    });
    html = await (await fetch(page)).text();
    expect(html).toContain('href="http://pr-1.preview.localhost:8080/"');
    expect(html).toContain('View deployment');
  });

  it('pushes another commit (a new greeting), closes, reopens and merges it from its buttons', async () => {
    const before = (await sandbox.octokit.rest.pulls.get({ ...base, pull_number: 1 })).data.head.sha;
    expect((await post('pulls/1/push')).done).toMatch(/^Pushed [0-9a-f]{7} to #1$/);
    const { data: pushed } = await sandbox.octokit.rest.pulls.get({ ...base, pull_number: 1 });
    expect(pushed.head.sha).not.toBe(before);
    expect((await appAnswer(sandbox.repoDir, pushed.head.sha)).text).toContain(
      'Hello from pull request #1, push 2',
    );
    expect((await post('pulls/1/close')).done).toBe('Closed #1');
    expect((await post('pulls/1/reopen')).done).toBe('Reopened #1');
    expect((await post('pulls/1/merge')).done).toMatch(/^Merged #1 into develop \([0-9a-f]{7}\)$/);
    await sandbox.gh.settled();
    expect(actions(1)).toEqual(['opened', 'synchronize', 'closed', 'reopened', 'closed']);
    const { data: merged } = await sandbox.octokit.rest.pulls.get({ ...base, pull_number: 1 });
    expect(merged).toMatchObject({ state: 'closed', merged: true });
    const html = await (await fetch(page)).text();
    expect(html).toContain('id="pull-1" data-state="merged"');
  });

  it('simulates a fork’s pull request, and says what went wrong instead of failing silently', async () => {
    expect((await post('pulls', { fork: '1' })).done).toMatch(/^Opened #2 /);
    const { data: fork } = await sandbox.octokit.rest.pulls.get({ ...base, pull_number: 2 });
    expect(fork.head.repo).toMatchObject({ fork: true, full_name: 'octo-contributor/app' });
    expect((await post('pulls/99/close')).error).toBe('Not done: there is no pull request #99');
    expect((await post('pulls', { base: 'nope' })).error).toBe('Not done: the repository has no branch nope');
    expect((await post('pulls/2/rebase')).error).toMatch(/unknown action "rebase"/);
    expect((await post('pulls/1/reopen')).error).toMatch(/has been merged/);
    const html = await (await fetch(`${page}?error=${encodeURIComponent('Not done: <x>')}`)).text();
    expect(html).toContain('class="note error"');
    expect(html).toContain('Not done: &#60;x&#62;');
  });
});
