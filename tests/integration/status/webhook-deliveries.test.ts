// /status's webhook line, from real deliveries: the GitHub stand-in's hook posts to lugh's
// handler, which records each outcome in Redis; the status line is rendered from that record.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderStatusDetails } from '../../../src/bot/status/render.js';
import { githubWebhookHandler } from '../../../src/http/github-webhook.js';
import type { HttpServer } from '../../../src/http/server.js';
import { createLogger } from '../../../src/logger.js';
import { createWebhookLog } from '../../../src/status/webhook-log.js';
import { closeRedis, createRedis, keyspace, type Redis } from '../../../src/store/redis.js';
import { redisUrl } from '../../helpers/services.js';
import { startGitHubWebhookServer } from '../../helpers/webhook-server.js';
import { type Sandbox, startSandbox } from '../sandbox/github/fixture.js';

const SECRET = 'the-secret-lugh-was-given';

describe('/status: GitHub webhook deliveries', () => {
  let redis: Redis;
  let server: HttpServer;
  let sandbox: Sandbox;
  let url: string;
  let log: ReturnType<typeof createWebhookLog>;
  const statusText = async () =>
    renderStatusDetails({
      at: new Date(),
      environments: [],
      webhooks: { ok: true, value: await log.read() },
    });

  beforeAll(async () => {
    redis = createRedis(redisUrl(), { connectionName: 'webhook-deliveries-test' });
    log = createWebhookLog(redis, keyspace(`t-${randomUUID()}`));
    const logger = createLogger({ level: 'silent', secrets: [SECRET] });
    ({ server, url } = await startGitHubWebhookServer(
      logger,
      githubWebhookHandler(SECRET, logger, async () => 'handled', log.record),
    ));
    // The hook was set up with another secret than lugh's: every delivery is refused.
    sandbox = await startSandbox({ webhook: { url, secret: 'not-what-lugh-has' } });
  });
  afterAll(async () => {
    await sandbox?.close();
    server?.close();
    if (redis) await closeRedis(redis);
  });

  it('says no delivery came yet, and where to look', async () => {
    expect(await statusText()).toContain('<b>GitHub webhook</b> no delivery yet');
  });

  it('warns while deliveries are refused, saying how many, why and what to do', async () => {
    await sandbox.gh.pushCommit('develop', { message: 'One', files: { 'A.md': 'a\n' } });
    await sandbox.gh.pushCommit('develop', { message: 'Two', files: { 'B.md': 'b\n' } });
    await sandbox.gh.settled();
    expect(sandbox.gh.deliveries().map((d) => d.status)).toEqual([401, 401]);
    const text = await statusText();
    expect(text).toContain('⚠️ no delivery accepted yet');
    expect(text).toMatch(/⚠️ 2 deliveries refused, the last .* \(push\): 401 bad signature/);
    expect(text).toContain('GITHUB_WEBHOOK_SECRET');
    expect(text).not.toContain(SECRET);
  });

  it('shows when the last delivery was accepted once the hook is fixed, and the warning goes', async () => {
    sandbox.gh.setWebhook({ url, secret: SECRET });
    await sandbox.gh.pushCommit('develop', { message: 'Three', files: { 'C.md': 'c\n' } });
    await sandbox.gh.settled();
    const text = await statusText();
    expect(text).toMatch(/<b>GitHub webhook<\/b> last delivery .* \(push\)/);
    expect(text).not.toContain('refused');
  });
});
