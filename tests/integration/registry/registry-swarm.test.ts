// A registry under the Swarm runtime (DEPLOY_RUNTIME=swarm with DEPLOY_REGISTRY and a
// login): whole deploys through the step runner (every step) update a Swarm service of the
// seeded app to the pushed digest reference, with the registry's credentials; /rollback to
// an earlier release runs the digest its deployment recorded, pushing nothing; retention
// deletes from the registry the digest that is neither the service's spec nor its previous
// spec. On the shared single-node swarm (tests/helpers/swarm.ts).
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployNotifier } from '../../../src/deployer/deploy-notifier.js';
import { createImageBuilder } from '../../../src/deployer/image-builder.js';
import { createImageRegistry } from '../../../src/deployer/registry/image-registry.js';
import { MANIFEST_ACCEPT } from '../../../src/deployer/registry/registry-api.js';
import { createSwarmRuntime } from '../../../src/deployer/runtime/swarm-runtime.js';
import { createStepRunner } from '../../../src/deployer/step-runner.js';
import type { Forge } from '../../../src/forge/forge.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import {
  type RunningRegistry,
  registryInstalled,
  removeRegistryImages,
  startRegistry,
} from '../../helpers/registry.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';
import { ensureSwarm, removeSwarmResources } from '../../helpers/swarm.js';
import { createAppService, runningTasksOf } from '../../helpers/swarm-app-service.js';

const { docker, engine } = await testDocker();
const swarm = engine ? await ensureSwarm(docker).catch(() => false) : false;
const TOKEN = 'ghs_registrySwarmTestToken';
const USER = 'swarm-pusher';
const PASSWORD = 'sw4rm-Reg-s3cret';

describe.skipIf(!engine || !swarm || (!registryInstalled() && !process.env.CI))(
  'a registry under the Swarm runtime (needs a swarm manager and docker-registry)',
  () => {
    const run = uniqueName('lugh-test-regswarm');
    const repository = run;
    const name = `${run}-app`;
    let gh: GitHubStandIn;
    let forge: Forge;
    let db: TestDatabase;
    let pool: Pool;
    let deployments: DeploymentStore;
    let registry: RunningRegistry;
    let runner: (keepImages: number) => ReturnType<typeof createStepRunner>;
    const outcomes = new Map<number, string>();
    const notifier: DeployNotifier = {
      step: async () => {},
      finished: async (id, _env, outcome) => {
        outcomes.set(
          id,
          `${outcome.status} at ${outcome.step}: ${outcome.message} ${outcome.logTail?.join('\n') ?? ''}`,
        );
      },
    };
    const spec = async () =>
      (
        ((await docker.getService(name).inspect()) as Docker.Service).Spec!
          .TaskTemplate as Docker.ContainerTaskSpec
      ).ContainerSpec!;
    const runningImages = async () =>
      (await runningTasksOf(docker, name)).map((t) => t.Spec?.ContainerSpec?.Image);
    const manifestPuts = () =>
      registry
        .log()
        .split('\n')
        .filter((l) => l.includes(`"PUT /v2/${repository}/manifests/`)).length;
    const digestOf = async (tag: string) => {
      const r = await fetch(`${registry.apiUrl}${repository}/manifests/${tag}`, {
        method: 'HEAD',
        headers: {
          accept: MANIFEST_ACCEPT,
          authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
        },
      });
      return r.status === 200 ? r.headers.get('docker-content-digest') : r.status;
    };
    const deployOf = async (sha: string, keepImages = 5) => {
      const d = await deployments.create({
        env: 'staging',
        ref: 'develop',
        sha,
        trigger: 'manual',
        requestedBy: 1,
      });
      const outcome = await runner(keepImages).run(d.id);
      expect(outcome, outcomes.get(d.id)).toBe('succeeded');
      return (await deployments.get(d.id))!;
    };
    const commit = (n: string) =>
      gh.pushCommit('develop', { message: `Swarm registry ${n}`, files: { [`swarm-${n}.txt`]: `${n}\n` } });

    beforeAll(async () => {
      const baseImage = await ensureBaseImage(docker);
      let seeded: { mainSha: string };
      ({ gh, forge, seeded } = await startSeededGitHub(TOKEN));
      db = await createTestDatabase('staging_lugh');
      await runMigrations({ databaseUrl: db.url, logger });
      pool = createPool(db.url, 'registry-swarm-test');
      deployments = createDeploymentStore(pool);
      registry = await startRegistry({ auth: { username: USER, password: PASSWORD } });
      const builder = createImageBuilder({ docker, logger, repository });
      const imageRegistry = createImageRegistry({
        docker,
        logger,
        registry: registry.address,
        imageRepository: repository,
        username: USER,
        password: PASSWORD,
      });
      runner = (keepImages) =>
        createStepRunner({
          env: 'staging',
          logger,
          deployments,
          locks: createLockStore(pool),
          source: forge,
          builder,
          registry: imageRegistry,
          runtime: createSwarmRuntime({ docker, logger, monitorMs: 2_000, registryAuth: imageRegistry.auth }),
          notifier,
          containerName: () => name,
          backup: 'staging is not backed up before a deploy',
          buildArgs: { BASE_IMAGE: baseImage },
          healthDeadlineMs: 60_000,
          verifyMs: 3_000,
          migrateTimeoutMs: 60_000,
          keepImages,
        });
      // What runs now: main's commit, by its local tag, as a stack started before the registry.
      const v1 = await builder.ensure({
        env: 'staging',
        sha: seeded.mainSha,
        tarball: () => forge.tarball(seeded.mainSha),
        buildArgs: { BASE_IMAGE: baseImage },
      });
      // A node started to fetch takes more than a second on a loaded machine: the check's
      // timeout (5 s) must not be what fails the deploy.
      await createAppService(docker, { run, name, image: v1.tag, replicas: 1, retries: 3, startPeriodS: 5 });
    }, 600_000);

    afterAll(async () => {
      await removeSwarmResources(docker, run);
      await removeTestResources(docker, repository);
      await removeRegistryImages(docker, repository);
      await registry?.close();
      await pool?.end();
      await db?.drop();
      await gh?.close();
    });

    it('updates the service to the pushed digest; /rollback runs the recorded digest without a push; retention keeps the spec’s and the previous spec’s', async () => {
      const [a, b, c] = [await commit('a'), await commit('b'), await commit('c')];
      const first = await deployOf(a);
      expect(first.image).toBe(
        `${registry.address}/${repository}@${await digestOf(`sha-${a.slice(0, 12)}`)}`,
      );
      expect((await spec()).Image).toBe(first.image);
      expect(await runningImages()).toEqual([first.image]);

      const second = await deployOf(b);
      expect((await spec()).Image).toBe(second.image);
      const puts = manifestPuts();

      // /rollback to a: the digest a's deployment recorded, nothing pushed.
      const { deployment } = await deployments.createRollback({
        env: 'staging',
        sha: a,
        requestKey: `rollback-${run}`,
        requestedBy: 1,
      });
      expect(await runner(5).run(deployment.id), outcomes.get(deployment.id)).toBe('succeeded');
      const back = (await deployments.get(deployment.id))!;
      expect(back.image).toBe(first.image);
      expect((await spec()).Image).toBe(first.image);
      expect(manifestPuts()).toBe(puts);

      // c, keeping one image: the service runs c, its previous spec is a; b goes from the registry.
      const third = await deployOf(c, 1);
      expect((await spec()).Image).toBe(third.image);
      expect(await digestOf(`sha-${b.slice(0, 12)}`)).toBe(404);
      expect(await digestOf(`sha-${a.slice(0, 12)}`)).toMatch(/^sha256:/);
      expect(await digestOf(`sha-${c.slice(0, 12)}`)).toMatch(/^sha256:/);
      const cleanup = (await deployments.steps(third.id)).find((s) => s.step === 'cleanup');
      expect(cleanup?.detail).toContain(`deleted sha-${b.slice(0, 12)} from ${registry.address}`);
    }, 600_000);
  },
);
