// Images through a registry (DEPLOY_REGISTRY), through the real build and cleanup steps,
// the GitHub stand-in, Postgres, the Docker engine and Debian's distribution registry
// requiring a login (htpasswd): a build is pushed once as `sha-<sha12>` and deployed by
// its digest (the Docker runtime starts it by that reference); production, reusing the
// image staging ran, gets the very digest without a second push; a wrong password fails
// the build naming the registry and the user, the password nowhere; retention deletes the
// manifests no environment keeps and never one the app or the other environment uses; a
// registry that refuses deletes leaves its tags and the deploy succeeds, saying so.
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployNotifier } from '../../../src/deployer/deploy-notifier.js';
import { createImageBuilder } from '../../../src/deployer/image-builder.js';
import { createImageRegistry, type ImageRegistry } from '../../../src/deployer/registry/image-registry.js';
import { createRegistryApi, MANIFEST_ACCEPT } from '../../../src/deployer/registry/registry-api.js';
import { registryRepository } from '../../../src/deployer/registry/registry-reference.js';
import { createDockerRuntime } from '../../../src/deployer/runtime/docker-runtime.js';
import { createStepRunner } from '../../../src/deployer/step-runner.js';
import { buildStep } from '../../../src/deployer/steps/build.js';
import { cleanupStep } from '../../../src/deployer/steps/cleanup.js';
import { resolveStep } from '../../../src/deployer/steps/resolve.js';
import { type Step, succeeded } from '../../../src/deployer/steps/step.js';
import type { Forge } from '../../../src/forge/forge.js';
import { createLogger } from '../../../src/logger.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';

type ImageRegistryApi = ReturnType<typeof createRegistryApi>;

import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger } from '../../helpers/logger.js';
import {
  type RunningRegistry,
  registryInstalled,
  removeRegistryImages,
  startRegistry,
} from '../../helpers/registry.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const { docker, engine } = await testDocker();
const TOKEN = 'ghs_registryPushTestToken';
const USER = 'lugh-pusher';
const PASSWORD = 'reg1stry-Pa55-s3cret';
const DIGEST_REF = /@sha256:[0-9a-f]{64}$/;

describe.skipIf(!engine || (!registryInstalled() && !process.env.CI))(
  'images through a registry (needs a Docker engine and docker-registry)',
  () => {
    const repository = uniqueName('lugh-test-reg');
    const apps = {
      staging: uniqueName('lugh-test-reg-staging'),
      production: uniqueName('lugh-test-reg-prod'),
    };
    let gh: GitHubStandIn;
    let forge: Forge;
    let db: TestDatabase;
    let pool: Pool;
    let deployments: DeploymentStore;
    let baseImage: string;
    let registry: RunningRegistry;
    const finished: string[] = [];
    const logLines: string[] = [];
    // No secrets given to the redactor: what the registry code logs must hold no password itself.
    const logger = createLogger({
      level: 'debug',
      secrets: [],
      destination: { write: (l) => logLines.push(l) },
    });
    const notifier: DeployNotifier = {
      step: async (...args) => {
        finished.push(JSON.stringify(args));
      },
      finished: async (id, _env, outcome) => {
        finished.push(
          `${id} ${outcome.status} at ${outcome.step}: ${outcome.message} ${outcome.logTail ?? ''}`,
        );
      },
    };
    /** What the steps after build see, and the Docker runtime starting it (a pre-flight beside the app). */
    const seen: Array<string | undefined> = [];
    const runtime = createDockerRuntime({ docker, logger: silentLogger });
    const startsByDigest: Step = {
      name: 'start',
      async run(ctx) {
        seen.push(ctx.image);
        const preflight = await ctx.runtime.startPreflight({
          containerName: ctx.containerName,
          image: ctx.image!,
          sha: ctx.sha!,
        });
        const info = await docker.getContainer(preflight.id).inspect();
        await ctx.runtime.removePreflight(preflight);
        return succeeded(`${info.Config.Image} ran as ${info.Image}`);
      },
    };
    /** The app runs the new image by its reference; the one it ran is kept as `<name>-previous` (as the Docker runtime's switch leaves them). */
    const switchesTo: Step = {
      name: 'switch',
      async run(ctx) {
        await docker
          .getContainer(`${ctx.containerName}-previous`)
          .remove({ force: true })
          .catch(() => {});
        await docker.getContainer(ctx.containerName).rename({ name: `${ctx.containerName}-previous` });
        await appContainer(ctx.containerName, ctx.image!);
        return succeeded();
      },
    };
    const imageRegistry = (
      over: { registry?: RunningRegistry; password?: string; api?: ImageRegistryApi } = {},
    ): ImageRegistry =>
      createImageRegistry({
        docker,
        logger,
        registry: (over.registry ?? registry).address,
        imageRepository: repository,
        username: USER,
        password: over.password ?? PASSWORD,
        api: over.api,
      });
    const runnerFor = (
      env: 'staging' | 'production',
      steps: readonly Step[],
      reg: ImageRegistry,
      keepImages = 5,
    ) =>
      createStepRunner({
        env,
        logger,
        deployments,
        locks: createLockStore(pool),
        source: forge,
        builder: createImageBuilder({ docker, logger: silentLogger, repository }),
        registry: reg,
        runtime,
        notifier,
        containerName: (e) => apps[e],
        backup: 'not backed up in this test',
        buildArgs: { BASE_IMAGE: baseImage },
        healthDeadlineMs: 30_000,
        verifyMs: 2_000,
        keepImages,
        steps,
      });
    const deploy = async (
      runner: ReturnType<typeof runnerFor>,
      env: 'staging' | 'production',
      sha: string,
    ) => {
      const id = (await deployments.create({ env, ref: 'develop', sha, trigger: 'manual', requestedBy: 1 }))
        .id;
      const outcome = await runner.run(id);
      return { id, outcome, steps: await deployments.steps(id), row: await deployments.get(id) };
    };
    /** The registry's answer to HEAD of a tag, as lugh asks it (logged in). */
    const digestOf = async (tag: string, reg = registry) => {
      const r = await fetch(`${reg.apiUrl}${repository}/manifests/${tag}`, {
        method: 'HEAD',
        headers: {
          accept: MANIFEST_ACCEPT,
          authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
        },
      });
      return r.status === 200 ? r.headers.get('docker-content-digest') : r.status;
    };
    const manifestPuts = (reg = registry) =>
      reg
        .log()
        .split('\n')
        .filter((l) => l.includes(`"PUT /v2/${repository}/manifests/`)).length;
    const appContainer = async (name: string, image: string): Promise<Docker.Container> => {
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => {});
      const c = await docker.createContainer({
        name,
        Image: image,
        Cmd: ['node', '-e', 'setInterval(() => {}, 1000)'],
        Labels: { 'lugh.test': repository },
      });
      await c.start();
      return c;
    };
    const commit = (n: string) =>
      gh.pushCommit('develop', { message: `Registry test ${n}`, files: { [`registry-${n}.txt`]: `${n}\n` } });

    beforeAll(async () => {
      baseImage = await ensureBaseImage(docker);
      ({ gh, forge } = await startSeededGitHub(TOKEN));
      db = await createTestDatabase('staging_lugh');
      await runMigrations({ databaseUrl: db.url, logger: silentLogger });
      pool = createPool(db.url, 'registry-push-test');
      deployments = createDeploymentStore(pool);
      registry = await startRegistry({ auth: { username: USER, password: PASSWORD } });
      for (const name of Object.values(apps)) await appContainer(name, baseImage);
    }, 600_000);

    afterAll(async () => {
      await removeTestResources(docker, repository);
      await removeRegistryImages(docker, repository);
      await registry?.close();
      await pool?.end();
      await db?.drop();
      await gh?.close();
    });

    it('pushes the build once as sha-<sha12> and deploys its digest; production reuses that very digest without a push', async () => {
      const sha = await commit('one');
      const reg = imageRegistry();
      const staging = await deploy(
        runnerFor('staging', [resolveStep, buildStep, startsByDigest], reg),
        'staging',
        sha,
      );
      expect(staging.outcome, finished.join('\n')).toBe('succeeded');
      const pushedDigest = await digestOf(`sha-${sha.slice(0, 12)}`);
      expect(pushedDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const reference = `${registry.address}/${repository}@${pushedDigest}`;
      expect(seen.at(-1)).toBe(reference);
      expect(staging.row?.image).toBe(reference);
      expect(staging.steps.find((s) => s.step === 'build')?.detail).toBe(
        `${repository}:staging-${sha.slice(0, 12)} → ${reference} (pushed as sha-${sha.slice(0, 12)})`,
      );
      // The Docker runtime started the digest reference: the image it ran is the one built.
      expect(staging.steps.find((s) => s.step === 'start')?.detail).toBe(
        `${reference} ran as ${staging.row?.imageId}`,
      );
      const puts = manifestPuts();
      expect(puts).toBe(1);

      const production = await deploy(
        runnerFor('production', [resolveStep, buildStep, startsByDigest], reg),
        'production',
        sha,
      );
      expect(production.outcome, finished.join('\n')).toBe('succeeded');
      expect(production.row?.image).toBe(reference);
      expect(production.row?.imageId).toBe(staging.row?.imageId);
      expect(production.steps.find((s) => s.step === 'build')?.detail).toContain(
        `→ ${reference} (pushed before)`,
      );
      expect(manifestPuts()).toBe(puts);
    }, 300_000);

    it('a wrong password fails the build naming the registry and the user, never the password', async () => {
      const sha = await commit('two');
      const wrong = 'not-the-Pa55word';
      const before = logLines.length;
      const failed = await deploy(
        runnerFor('staging', [resolveStep, buildStep], imageRegistry({ password: wrong })),
        'staging',
        sha,
      );
      expect(failed.outcome).toBe('failed');
      expect(failed.row?.error).toContain(
        `the registry ${registry.address} refused the credentials of ${USER}: ${registry.address}/${repository}:sha-${sha.slice(0, 12)} was not pushed`,
      );
      const everything = [
        JSON.stringify(failed.row),
        JSON.stringify(failed.steps),
        finished.join('\n'),
        logLines.slice(before).join('\n'),
      ].join('\n');
      expect(everything).toContain(USER);
      expect(everything).not.toContain(wrong);
      expect(everything).not.toContain(PASSWORD);
      expect(everything).not.toContain(Buffer.from(`${USER}:${wrong}`).toString('base64'));
      // Nothing was pushed, and no local name of the push is left behind.
      expect(await digestOf(`sha-${sha.slice(0, 12)}`)).toBe(404);
      expect(
        await docker.listImages({
          filters: { reference: [`${registry.address}/${repository}:sha-${sha.slice(0, 12)}`] },
        }),
      ).toEqual([]);

      // The same commit with the right password goes through.
      const ok = await deploy(
        runnerFor('staging', [resolveStep, buildStep], imageRegistry()),
        'staging',
        sha,
      );
      expect(ok.outcome, finished.join('\n')).toBe('succeeded');
      expect(ok.row?.image).toMatch(DIGEST_REF);
    }, 300_000);

    it('retention deletes the manifests no environment keeps, never the one the app runs nor one the other environment keeps', async () => {
      const reg = imageRegistry();
      const build = runnerFor('staging', [resolveStep, buildStep], reg);
      const [a, b, c] = [await commit('a'), await commit('b'), await commit('c')];
      const images: Record<string, string> = {};
      for (const [name, sha] of Object.entries({ a, b, c })) {
        const { outcome, row } = await deploy(build, 'staging', sha);
        expect(outcome, finished.join('\n')).toBe('succeeded');
        images[name] = row!.image!;
      }
      // The staging app runs a (by its digest); production keeps b's image (its tag).
      await appContainer(apps.staging, images.a!);
      const bTag = `${repository}:production-${b.slice(0, 12)}`;
      await docker.getImage(images.b!).tag({ repo: repository, tag: `production-${b.slice(0, 12)}` });
      const d = await commit('d');
      // Keep 1: the newest image, plus the running and previous versions'.
      const cleanup = runnerFor('staging', [resolveStep, buildStep, switchesTo, cleanupStep], reg, 1);
      const first = await deploy(cleanup, 'staging', d);
      expect(first.outcome, finished.join('\n')).toBe('succeeded');
      const tagOf = (sha: string) => `sha-${sha.slice(0, 12)}`;
      // Kept: d (the app runs it now), a (the previous version), b (production keeps it); c goes.
      for (const sha of [a, b, d]) expect(await digestOf(tagOf(sha)), tagOf(sha)).toMatch(/^sha256:/);
      expect(await digestOf(tagOf(c))).toBe(404);
      const detail = first.steps.find((s) => s.step === 'cleanup')?.detail;
      expect(detail).toContain(tagOf(c));
      expect(detail).toContain(`from ${registry.address}`);
      for (const sha of [a, b, d]) expect(detail).not.toContain(tagOf(sha));

      // Production lets b go, and a is no longer the previous version: both go; d and e stay.
      await docker.getImage(bTag).remove();
      const e = await commit('e');
      const second = await deploy(cleanup, 'staging', e);
      expect(second.outcome, finished.join('\n')).toBe('succeeded');
      expect(await digestOf(tagOf(a))).toBe(404);
      expect(await digestOf(tagOf(b))).toBe(404);
      for (const sha of [d, e]) expect(await digestOf(tagOf(sha)), tagOf(sha)).toMatch(/^sha256:/);
      // The running image is still there by its digest reference.
      const running = (await deployments.get(second.id))!.image!;
      const pulled = await fetch(`${registry.apiUrl}${repository}/manifests/${running.split('@')[1]}`, {
        headers: {
          accept: MANIFEST_ACCEPT,
          authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
        },
      });
      expect(pulled.status).toBe(200);
    }, 600_000);

    it('a registry that refuses deletes leaves its tags, and the deploy succeeds saying so', async () => {
      const refusing = await startRegistry({ auth: { username: USER, password: PASSWORD }, deletes: false });
      try {
        const reg = imageRegistry({ registry: refusing });
        const cleanup = runnerFor('staging', [resolveStep, buildStep, switchesTo, cleanupStep], reg, 1);
        const [f, g, h] = [await commit('f'), await commit('g'), await commit('h')];
        for (const sha of [f, g])
          expect((await deploy(cleanup, 'staging', sha)).outcome, finished.join('\n')).toBe('succeeded');
        // f is neither the newest, nor running (h), nor the previous version (g): it would go.
        const last = await deploy(cleanup, 'staging', h);
        expect(last.outcome, finished.join('\n')).toBe('succeeded');
        const detail = last.steps.find((s) => s.step === 'cleanup')?.detail ?? '';
        expect(detail).toContain(`could not delete old tags from ${refusing.address}`);
        expect(detail).toContain('405 UNSUPPORTED');
        expect(detail).toMatch(
          new RegExp(`: (sha-[0-9a-f]+, )*sha-${f.slice(0, 12)}(, sha-[0-9a-f]+)* stay$`),
        );
        expect(await digestOf(`sha-${f.slice(0, 12)}`, refusing)).toMatch(/^sha256:/);
      } finally {
        await refusing.close();
      }
    }, 600_000);

    it('pushes through the engine when lugh cannot reach the registry itself (a loopback registry seen from a container); cleanup says it could not delete', async () => {
      // The registry's HTTP API as lugh in a container would find a host's loopback registry: nobody there.
      const api = createRegistryApi({ repository: registryRepository('127.0.0.1:9', repository) });
      const cleanup = runnerFor(
        'staging',
        [resolveStep, buildStep, switchesTo, cleanupStep],
        imageRegistry({ api }),
        1,
      );
      const sha = await commit('unreachable');
      const deployed = await deploy(cleanup, 'staging', sha);
      expect(deployed.outcome, finished.join('\n')).toBe('succeeded');
      expect(deployed.row?.image).toBe(
        `${registry.address}/${repository}@${await digestOf(`sha-${sha.slice(0, 12)}`)}`,
      );
      const detail = deployed.steps.find((s) => s.step === 'cleanup')?.detail ?? '';
      expect(detail).toContain(`could not delete old tags from ${registry.address}`);
      expect(detail).toContain('did not answer');
    }, 300_000);
  },
);
