import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PERMISSIONS } from '../../../../src/sandbox/github/index.js';
import { loadGitHubOpenApi, type OpenApiValidator } from '../../../helpers/openapi.js';
import { repoParams as base, eventually, type Sandbox, startReceiver, startSandbox } from './fixture.js';

const SECRET = 'a-webhook-secret-of-some-length';

/** The x-webhooks entry that describes a delivery: event name, then the action when there is one. */
function webhookName(event: string, payload: { action?: string }): string {
  const name = event.replace(/_/g, '-');
  return payload.action ? `${name}-${payload.action}` : name;
}

describe('GitHub stand-in webhooks', () => {
  let sandbox: Sandbox;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let openapi: OpenApiValidator;

  beforeAll(async () => {
    openapi = loadGitHubOpenApi();
    receiver = await startReceiver();
    sandbox = await startSandbox({ webhook: { url: receiver.url, secret: SECRET } });
    await sandbox.gh.setDefaultCheckPlan([
      { name: 'build', kind: 'check_run', conclusion: 'success', afterMs: 20 },
      { name: 'ci/legacy', kind: 'status', conclusion: 'success', afterMs: 20 },
    ]);
    const { data } = await sandbox.octokit.rest.pulls.create({
      ...base,
      base: 'main',
      head: 'develop',
      title: 'Promote',
    });
    await eventually(async () => {
      const { data: combined } = await sandbox.octokit.rest.repos.getCombinedStatusForRef({
        ...base,
        ref: sandbox.developSha,
      });
      const { data: runs } = await sandbox.octokit.rest.checks.listForRef({
        ...base,
        ref: sandbox.developSha,
      });
      return combined.state === 'success' && runs.check_runs[0]?.status === 'completed';
    });
    await sandbox.octokit.rest.pulls.merge({ ...base, pull_number: data.number, sha: sandbox.developSha });
    await sandbox.gh.pushCommit('develop', {
      message: 'Start the next change',
      files: { 'NEXT.md': 'next\n' },
    });
    await sandbox.gh.settled();
  });
  afterAll(async () => {
    await sandbox?.close();
    await receiver?.close();
  });

  it('delivers push, pull_request, check_suite, check_run, workflow_run and status events', () => {
    const seen = sandbox.gh.deliveries().map((d) => webhookName(d.event, d.payload as { action?: string }));
    for (const name of [
      'pull-request-opened',
      'check-suite-requested',
      'workflow-run-requested',
      'check-run-created',
      'status',
      'check-run-completed',
      'check-suite-completed',
      'workflow-run-completed',
      'push',
      'pull-request-closed',
    ]) {
      expect(seen).toContain(name);
    }
    expect(sandbox.gh.deliveries().every((d) => d.status === 200)).toBe(true);
    const closed = sandbox.gh
      .deliveries()
      .find(
        (d) =>
          d.event === 'pull_request' && webhookName(d.event, d.payload as never) === 'pull-request-closed',
      );
    expect(closed?.payload).toMatchObject({ pull_request: { merged: true } });
  });

  it('signs every body with X-Hub-Signature-256 and sends GitHub headers', () => {
    expect(receiver.received.length).toBe(sandbox.gh.deliveries().length);
    for (const hook of receiver.received) {
      const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(hook.body).digest('hex')}`);
      const given = Buffer.from(String(hook.headers['x-hub-signature-256']));
      expect(given.length === expected.length && timingSafeEqual(given, expected)).toBe(true);
      expect(hook.headers['user-agent']).toMatch(/^GitHub-Hookshot\//);
      expect(hook.headers['x-github-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      // A hook's content type defaults to form: the JSON in a `payload=` field.
      expect(hook.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(JSON.parse(new URLSearchParams(hook.body).get('payload')!)).toBeTypeOf('object');
      expect(typeof hook.headers['x-github-event']).toBe('string');
    }
  });

  it('sends payloads that validate against the published webhook schemas', () => {
    const failures: string[] = [];
    for (const delivery of sandbox.gh.deliveries()) {
      const name = webhookName(delivery.event, delivery.payload as { action?: string });
      expect(openapi.hasWebhook(name), name).toBe(true);
      const errors = openapi.validateWebhook(name, delivery.payload);
      if (errors.length > 0) failures.push(`${name}: ${errors.slice(0, 5).join('; ')}`);
    }
    expect(failures).toEqual([]);
  });

  it('does not retry a failed delivery; redelivery resends the same id and body', async () => {
    receiver.setStatus(500);
    const before = receiver.received.length;
    await sandbox.octokit.rest.repos.createCommitStatus({
      ...base,
      sha: sandbox.mainSha,
      state: 'success',
      context: 'x',
    });
    await sandbox.gh.settled();
    const failed = sandbox.gh.deliveries().at(-1)!;
    expect(failed).toMatchObject({ event: 'status', status: 500 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received.length).toBe(before + 1);

    receiver.setStatus(202);
    await sandbox.gh.redeliver(failed.id);
    const again = receiver.received.at(-1)!;
    expect(again.headers['x-github-delivery']).toBe(failed.id);
    expect(again.body).toBe(receiver.received[before]!.body);
    expect(sandbox.gh.deliveries().at(-1)).toMatchObject({ id: failed.id, status: 202 });
  });

  it('lists the hook (form by default) and its recent deliveries with their status codes, newest first', async () => {
    const { data: hooks } = await sandbox.octokit.rest.repos.listWebhooks(base);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.config).toMatchObject({ url: receiver.url, content_type: 'form' });
    const { data: deliveries } = await sandbox.octokit.rest.repos.listWebhookDeliveries({
      ...base,
      hook_id: hooks[0]!.id,
      per_page: 100,
    });
    const attempts = sandbox.gh.deliveries();
    expect(deliveries[0]).toMatchObject({ guid: attempts.at(-1)!.id, status_code: 202, redelivery: true });
    expect(deliveries.find((d) => d.status_code === 500)).toMatchObject({
      event: 'status',
      status: 'Invalid HTTP Response: 500',
    });
  });
});

describe('GitHub stand-in webhooks created through the API', () => {
  let sandbox: Sandbox;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    // Creating hooks needs the webhooks permission (repository_hooks) with write access.
    sandbox = await startSandbox({
      tokenGrant: {
        kind: 'installation',
        permissions: { ...DEFAULT_PERMISSIONS, repository_hooks: 'write' },
      },
    });
  });
  afterAll(async () => {
    await sandbox?.close();
    await receiver?.close();
  });

  it('defaults to form and push only, pings the new hook, and sends JSON when asked', async () => {
    const { data: form } = await sandbox.octokit.rest.repos.createWebhook({
      ...base,
      config: { url: receiver.url, secret: SECRET },
    });
    expect(form).toMatchObject({ events: ['push'], config: { content_type: 'form', secret: '********' } });
    const { data: json } = await sandbox.octokit.rest.repos.createWebhook({
      ...base,
      config: { url: `${receiver.url}?json`, secret: SECRET, content_type: 'json' },
      events: ['push', 'pull_request'],
    });
    await sandbox.gh.pushCommit('develop', { message: 'Touch', files: { 'T.md': 't\n' } });
    await sandbox.gh.settled();
    const byHook = (id: number) =>
      receiver.received.filter((r) => r.headers['x-github-hook-id'] === String(id));
    expect(byHook(form.id).map((r) => r.headers['x-github-event'])).toEqual(['ping', 'push']);
    expect(byHook(form.id).every((r) => r.body.startsWith('payload='))).toBe(true);
    const jsonPush = byHook(json.id).find((r) => r.headers['x-github-event'] === 'push')!;
    expect(jsonPush.headers['content-type']).toBe('application/json');
    expect(JSON.parse(jsonPush.body)).toMatchObject({ ref: 'refs/heads/develop' });
    await expect(
      sandbox.octokit.rest.repos.createWebhook({ ...base, config: { url: receiver.url } }),
    ).rejects.toMatchObject({ status: 422 });
  });
});
