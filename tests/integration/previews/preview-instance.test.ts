// The staging instance as `lugh start` builds it, with the flag previews on: a GitHub
// pull_request delivery to its /webhooks/github (recorded once, as every delivery) starts a
// preview reachable through Caddy, and the promotion's reconciling poll catches a pull
// request closed while no webhook came. Production builds no previews.

import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnections } from '../../../src/app/connections.js';
import { type Instance, startInstance } from '../../../src/app/instance.js';
import { buildPreviews } from '../../../src/app/previews.js';
import { createConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/logger.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createPool } from '../../../src/store/pool.js';
import { createPreviewStore } from '../../../src/store/previews.js';
import { caddyInstalled, type RunningCaddy, startCaddy } from '../../helpers/caddy.js';
import {
  BASE_IMAGE,
  createDockerClient,
  dockerAvailable,
  ensureBaseImage,
  uniqueName,
  waitFor,
} from '../../helpers/docker.js';
import { type GuardedRedis, startGuardedRedis } from '../../helpers/guarded-redis.js';
import { instanceEnv } from '../../helpers/instance-env.js';
import { FAKE_TOKEN } from '../../helpers/lugh-process.js';
import { serverJs } from '../../helpers/preview-world.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { adminDatabaseUrl, createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const ready = caddyInstalled() && (await dockerAvailable());
const SECRET = 'preview-instance-webhook-secret';
const TOKEN = 'ghs_seededGitHubTestToken';
const logger = createLogger({ level: 'fatal', secrets: [], destination: { write: () => {} } });

const ask = (port: number, host: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, timeout: 5_000 },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });

describe.skipIf(!ready)('the staging instance runs previews', () => {
  const namespace = uniqueName('t');
  const docker = createDockerClient();
  let tg: TelegramStandIn;
  let db: TestDatabase;
  let caddy: RunningCaddy;
  let previewRedis: GuardedRedis;
  let github: Awaited<ReturnType<typeof startSeededGitHub>>;
  let instance: Instance;
  let env: Record<string, string>;
  const rows = () => createPreviewStore(createPool(db.url, 'preview-instance-test'), namespace);

  beforeAll(async () => {
    await ensureBaseImage(docker);
    tg = await startTelegramStandIn();
    tg.registerBot({ token: FAKE_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db = await createTestDatabase('staging_lugh');
    caddy = await startCaddy();
    previewRedis = await startGuardedRedis();
    github = await startSeededGitHub(TOKEN);
    env = instanceEnv({
      databaseUrl: db.url,
      apiRoot: tg.apiRoot,
      extra: {
        GITHUB_TOKEN: TOKEN,
        GITHUB_REPO: `${github.gh.repo.owner}/${github.gh.repo.name}`,
        GITHUB_API_URL: github.gh.apiUrl,
        GITHUB_WEBHOOK_SECRET: SECRET,
        PROMOTE_POLL_SECONDS: '1',
        DEPLOY_BASE_IMAGE: BASE_IMAGE,
        DEPLOY_IMAGE_REPOSITORY: namespace,
        FEATURE_PREVIEWS: 'true',
        PREVIEW_URL_TEMPLATE: `http://pr-{n}.${namespace}.localhost:${caddy.port}/`,
        PREVIEW_PROXY_ADMIN_URL: caddy.adminUrl,
        PREVIEW_DATABASE_ADMIN_URL: adminDatabaseUrl(),
        PREVIEW_REDIS_URL: previewRedis.url,
        PREVIEW_MIN_FREE_MEMORY_MB: '1',
        PREVIEW_MIN_FREE_DISK_MB: '1',
      },
    });
    instance = await startInstance(createConfig(env), logger, { docker, previewNamespace: namespace });
    github.gh.setWebhook({ url: `http://127.0.0.1:${instance.port}/webhooks/github`, secret: SECRET });
  }, 120_000);

  afterAll(async () => {
    await instance?.stop();
    await previewRedis?.stop();
    for (const c of await docker.listContainers({
      all: true,
      filters: { label: [`lugh.preview=${namespace}`] },
    }))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    for (const n of await docker.listNetworks({ filters: { label: [`lugh.preview=${namespace}`] } }))
      await docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {});
    for (const image of await docker.listImages({ filters: { reference: [`${namespace}:*`] } }))
      for (const tag of image.RepoTags ?? [])
        await docker
          .getImage(tag)
          .remove({ noprune: true })
          .catch(() => {});
    await github?.gh.close();
    await caddy?.close();
    await tg?.close();
    await db?.drop();
  }, 60_000);

  it('a pull request opened on GitHub is running at its URL; closed while no webhook came, the poll removes it', async () => {
    const opened = await github.gh.openPull({
      headRef: 'feature-instance',
      files: { 'server.js': serverJs('instance') },
    });
    const store = rows();
    const row = await waitFor(
      'the preview running',
      async () => {
        const r = await store.get(opened.number);
        return r && (r.state === 'running' || r.state === 'failed') ? r : undefined;
      },
      120_000,
    );
    expect(row.reason).toBeUndefined();
    expect(row).toMatchObject({ state: 'running', runningSha: opened.headSha });
    const answer = await ask(caddy.port, `pr-${opened.number}.${namespace}.localhost:${caddy.port}`);
    expect(JSON.parse(answer.body)).toMatchObject({
      commit: opened.headSha,
      variant: 'instance',
      env: 'preview',
    });

    github.gh.setWebhook(undefined);
    await github.gh.closePull(opened.number);
    await waitFor(
      'the poll to close it',
      async () => (await store.get(opened.number))?.state === 'closed',
      60_000,
    );
    await waitFor(
      'its container gone',
      async () =>
        (
          await docker.listContainers({
            all: true,
            filters: { label: [`lugh.preview=${namespace}`, `lugh.preview.pr=${opened.number}`] },
          })
        ).length === 0,
      60_000,
    );
    // Its jobs ran on the queue `previews`, which /metrics shows beside the deploys'.
    const scraped = await (await fetch(`http://127.0.0.1:${instance.port}/metrics`)).text();
    const completed = /^lugh_queue_jobs\{queue="previews",state="completed"[^}]*\} (\d+)$/m.exec(scraped);
    expect(Number(completed?.[1])).toBeGreaterThanOrEqual(1);
    expect(scraped).toMatch(/^lugh_queue_oldest_job_age_seconds\{queue="previews"/m);
  }, 240_000);

  it('production builds none, nor staging with the flag off', async () => {
    const production = createConfig(
      instanceEnv({
        appEnv: 'production',
        databaseUrl: db.url.replace(/staging_lugh$/, 'prod_lugh'),
        apiRoot: tg.apiRoot,
      }),
    );
    const staging = createConfig({ ...env, FEATURE_PREVIEWS: 'false' });
    for (const config of [production, staging]) {
      const connections = openConnections(config);
      try {
        expect(
          buildPreviews(config, logger, { connections, docker: async () => docker, redact: (t) => t }),
        ).toBeUndefined();
      } finally {
        await connections.close();
      }
    }
    // The same staging settings with the flag on do build them (the two above are refusals, not a typo).
    const connections = openConnections(createConfig(env));
    expect(
      buildPreviews(createConfig(env), logger, { connections, docker: async () => docker, redact: (t) => t }),
    ).toBeDefined();
    await connections.close();
  });

  it('a start that cannot reach Docker yet is tried again, and the worker starts once it can', async () => {
    const config = createConfig(env);
    const connections = openConnections(config);
    let asked = 0;
    const flaky = async () => {
      asked++;
      if (asked === 1) throw new Error('connect ENOENT /var/run/docker.sock');
      return docker;
    };
    const part = buildPreviews(config, logger, { connections, docker: flaky, redact: (t) => t, namespace })!;
    try {
      await part.start();
      expect(asked).toBe(1);
      await waitFor('the second try', async () => asked >= 2, 10_000);
      // Loaded now: the service answers.
      expect(await part.service.counts()).toMatchObject({ max: 3 });
    } finally {
      await part.stop();
      await connections.close();
    }
  });
});
