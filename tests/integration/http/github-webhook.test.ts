import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubWebhookHandler } from '../../../src/http/github-webhook.js';
import type { HttpServer } from '../../../src/http/server.js';
import { createLogger } from '../../../src/logger.js';
import { startGitHubWebhookServer } from '../../helpers/webhook-server.js';
import { type Sandbox, startSandbox } from '../sandbox/github/fixture.js';

const SECRET = 'a-webhook-secret-of-some-length';

describe('POST /webhooks/github', () => {
  let server: HttpServer;
  let base: string;
  const seen = new Set<string>();
  const delivered: Array<{ id: string; event: string; payload: unknown }> = [];
  beforeAll(async () => {
    const logger = createLogger({ level: 'silent', secrets: [SECRET] });
    let url: string;
    ({ server, url } = await startGitHubWebhookServer(
      logger,
      githubWebhookHandler(SECRET, logger, async (d) => {
        if (seen.has(d.id)) return 'duplicate';
        seen.add(d.id);
        delivered.push(d);
        return 'handled';
      }),
    ));
    base = url.replace(/\/webhooks\/github$/, '');
  });
  afterAll(() => server?.close());

  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${base}/webhooks/github`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const sign = (body: string, secret = SECRET) =>
    `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

  it('hands on a correctly signed delivery once, and recognises its redelivery', async () => {
    const body = JSON.stringify({ action: 'completed', check_run: { head_sha: 'abc' } });
    const headers = {
      'x-github-event': 'check_run',
      'x-github-delivery': 'd-42',
      'x-hub-signature-256': sign(body),
    };
    expect((await post(body, headers)).status).toBe(202);
    expect((await post(body, headers)).status).toBe(200);
    expect(delivered).toEqual([{ id: 'd-42', event: 'check_run', payload: JSON.parse(body) }]);
  });

  it('refuses a wrong signature, a signature over other bytes, and a missing one', async () => {
    const body = JSON.stringify({ zen: 'hi' });
    const headers = { 'x-github-event': 'ping', 'x-github-delivery': 'd-43' };
    expect(
      (await post(body, { ...headers, 'x-hub-signature-256': sign(body, 'another-secret-entirely') })).status,
    ).toBe(401);
    expect((await post(`${body} `, { ...headers, 'x-hub-signature-256': sign(body) })).status).toBe(401);
    expect((await post(body, headers)).status).toBe(401);
    expect(delivered.map((d) => d.id)).not.toContain('d-43');
  });

  it('asks for the delivery headers and for JSON', async () => {
    const body = JSON.stringify({});
    expect((await post(body, { 'x-hub-signature-256': sign(body) })).status).toBe(400);
    const notJson = 'not json';
    expect(
      (
        await post(notJson, {
          'x-github-event': 'ping',
          'x-github-delivery': 'd-44',
          'x-hub-signature-256': sign(notJson),
        })
      ).status,
    ).toBe(400);
  });
});

describe('POST /webhooks/github from a hook left at GitHub’s default content type (form)', () => {
  let server: HttpServer;
  let sandbox: Sandbox;
  const delivered: Array<{ id: string; event: string; payload: unknown }> = [];
  beforeAll(async () => {
    const logger = createLogger({ level: 'silent', secrets: [SECRET] });
    let url: string;
    ({ server, url } = await startGitHubWebhookServer(
      logger,
      githubWebhookHandler(SECRET, logger, async (d) => {
        delivered.push(d);
        return 'handled';
      }),
    ));
    sandbox = await startSandbox({
      webhook: { url, secret: SECRET },
    });
  });
  afterAll(async () => {
    await sandbox?.close();
    server?.close();
  });

  it('accepts a form-encoded push (payload=…, signed over the raw body) and hands on its JSON', async () => {
    const sha = await sandbox.gh.pushCommit('develop', { message: 'Ship it', files: { 'S.md': 's\n' } });
    await sandbox.gh.settled();
    const push = sandbox.gh.deliveries().find((d) => d.event === 'push')!;
    expect(push.status).toBe(202);
    expect(delivered.find((d) => d.id === push.id)?.payload).toMatchObject({
      ref: 'refs/heads/develop',
      after: sha,
    });
  });
});
