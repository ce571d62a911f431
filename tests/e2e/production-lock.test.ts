// Production's deploy lock as staging sees it: production publishes it in Redis while a
// deploy holds it, and staging's /promote refuses while it is there. Every way a deploy
// ends must take it down again, or /promote is refused for the lock's whole expiry.
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connections } from '../../src/app/connections.js';
import { openConnections } from '../../src/app/connections.js';
import { buildDeployParts, type DeployParts } from '../../src/app/deploy-parts.js';
import { type Config, createConfig } from '../../src/config/index.js';
import { createImageBuilder } from '../../src/deployer/image-builder.js';
import { createGitHubClient } from '../../src/forge/github/github-client.js';
import { createGitHubForge } from '../../src/forge/github/github-forge.js';
import { readDeployLock } from '../../src/store/instance-registry.js';
import { runMigrations } from '../../src/store/migrate.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../helpers/docker.js';
import { instanceEnv } from '../helpers/instance-env.js';
import { silentLogger as logger } from '../helpers/logger.js';
import { admin, createPromotionWorld, isPrompt, type PromotionWorld } from '../helpers/promotion-world.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

const { docker, engine } = await testDocker();
const PROD_TOKEN = '7001004:AAProductionLockTestToken_abcdefghijkl';

describe.skipIf(!engine)('production’s published deploy lock (needs a Docker engine)', () => {
  const run = uniqueName('lugh-test-prodlock');
  const container = `${run}-production-app`;
  // Not named after the run: a staging name may not carry production's marker ("prod").
  const stagingContainer = `${uniqueName('lugh-test-stg')}-staging-app`;
  let w: PromotionWorld;
  let prodDb: TestDatabase;
  let prodConfig: Config;
  let connections: Connections;
  let prod: DeployParts;

  beforeAll(async () => {
    const baseImage = await ensureBaseImage(docker);
    // Staging deploys its own container on the engine too (the last test promotes what it ran).
    w = await createPromotionWorld({
      env: {
        DEPLOY_CONTAINER: stagingContainer,
        DEPLOY_IMAGE_REPOSITORY: run,
        DEPLOY_BASE_IMAGE: baseImage,
        DEPLOY_HEALTH_SECONDS: '40',
        DEPLOY_VERIFY_SECONDS: '2',
      },
    });
    w.tg.registerBot({ token: PROD_TOKEN, username: 'LughBot', firstName: 'Lugh' });
    prodDb = await createTestDatabase('prod_lugh');
    await runMigrations({ databaseUrl: prodDb.url, logger });
    prodConfig = createConfig(
      instanceEnv({
        appEnv: 'production',
        databaseUrl: prodDb.url,
        apiRoot: w.tg.apiRoot,
        token: PROD_TOKEN,
        // Production of this world: the prefix staging reads the published lock under.
        redisSub: w.config.redisPrefix.slice('staging:'.length),
        redisUrl: w.config.redisUrl,
        extra: {
          ADMIN_IDS: String(admin.id),
          LOG_LEVEL: 'warn',
          GITHUB_TOKEN: w.config.github.token!,
          GITHUB_REPO: `${w.gh.repo.owner}/${w.gh.repo.name}`,
          GITHUB_API_URL: w.gh.apiUrl,
          DEPLOY_CONTAINER: container,
          DEPLOY_IMAGE_REPOSITORY: run,
          DEPLOY_BASE_IMAGE: baseImage,
          DEPLOY_BACKUP: 'off',
          DEPLOY_HEALTH_SECONDS: '40',
          DEPLOY_VERIFY_SECONDS: '2',
        },
      }),
    );
    connections = openConnections(prodConfig, 'production-lock-test');
    const forge = createGitHubForge(
      createGitHubClient({ token: w.config.github.token!, apiUrl: w.gh.apiUrl, logger, resilient: false }),
      w.gh.repo,
    );
    const api = new Api(PROD_TOKEN, { apiRoot: w.tg.apiRoot });
    // Production's deploy engine wired as `lugh start` wires it (its lock store publishes).
    prod = buildDeployParts(prodConfig, logger, {
      docker: async () => docker,
      connections,
      forge,
      redact: (t) => t,
      api: () => api,
    });
    // What production runs at first: main's commit.
    const builder = createImageBuilder({ docker, logger, repository: run });
    const image = await builder.ensure({
      env: 'production',
      sha: w.seeded.mainSha,
      tarball: () => forge.tarball(w.seeded.mainSha),
      buildArgs: { BASE_IMAGE: baseImage },
    });
    for (const [name, env] of [
      [container, 'production'],
      [stagingContainer, 'staging'],
    ] as const) {
      const app = await docker.createContainer({
        name,
        Image: image.tag,
        Env: [`APP_ENV=${env}`, `GIT_SHA=${w.seeded.mainSha}`],
        Labels: { 'lugh.test': run },
        HostConfig: { RestartPolicy: { Name: 'unless-stopped' } },
      });
      await app.start();
    }
  }, 600_000);

  afterAll(async () => {
    await prod?.notifier.flush().catch(() => {});
    await connections?.close();
    await removeTestResources(docker, run);
    await w?.close();
    await prodDb?.drop();
  });

  const published = () => readDeployLock(connections.redis, prodConfig.redisPrefix);

  /** Staging's /promote, right now: accepted (then cancelled, so the next one is not "in flight") or refused. */
  async function promote(): Promise<string> {
    const sent = w.say(admin, '/promote');
    const first = await w.waitFor(admin.id, (m) => m.message_id > sent.message_id);
    const text = first.text ?? '';
    if (!text.includes('⛔')) {
      const cancel = w.say(admin, '/cancel');
      await w.waitFor(
        admin.id,
        (m) => m.message_id > cancel.message_id && (m.text ?? '').includes('cancelled'),
      );
    }
    return text;
  }

  /** Runs one production deployment through the real step runner, watching the lock it publishes. */
  async function deploy(create: () => Promise<number>) {
    const id = await create();
    const seen: string[] = [];
    const watch = setInterval(() => {
      void published().then((l) => l && seen.push(l.owner));
    }, 50);
    try {
      return { outcome: await (await prod.engine()).runner.run(id), id, seen };
    } finally {
      clearInterval(watch);
    }
  }

  it('is published while a deploy holds it, and gone after a deploy that succeeds: /promote is accepted at once', async () => {
    expect(await promote()).not.toContain('⛔');
    const { outcome, id, seen } = await deploy(
      async () => (await prod.deployments.create({ env: 'production', ref: 'main', trigger: 'manual' })).id,
    );
    expect(outcome).toBe('succeeded');
    // Published while it ran (staging would have refused then) ...
    expect(seen).toContain(`deployment:${id}`);
    // ... and taken down when it ended.
    expect(await published()).toBeUndefined();
    expect(await promote()).not.toContain('⛔');
  }, 240_000);

  it('is gone after a deploy that fails: /promote is accepted at once', async () => {
    const { outcome } = await deploy(
      async () =>
        (await prod.deployments.create({ env: 'production', ref: 'no-such-branch', trigger: 'manual' })).id,
    );
    expect(outcome).toBe('failed');
    expect(await published()).toBeUndefined();
    expect(await promote()).not.toContain('⛔');
  }, 120_000);

  it('is gone after a /rollback deploy: /promote is accepted at once', async () => {
    const { outcome } = await deploy(async () => {
      const { deployment } = await prod.deployments.createRollback({
        env: 'production',
        sha: w.seeded.mainSha,
        requestKey: 'production-lock-test-rollback',
        requestedBy: admin.id,
      });
      return deployment.id;
    });
    expect(outcome).toBe('succeeded');
    expect(await published()).toBeUndefined();
    expect(await promote()).not.toContain('⛔');
  }, 240_000);
  it('a promotion’s production deploy runs the very image staging ran, and its report says so', async () => {
    // Staging deploys develop's head (through its own queue and worker) and says which image it ran.
    const asked = w.say(admin, '/deploy staging');
    const deployed = await w.waitFor(
      admin.id,
      (m) => m.message_id > asked.message_id && /✅ Deploy #\d+ done/.test(m.text ?? ''),
      180_000,
    );
    expect(deployed.text).toContain(`staging runs ${w.seeded.developSha.slice(0, 7)}`);
    const stagingImage = (await docker.getContainer(stagingContainer).inspect()).Image;

    // The promotion: CI green, Yes, a real merge commit on main (a new SHA, develop's tree), a signed handoff.
    const sent = w.say(admin, '/promote');
    const prompt = await w.waitFor(admin.id, (m) => m.message_id > sent.message_id && isPrompt(m), 60_000);
    w.press(admin.id, prompt, 'Yes', admin);
    await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'), 60_000);
    const merge = w.git('rev-parse', 'main');
    expect(merge).not.toBe(w.seeded.developSha);
    expect(w.git('rev-parse', 'main^{tree}')).toBe(w.git('rev-parse', `${w.seeded.developSha}^{tree}`));

    // Production claims the handoff and deploys the merge commit; its bot tells the approver,
    // who has opened a chat with it (a bot cannot write first).
    w.tg.sendText({
      token: PROD_TOKEN,
      chat: { id: admin.id, type: 'private' },
      from: admin,
      text: '/start',
    });
    const [id] = await (await prod.engine()).intake!.poll();
    expect(id).toBeDefined();
    const { outcome } = await deploy(async () => id!);
    expect(outcome).toBe('succeeded');
    const running = await docker.getContainer(container).inspect();
    expect(running.Image).toBe(stagingImage);
    expect(running.Config.Env).toContain(`GIT_SHA=${merge}`);
    await prod.notifier.flush();
    const report = await w.tg.waitForBotMessage(
      PROD_TOKEN,
      admin.id,
      (m) => new RegExp(`✅ Deploy #${id} done`).test(m.text ?? ''),
      { timeoutMs: 20_000 },
    );
    expect(report.text).toContain(`production runs ${merge.slice(0, 7)}`);
    expect(report.text).toMatch(/📦 same image staging ran since \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  }, 300_000);
});
