// The isolation audit of preview containers, on a real Docker engine: two app containers
// on their own networks (as doctor-services.test.ts), and preview containers made directly
// with the labels previewNames gives (a namespace of this run's, so other tests' previews on
// the shared engine are not seen). A clean preview passes; one on production's network, one
// connected to production's or staging's database, one carrying a production secret and one
// under another preview's Redis prefix are each caught, named, and no secret is printed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAuditText, runAudit } from '../../src/doctor/audit.js';
import { previewNames } from '../../src/previews/preview.js';
import { createPreviewRuntime } from '../../src/previews/preview-runtime.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../helpers/docker.js';
import { silentLogger as logger } from '../helpers/logger.js';

const { docker, engine: hasDocker } = await testDocker();

type Env = 'staging' | 'production';

const STAGING_DB_PASSWORD = 'staging-db-s3cret-pv';
const PROD_DB_PASSWORD = 'prod-db-s3cret-pv';
const PROD_GITHUB_TOKEN = 'ghp_prodTokenForThePreviewAudit_0123';
const STAGING_TOKEN = '7201001:AAStagingPreviewAuditToken_abcdefghij';
const PROD_TOKEN = '7201002:AAProdPreviewAuditToken_abcdefghijklm';

describe.skipIf(!hasDocker)('the isolation audit of preview containers', () => {
  const run = uniqueName('lugh-test-doctor-pv');
  const names = {
    staging: `${run}-staging-app`,
    production: `${run}-prod-app`,
    stagingNet: `${run}-staging-data`,
    prodNet: `${run}-prod-data`,
  };
  const settings: Record<Env, Record<string, string>> = {
    staging: {
      APP_ENV: 'staging',
      PORT: '3001',
      TELEGRAM_BOT_TOKEN: STAGING_TOKEN,
      DATABASE_URL: `postgres://lugh_staging:${STAGING_DB_PASSWORD}@db:5432/staging_lugh`,
      REDIS_URL: 'redis://db:6379',
      REDIS_PREFIX: 'staging',
      PREVIEW_URL_TEMPLATE: 'http://pr-{n}.preview.localhost:8080/',
      PREVIEW_DATA_NETWORK: names.stagingNet,
    },
    production: {
      APP_ENV: 'production',
      PORT: '3000',
      TELEGRAM_BOT_TOKEN: PROD_TOKEN,
      GITHUB_TOKEN: PROD_GITHUB_TOKEN,
      DATABASE_URL: `postgres://lugh_prod:${PROD_DB_PASSWORD}@db:5432/prod_lugh`,
      REDIS_URL: 'redis://db:6379',
      REDIS_PREFIX: 'prod',
    },
  };
  const limits = {
    staging: { NanoCpus: 0.5e9, Memory: 384 * 2 ** 20, CpuShares: 256, OomScoreAdj: 500 },
    production: { NanoCpus: 1.5e9, Memory: 768 * 2 ** 20, CpuShares: 1024, OomScoreAdj: 0 },
    preview: { NanoCpus: 0.25e9, Memory: 256 * 2 ** 20, CpuShares: 128, OomScoreAdj: 1000 },
  };
  const networks: Docker.Network[] = [];
  let image: string;

  /** A preview's environment as lugh builds it: from scratch, its own names only. */
  const previewEnv = (pr: number) => {
    const n = previewNames(pr, run);
    return {
      PORT: '8080',
      APP_ENV: 'preview',
      PREVIEW_PR: String(pr),
      PUBLIC_URL: `http://pr-${pr}.preview.localhost:8080/`,
      GIT_SHA: 'a'.repeat(40),
      DATABASE_URL: `postgres://${n.role}:derived-${pr}@db:5432/${n.database}`,
      REDIS_URL: `redis://${n.redisUser}:derived-redis-${pr}@db:6379`,
      REDIS_PREFIX: n.redisPrefix,
    };
  };

  async function container(
    name: string,
    env: Record<string, string>,
    labels: Record<string, string>,
    host: object,
  ) {
    const created = await docker.createContainer({
      name,
      Image: image,
      Cmd: ['node', '-e', 'setInterval(() => {}, 1 << 30)'],
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { 'lugh.test': run, ...labels },
      HostConfig: { Init: true, ...host },
    });
    await created.start();
    return created;
  }

  /** Preview `pr` on its own network (and staging's data network), changed by `change`. */
  async function preview(pr: number, change: { env?: Record<string, string>; network?: string } = {}) {
    const n = previewNames(pr, run);
    networks.push(await docker.createNetwork({ Name: n.network, Labels: { 'lugh.test': run, ...n.labels } }));
    const c = await container(n.container, { ...previewEnv(pr), ...change.env }, n.labels, {
      NetworkMode: n.network,
      ...limits.preview,
    });
    for (const net of [names.stagingNet, ...(change.network ? [change.network] : [])])
      await docker.getNetwork(net).connect({ Container: n.container });
    return c;
  }

  const audit = async () => {
    const report = await runAudit({
      docker,
      containers: { staging: names.staging, production: names.production },
      previewNamespace: run,
    });
    return { check: report.checks.find((c) => c.id === 'previews')!, text: renderAuditText(report) };
  };

  const expectNoSecret = (text: string) => {
    for (const secret of [
      STAGING_DB_PASSWORD,
      PROD_DB_PASSWORD,
      PROD_GITHUB_TOKEN,
      STAGING_TOKEN,
      PROD_TOKEN,
    ])
      expect(text).not.toContain(secret);
  };

  /** Runs `body` with preview `pr` made by `make`, removed afterwards. */
  async function withPreview(pr: number, make: () => Promise<Docker.Container>, body: () => Promise<void>) {
    const c = await make();
    try {
      await body();
    } finally {
      await c.remove({ force: true });
      await docker
        .getNetwork(previewNames(pr, run).network)
        .remove()
        .catch(() => {});
    }
  }

  beforeAll(async () => {
    image = await ensureBaseImage(docker);
    for (const name of [names.stagingNet, names.prodNet])
      networks.push(await docker.createNetwork({ Name: name, Labels: { 'lugh.test': run } }));
    for (const env of ['staging', 'production'] as const)
      await container(
        names[env],
        settings[env],
        {},
        {
          NetworkMode: env === 'staging' ? names.stagingNet : names.prodNet,
          ...limits[env],
        },
      );
    await preview(1);
  }, 300_000);

  afterAll(async () => {
    await removeTestResources(docker, run);
    for (const n of networks) await n.remove().catch(() => {});
  }, 60_000);

  it('passes a clean preview, naming it and its networks', async () => {
    const { check, text } = await audit();
    expect(check.ok, text).toBe(true);
    expect(check.evidence).toContain(
      `1 preview(s) (label lugh.preview=${run}): ${previewNames(1, run).container} on`,
    );
    expect(check.evidence).toContain(names.stagingNet);
    expectNoSecret(text);
  }, 60_000);

  it('catches a preview wired to production’s network', async () => {
    const n = previewNames(2, run);
    await withPreview(
      2,
      () => preview(2, { network: names.prodNet }),
      async () => {
        const { check, text } = await audit();
        expect(check.ok, text).toBe(false);
        expect(check.evidence).toContain(
          `${n.container} (PR 2) is on ${names.prodNet}, production's network (${names.production})`,
        );
        expect(check.evidence).not.toContain(previewNames(1, run).container);
        expectNoSecret(text);
      },
    );
  }, 60_000);

  it('catches a preview whose DATABASE_URL is production’s, or staging’s', async () => {
    const n = previewNames(3, run);
    for (const env of ['production', 'staging'] as const) {
      await withPreview(
        3,
        () => preview(3, { env: { DATABASE_URL: settings[env].DATABASE_URL! } }),
        async () => {
          const { check, text } = await audit();
          expect(check.ok, text).toBe(false);
          const db = env === 'production' ? 'prod_lugh' : 'staging_lugh';
          expect(check.evidence).toContain(
            `${n.container} (PR 3) uses ${env}'s database ${db}; carries ${env}'s DATABASE_URL in DATABASE_URL`,
          );
          expectNoSecret(text);
        },
      );
    }
  }, 120_000);

  it('catches a production secret in a preview’s environment, naming the variable, never the value', async () => {
    const n = previewNames(4, run);
    await withPreview(
      4,
      () => preview(4, { env: { SOME_API_KEY: PROD_GITHUB_TOKEN, BOT: `bot${PROD_TOKEN}` } }),
      async () => {
        const { check, text } = await audit();
        expect(check.ok, text).toBe(false);
        expect(check.evidence).toContain(
          `${n.container} (PR 4) carries production's GITHUB_TOKEN in SOME_API_KEY; carries production's TELEGRAM_BOT_TOKEN in BOT`,
        );
        expectNoSecret(text);
      },
    );
  }, 60_000);

  it('catches a preview under another preview’s Redis prefix, or staging’s', async () => {
    const n = previewNames(5, run);
    await withPreview(
      5,
      () => preview(5, { env: { REDIS_PREFIX: previewNames(1, run).redisPrefix } }),
      async () => {
        const { check, text } = await audit();
        expect(check.ok, text).toBe(false);
        expect(check.evidence).toContain(
          `${n.container} (PR 5) keeps its Redis keys under ${previewNames(1, run).redisPrefix}, the prefix of PR 1's preview, not its own ${n.redisPrefix}`,
        );
      },
    );
    await withPreview(
      5,
      () => preview(5, { env: { REDIS_PREFIX: 'staging:pv' } }),
      async () => {
        const { check } = await audit();
        expect(check.evidence).toContain(
          `${n.container} (PR 5) keeps its Redis keys under staging:pv, staging's prefix`,
        );
      },
    );
  }, 120_000);

  it('catches a preview allowed more memory or CPU weight than staging', async () => {
    const n = previewNames(6, run);
    await withPreview(
      6,
      async () => {
        const c = await preview(6);
        await c.update({ Memory: 512 * 2 ** 20, MemorySwap: -1, CpuShares: 1024 });
        return c;
      },
      async () => {
        const { check } = await audit();
        expect(check.ok).toBe(false);
        expect(check.evidence).toContain(
          `${n.container} (PR 6) may use 512 MiB, more than staging's 384; CPU weight 1024 is above staging's 256`,
        );
      },
    );
  }, 60_000);

  it('catches a preview that mounts from the host or has added capabilities', async () => {
    const n = previewNames(10, run);
    const hostDir = mkdtempSync(path.join(tmpdir(), 'lugh-doctor-pv-'));
    try {
      await withPreview(
        10,
        async () => {
          networks.push(
            await docker.createNetwork({ Name: n.network, Labels: { 'lugh.test': run, ...n.labels } }),
          );
          return container(n.container, previewEnv(10), n.labels, {
            NetworkMode: n.network,
            ...limits.preview,
            Binds: [`${hostDir}:/data:ro`],
            CapAdd: ['NET_ADMIN'],
          });
        },
        async () => {
          const { check } = await audit();
          expect(check.ok).toBe(false);
          expect(check.evidence).toContain(
            `${n.container} (PR 10) has the added capabilities NET_ADMIN; mounts ${hostDir} from the host`,
          );
        },
      );
    } finally {
      rmSync(hostDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('looks for the env files’ secrets too (lugh doctor reads .env.prod.local beside the containers)', async () => {
    const n = previewNames(11, run);
    const fileOnly = 'prod-webhook-s3cret-only-in-the-env-file';
    await withPreview(
      11,
      () => preview(11, { env: { HOOK: fileOnly } }),
      async () => {
        const report = await runAudit({
          docker,
          containers: { staging: names.staging, production: names.production },
          previewNamespace: run,
          fallback: (env) =>
            env === 'production'
              ? {
                  settings: { ...settings.production, GITHUB_WEBHOOK_SECRET: fileOnly },
                  from: 'this test’s .env.prod',
                }
              : undefined,
        });
        const check = report.checks.find((c) => c.id === 'previews')!;
        expect(check.ok).toBe(false);
        expect(check.evidence).toContain(
          `${n.container} (PR 11) carries production's GITHUB_WEBHOOK_SECRET in HOOK`,
        );
        expect(renderAuditText(report)).not.toContain(fileOnly);
      },
    );
  }, 60_000);

  it('checks staging’s preview settings against production’s, never printing a password', async () => {
    const report = await runAudit({
      docker,
      containers: { staging: names.staging, production: names.production },
      previewNamespace: run,
      settings: (env) =>
        env === 'staging'
          ? {
              settings: {
                ...settings.staging,
                PREVIEW_DATABASE_ADMIN_URL: `postgres://postgres:${PROD_DB_PASSWORD}@db:5432/postgres`,
                PREVIEW_DATA_NETWORK: names.prodNet,
              },
              from: 'this test',
            }
          : undefined,
    });
    const check = report.checks.find((c) => c.id === 'preview-settings')!;
    const text = renderAuditText(report);
    expect(check.ok, text).toBe(false);
    expect(check.evidence).toContain(
      `PREVIEW_DATABASE_ADMIN_URL uses the password of production's DATABASE_URL (${names.production}).`,
    );
    expect(check.evidence).toContain(`PREVIEW_DATA_NETWORK is "${names.prodNet}", production’s network`);
    expectNoSecret(text);
    const clean = (await audit()).text;
    expect(clean).toMatch(
      /PASS {2}preview-settings +Staging's preview settings lead nowhere near production\n.*staging sets PREVIEW_URL_TEMPLATE, PREVIEW_DATA_NETWORK/,
    );
  }, 60_000);

  it('fails a preview that logs in to Redis as the default user, or with no password, whatever staging does', async () => {
    const n = previewNames(5, run);
    for (const [url, said] of [
      ['redis://db:6379', 'logs in to Redis as default'],
      [`redis://${n.redisUser}@db:6379`, 'logs in to Redis with no password'],
    ] as const)
      await withPreview(
        5,
        () => preview(5, { env: { REDIS_URL: url } }),
        async () => {
          const { check, text } = await audit();
          expect(check.ok, text).toBe(false);
          expect(check.evidence).toContain(`${n.container} (PR 5) ${said}`);
          expect(check.evidence).toContain(`it should be its own ACL user ${n.redisUser}`);
        },
      );
  }, 120_000);

  it('fails a preview that logs in to Redis as staging’s ACL user, never printing its password', async () => {
    const n = previewNames(5, run);
    const stagingRedis = 'redis://lugh_staging:staging-redis-s3cret@db:6379';
    await withPreview(
      5,
      () => preview(5, { env: { REDIS_URL: stagingRedis } }),
      async () => {
        const report = await runAudit({
          docker,
          containers: { staging: names.staging, production: names.production },
          previewNamespace: run,
          settings: (env) =>
            env === 'staging'
              ? { settings: { ...settings.staging, REDIS_URL: stagingRedis }, from: 'this test' }
              : undefined,
        });
        const check = report.checks.find((c) => c.id === 'previews')!;
        expect(check.ok).toBe(false);
        expect(check.evidence).toContain(
          `${n.container} (PR 5) logs in to Redis as staging's user lugh_staging`,
        );
        expect(renderAuditText(report)).not.toContain('staging-redis-s3cret');
      },
    );
  }, 120_000);

  it('audits previews without production’s container, judging its networks by name and saying so', async () => {
    const n = previewNames(7, run);
    await withPreview(
      7,
      () => preview(7, { network: names.prodNet }),
      async () => {
        const report = await runAudit({
          docker,
          containers: { staging: names.staging, production: `${run}-no-such-prod-app` },
          previewNamespace: run,
          fallback: (env) =>
            env === 'production'
              ? { settings: settings.production, from: 'this test’s .env.prod' }
              : undefined,
        });
        const check = report.checks.find((c) => c.id === 'previews')!;
        expect(check.ok).toBe(false);
        expect(check.evidence).toContain(
          `${n.container} (PR 7) is on ${names.prodNet}, by its name production's network`,
        );
        expect(check.evidence).toContain('production has no container here (there is no container');
        expect(check.evidence).not.toContain(previewNames(1, run).container);
        expectNoSecret(renderAuditText(report));
      },
    );
  }, 60_000);

  it('passes a preview the preview runtime starts, and catches one it starts on production’s network', async () => {
    const tag = `${run}:app`;
    const context = pack();
    context.entry(
      { name: 'Dockerfile' },
      `FROM ${image}
LABEL lugh.test=${run}
HEALTHCHECK --interval=1s --timeout=3s --start-period=10s --retries=3 CMD wget -q -O /dev/null "http://127.0.0.1:$PORT/healthz"
CMD ["node", "-e", "require('http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT))"]
`,
    );
    context.finalize();
    await new Promise<void>((resolve, reject) =>
      docker
        .buildImage(context as unknown as NodeJS.ReadableStream, { t: tag, rm: true, forcerm: true })
        .then((stream) => docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve())), reject),
    );
    const runtime = createPreviewRuntime({ docker, logger, namespace: run, imageRepository: run });
    const spec = (pr: number, dataNetwork: string) => {
      const n = previewNames(pr, run);
      return {
        names: n,
        image: tag,
        sha: 'b'.repeat(40),
        port: 8080,
        memoryBytes: 256 * 2 ** 20,
        nanoCpus: 0.25e9,
        env: previewEnv(pr),
        dataNetwork,
      };
    };
    try {
      await runtime.replace(spec(8, names.stagingNet), 90_000);
      const clean = await audit();
      expect(clean.check.ok, clean.text).toBe(true);
      expect(clean.check.evidence).toContain(`2 preview(s) (label lugh.preview=${run})`);
      await runtime.replace(spec(9, names.prodNet), 90_000);
      const { check } = await audit();
      expect(check.ok).toBe(false);
      expect(check.evidence).toContain(
        `${previewNames(9, run).container} (PR 9) is on ${names.prodNet}, production's network (${names.production})`,
      );
      expect(check.evidence).not.toContain(`${previewNames(8, run).container} (PR 8)`);
    } finally {
      for (const pr of [8, 9]) await runtime.remove(previewNames(pr, run)).catch(() => {});
    }
  }, 240_000);
});
