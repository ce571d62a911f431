// A commit that declares its services (lugh.yml) through the real step runner, GitHub
// stand-in, Postgres and Docker engine: resolve reads and records the set, build builds
// each distinct build once (services that share an image share its build), a commit with
// the same tree builds nothing, a resumed run takes every service's image back, and a
// lugh.yml that cannot be deployed fails at resolve with the app untouched.
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployNotifier } from '../../../src/deployer/deploy-notifier.js';
import { createImageBuilder } from '../../../src/deployer/image-builder.js';
import { buildSuffix } from '../../../src/deployer/image-plan.js';
import { createDockerRuntime } from '../../../src/deployer/runtime/docker-runtime.js';
import { createStepRunner } from '../../../src/deployer/step-runner.js';
import { buildStep } from '../../../src/deployer/steps/build.js';
import { resolveStep } from '../../../src/deployer/steps/resolve.js';
import type { Step, StepContext } from '../../../src/deployer/steps/step.js';
import { succeeded } from '../../../src/deployer/steps/step.js';
import type { Forge } from '../../../src/forge/forge.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const { docker, engine } = await testDocker();
const TOKEN = 'ghs_serviceSetBuildTestToken';

const SET = `services:
  app:
    order: 20
  worker:
    image_of: app
    command: ["node", "-e", "setInterval(() => {}, 1000)"]
    order: 10
  web:
    build:
      dockerfile: web/Dockerfile
      context: web
    port: 8081
    order: 30
`;

// Built in its own folder: the repository's root (server.js) must not be in its context.
const WEB_DOCKERFILE = `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
LABEL acme.part=web
COPY . /site/
RUN test -f /site/index.html && test ! -e /site/server.js && test ! -e /site/web
CMD ["node", "-e", "setInterval(() => {}, 1000)"]
`;

describe.skipIf(!engine)('a service set’s images (lugh.yml; needs a Docker engine)', () => {
  const repository = uniqueName('lugh-test-set');
  const name = uniqueName('lugh-test-set-app');
  let gh: GitHubStandIn;
  let forge: Forge;
  let db: TestDatabase;
  let pool: Pool;
  let deployments: DeploymentStore;
  let baseImage: string;
  let app: Docker.Container;
  const finished: string[] = [];
  const notifier: DeployNotifier = {
    step: async () => {},
    finished: async (id, _env, outcome) => {
      finished.push(`${id} ${outcome.status} at ${outcome.step}: ${outcome.message}`);
    },
  };
  /** What the steps after build see: the set and each service's image. */
  const seen: Array<Pick<StepContext, 'serviceSet' | 'serviceImages' | 'image'>> = [];
  const probe: Step = {
    name: 'backup',
    async run(ctx) {
      seen.push({ serviceSet: ctx.serviceSet, serviceImages: ctx.serviceImages, image: ctx.image });
      return succeeded();
    },
  };
  const runnerWith = (steps?: readonly Step[], proxied = false) =>
    createStepRunner({
      env: 'staging',
      logger,
      deployments,
      locks: createLockStore(pool),
      source: forge,
      builder: createImageBuilder({ docker, logger, repository }),
      runtime: createDockerRuntime({ docker, logger }),
      notifier,
      containerName: () => name,
      backup: 'staging is not backed up before a deploy',
      buildArgs: { BASE_IMAGE: baseImage },
      healthDeadlineMs: 30_000,
      verifyMs: 2_000,
      proxied,
      ...(steps ? { steps } : {}),
    });
  const deployOf = async (ref: string) =>
    (await deployments.create({ env: 'staging', ref, trigger: 'manual', requestedBy: 1 })).id;

  beforeAll(async () => {
    baseImage = await ensureBaseImage(docker);
    ({ gh, forge } = await startSeededGitHub(TOKEN));
    db = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'service-set-build-test');
    deployments = createDeploymentStore(pool);
    // The environment's app as it runs (resolve requires it; nothing here may touch it).
    app = await docker.createContainer({
      name,
      Image: baseImage,
      Cmd: ['node', '-e', 'setInterval(() => {}, 1000)'],
      Labels: { 'lugh.test': repository },
    });
    await app.start();
  }, 600_000);

  afterAll(async () => {
    await removeTestResources(docker, repository);
    await pool?.end();
    await db?.drop();
    await gh?.close();
  });

  it('builds each distinct build once, the image_of service sharing the app’s; a commit with the same tree builds nothing; a resumed run takes the images back', async () => {
    const sha = await gh.pushCommit('develop', {
      message: 'Declare a worker and a web front',
      files: { 'lugh.yml': SET, 'web/Dockerfile': WEB_DOCKERFILE, 'web/index.html': '<p>acme</p>\n' },
    });
    const runner = runnerWith([resolveStep, buildStep, probe]);
    const id = await deployOf('develop');
    expect(await runner.run(id)).toBe('succeeded');

    const appTag = `${repository}:staging-${sha.slice(0, 12)}`;
    const webTag = `${appTag}-${buildSuffix({ dockerfile: 'web/Dockerfile', context: 'web' })}`;
    expect(await deployments.steps(id)).toEqual([
      { step: 'resolve', status: 'succeeded', detail: `${sha} · services worker, app, web` },
      {
        step: 'build',
        status: 'succeeded',
        detail: `${appTag} · built Dockerfile (worker, app), web/Dockerfile in web (web)`,
      },
      { step: 'backup', status: 'succeeded', detail: null },
    ]);
    // Two images for three services: the worker runs the app's.
    const images = await docker.listImages({ filters: { reference: [`${repository}:staging-*`] } });
    expect(images.flatMap((i) => i.RepoTags ?? []).sort()).toEqual([appTag, webTag].sort());
    // web's own Dockerfile, built in its folder (its RUN checks the root is not in the context).
    const appImage = await docker.getImage(appTag).inspect();
    const webImage = await docker.getImage(webTag).inspect();
    expect(webImage.Config.Labels?.['acme.part']).toBe('web');
    expect(appImage.Config.Labels?.['acme.part']).toBeUndefined();
    expect(appImage.Config.Env).toContain(`COMMIT_SHA=${sha}`);
    expect(seen.at(-1)?.image).toBe(appTag);
    expect(Object.fromEntries(seen.at(-1)?.serviceImages ?? [])).toEqual({
      worker: appTag,
      app: appTag,
      web: webTag,
    });
    expect(seen.at(-1)?.serviceSet?.services.map((s) => s.name)).toEqual(['worker', 'app', 'web']);
    // The set and every container of it are recorded, waiting for the steps that start them.
    expect(
      (await deployments.serviceProgress(id)).map((p) => `${p.service}/${p.replica} ${p.state}`),
    ).toEqual(['worker/1 waiting', 'app/1 waiting', 'web/1 waiting']);
    expect(await deployments.get(id)).toMatchObject({
      image: appTag,
      serviceImages: { worker: appTag, app: appTag, web: webTag },
    });

    // The row is still running (this runner has no record step): running it again is a
    // resumed run, which skips resolve and build and finds every image again.
    seen.length = 0;
    expect(await runner.run(id)).toBe('succeeded');
    expect(Object.fromEntries(seen.at(-1)?.serviceImages ?? [])).toEqual({
      worker: appTag,
      app: appTag,
      web: webTag,
    });
    expect(seen.at(-1)?.serviceSet?.declared).toBe(true);
    expect((await deployments.steps(id)).map((s) => `${s.step} ${s.detail}`)).toContain(
      `build ${appTag} · built Dockerfile (worker, app), web/Dockerfile in web (web)`,
    );

    // The same files in a new commit: nothing is built, each build's image is found by its tree.
    const same = await gh.pushCommit('develop', { message: 'Touch nothing', files: { 'lugh.yml': SET } });
    expect(same).not.toBe(sha);
    const again = await deployOf('develop');
    expect(await runner.run(again)).toBe('succeeded');
    const build = (await deployments.steps(again)).find((s) => s.step === 'build');
    expect(build?.detail).toBe(
      `${repository}:staging-${same.slice(0, 12)} (reused) · reused Dockerfile (worker, app), web/Dockerfile in web (web)`,
    );
    expect(Object.fromEntries(seen.at(-1)?.serviceImages ?? [])).toEqual({
      worker: `${repository}:staging-${same.slice(0, 12)}`,
      app: `${repository}:staging-${same.slice(0, 12)}`,
      web: `${repository}:staging-${same.slice(0, 12)}-${buildSuffix({ dockerfile: 'web/Dockerfile', context: 'web' })}`,
    });
    const [newApp, newWeb] = await Promise.all(
      [
        `${repository}:staging-${same.slice(0, 12)}`,
        `${appTag.replace(sha.slice(0, 12), same.slice(0, 12))}-${buildSuffix({ dockerfile: 'web/Dockerfile', context: 'web' })}`,
      ].map((t) => docker.getImage(t).inspect()),
    );
    expect(newApp?.Id).toBe((await docker.getImage(appTag).inspect()).Id);
    expect(newWeb?.Id).toBe((await docker.getImage(webTag).inspect()).Id);
  }, 600_000);

  it('a lugh.yml that cannot be deployed fails the deploy at resolve, naming the field, and the app keeps running', async () => {
    const before = await app.inspect();
    const cases: Array<{ file: string; says: RegExp; proxied?: boolean }> = [
      { file: 'services:\n  app:\n    replicas: 20\n', says: /services\.app\.replicas: .*at most 8/ },
      { file: 'services:\n  web: {}\n', says: /has no `app`/ },
      { file: 'services: [app\n', says: /lugh\.yml is not valid YAML/ },
      {
        file: 'services:\n  app:\n    build: { dockerfile: Dockerfile, context: web }\n',
        says: /services\.app\.build: .*not inside that folder/,
      },
      {
        file: 'services:\n  app:\n    replicas: 2\n    traffic: true\n    port: 8080\n',
        says: /services\.app: takes traffic with 2 replicas.*set DEPLOY_PROXY_ADMIN_URL/,
      },
    ];
    for (const { file, says } of cases) {
      const sha = await gh.pushCommit('main', {
        message: 'A lugh.yml to refuse',
        files: { 'lugh.yml': file },
      });
      const id = await deployOf('main');
      expect(await runnerWith().run(id), file).toBe('failed');
      const d = await deployments.get(id);
      expect(d?.step, file).toBe('resolve');
      expect(d?.error, file).toMatch(says);
      expect(d?.services ?? null, file).toBeNull();
      expect(await deployments.serviceProgress(id)).toEqual([]);
      expect((await deployments.steps(id)).map((s) => `${s.step} ${s.status}`)).toEqual(['resolve failed']);
      expect(finished.at(-1)).toMatch(new RegExp(`^${id} failed at resolve: `));
      expect(sha).toMatch(/^[0-9a-f]{40}$/);
    }
    const after = await app.inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
  }, 300_000);

  it('replicas taking traffic are deployed where a proxy fronts the app', async () => {
    await gh.pushCommit('main', {
      message: 'Two replicas behind the proxy',
      files: { 'lugh.yml': 'services:\n  app:\n    replicas: 2\n    traffic: true\n    port: 8080\n' },
    });
    const id = await deployOf('main');
    expect(await runnerWith([resolveStep], true).run(id)).toBe('succeeded');
    expect((await deployments.steps(id))[0]?.detail).toMatch(/ · services app ×2$/);
    expect((await deployments.serviceProgress(id)).map((p) => p.container)).toEqual([name, `${name}-2`]);
  }, 120_000);
});
