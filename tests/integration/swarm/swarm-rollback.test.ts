// The Swarm runtime's other paths: a missing service, /rollback, a lost lock, converge after a crash, the migration job, a refused service set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../../src/deployer/runtime/runtime.js';
import { createLockStore } from '../../../src/store/locks.js';
import { testDocker, uniqueName } from '../../helpers/docker.js';
import { ensureSwarm } from '../../helpers/swarm.js';
import { type SwarmDeployWorld, serverJs, startSwarmDeployWorld } from '../../helpers/swarm-deploy-world.js';

const { docker, engine } = await testDocker();
const swarm = engine ? await ensureSwarm(docker).catch(() => false) : false;

/** A Dockerfile like the seeded one, with a migration declared (`lugh.migrate`). */
const migratingDockerfile = `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
ARG GIT_SHA=unknown
ENV NODE_ENV=production COMMIT_SHA=\${GIT_SHA} PORT=8080
WORKDIR /app
COPY package.json server.js migrate.js ./
USER 1000:1000
LABEL lugh.migrate='["node","migrate.js"]'
HEALTHCHECK --interval=2s --timeout=10s --start-period=5s --retries=2 \\
  CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
CMD ["node", "server.js"]
`;

/** Fails unless it runs with the app service's environment and Docker secret; reports one migration named after them. */
const migrateJs = (secret: string) => `const fs = require('node:fs');
const value = fs.readFileSync('/run/secrets/${secret}', 'utf8');
if (value !== 'sesame' || process.env.APP_ENV !== 'staging') { console.error('not the app service\\'s env or secret'); process.exit(3); }
console.log('migrating ' + process.env.GIT_SHA);
console.log('lugh.migrations ' + JSON.stringify({ applied: ['0001_with_' + process.env.APP_ENV + '_secret'], irreversible: [] }));
`;

describe.skipIf(!engine || !swarm)(
  'the Swarm runtime: /rollback, a lost lock, converge, migrations (needs a swarm manager)',
  () => {
    const run = uniqueName('lugh-test-swarm');
    let world: SwarmDeployWorld;
    let repository: SwarmDeployWorld['repository'];
    let name: SwarmDeployWorld['name'];
    let secretName: SwarmDeployWorld['secretName'];
    let gh: SwarmDeployWorld['gh'];
    let seeded: SwarmDeployWorld['seeded'];
    let pool: SwarmDeployWorld['pool'];
    let deployments: SwarmDeployWorld['deployments'];
    let v1Tag: SwarmDeployWorld['v1Tag'];
    let outcomes: SwarmDeployWorld['outcomes'];
    let runtime: SwarmDeployWorld['runtime'];
    let runner: SwarmDeployWorld['runner'];
    let runnerWith: SwarmDeployWorld['runnerWith'];
    let specOf: SwarmDeployWorld['specOf'];
    let runningTasks: SwarmDeployWorld['runningTasks'];
    let deploy: SwarmDeployWorld['deploy'];

    beforeAll(async () => {
      world = await startSwarmDeployWorld(docker, run);
      ({
        repository,
        name,
        secretName,
        gh,
        seeded,
        pool,
        deployments,
        v1Tag,
        outcomes,
        runtime,
        runner,
        runnerWith,
        specOf,
        runningTasks,
        deploy,
      } = world);
    }, 600_000);

    afterAll(async () => {
      await world?.close();
    });

    it('a missing service is refused at start, naming it and what to do', async () => {
      await expect(runtime().requireContainer(`${run}-nope`)).rejects.toThrow(
        `there is no Swarm service ${run}-nope to update: deploy the stack first`,
      );
    });

    it('/rollback to the earlier release updates the service back to its image', async () => {
      expect((await deploy('develop')).outcome).toBe('succeeded');
      expect((await specOf()).Image).not.toBe(v1Tag);
      const { deployment } = await deployments.createRollback({
        env: 'staging',
        sha: seeded.mainSha,
        requestKey: `rollback-${run}`,
        requestedBy: 1,
      });
      await runner.run(deployment.id);
      expect(outcomes.get(deployment.id)).toMatchObject({ status: 'succeeded' });
      const spec = await specOf();
      expect(spec.Image).toBe(v1Tag);
      expect(spec.Env).toContain(`GIT_SHA=${seeded.mainSha}`);
      expect(await deployments.get(deployment.id)).toMatchObject({
        status: 'succeeded',
        sha: seeded.mainSha,
      });
      const tasks = await runningTasks();
      expect(tasks.map((t) => t.Spec.ContainerSpec.Image)).toEqual([v1Tag, v1Tag]);
    }, 300_000);

    it('a lock taken away before Swarm completed the update: lugh rolls the service back, the other holder keeps the lock', async () => {
      const before = await specOf();
      const real = runtime();
      const stolen: Runtime = {
        ...real,
        switchOver: (preflight, deadlineMs, holdLock, progress) =>
          real.switchOver(
            preflight,
            deadlineMs,
            async () => {
              await pool.query(
                `UPDATE locks SET owner = 'user:42', reason = 'mine now' WHERE name = 'deploy:staging'`,
              );
              await holdLock?.();
            },
            progress,
          ),
      };
      const d = await deployments.create({
        env: 'staging',
        ref: seeded.developSha,
        trigger: 'manual',
        requestedBy: 1,
      });
      await pool.query('UPDATE deployments SET sha = $2 WHERE id = $1', [d.id, seeded.developSha]);
      expect(await runnerWith(stolen).run(d.id)).toBe('rolled_back');
      const row = await deployments.get(d.id);
      expect(row?.error).toContain('the deploy lost its lock');
      expect(row?.error).toContain('staging is locked by user:42 (mine now)');
      expect(row?.error).toMatch(/the previous version runs again$/);
      expect((await specOf()).Image).toBe(before.Image);
      await expect
        .poll(async () => (await runningTasks()).map((t) => t.Spec.ContainerSpec.Image), { timeout: 60_000 })
        .toEqual([before.Image, before.Image]);
      expect((await createLockStore(pool).held('deploy:staging'))?.owner).toBe('user:42');
      await pool.query(`DELETE FROM locks WHERE name = 'deploy:staging'`);
    }, 300_000);

    it('after a crash between the update and a passed verify, converge puts the service back to the image it replaced', async () => {
      const swarmRuntime = runtime();
      const before = await specOf();
      const beforeSha = await swarmRuntime.runningSha(name);
      // As a killed run leaves it: the update issued and its tasks running, never verified.
      const preflight = await swarmRuntime.startPreflight({
        containerName: name,
        image: `${repository}:staging-${seeded.developSha.slice(0, 12)}`,
        sha: seeded.developSha,
      });
      await swarmRuntime.awaitPreflight(preflight, 60_000);
      expect(preflight.currentId).toBe(before.Image);
      const done = await swarmRuntime.converge(name, {
        replacedId: preflight.currentId,
        replacedSha: beforeSha,
      });
      expect(done).toContain(`put ${name} back to ${before.Image}`);
      expect((await specOf()).Image).toBe(before.Image);
      expect(await swarmRuntime.runningSha(name)).toBe(beforeSha);
      await expect
        .poll(async () => (await runningTasks()).map((t) => t.Spec.ContainerSpec.Image), { timeout: 60_000 })
        .toEqual([before.Image, before.Image]);
      // Converged already: nothing more to do.
      expect(
        await swarmRuntime.converge(name, { replacedId: preflight.currentId, replacedSha: beforeSha }),
      ).toBeUndefined();
    }, 300_000);

    it('runs the image’s migration as a one-off Swarm job with the service’s env and secret, then removes the job', async () => {
      const sha = await gh.pushCommit('develop', {
        message: 'A migration',
        files: {
          'server.js': serverJs('migrated'),
          'migrate.js': migrateJs(secretName),
          Dockerfile: migratingDockerfile,
        },
      });
      const { id } = await deploy('develop');
      expect(outcomes.get(id)).toMatchObject({ status: 'succeeded' });
      expect((await deployments.steps(id)).find((s) => s.step === 'migrate')).toEqual({
        step: 'migrate',
        status: 'succeeded',
        detail: 'node migrate.js · applied 0001_with_staging_secret',
      });
      expect((await specOf()).Env).toContain(`GIT_SHA=${sha}`);
      const jobs = await docker.listServices({
        filters: JSON.stringify({ label: [`lugh.migrate-of=${name}`] }),
      });
      expect(jobs).toEqual([]);
      // /logs (and the result's Logs button): the service's last lines, every task's.
      await expect
        .poll(async () => (await runtime().logs(name, 20)).join('\n'), { timeout: 30_000 })
        .toContain('migrated up');
    }, 300_000);

    it('a commit declaring a service set (lugh.yml) is refused at resolve, saying why, and the service is untouched', async () => {
      const before = await specOf();
      await gh.pushCommit('develop', {
        message: 'Declare a set',
        files: {
          'lugh.yml':
            'services:\n  app:\n    health: { http: /healthz }\n  worker:\n    image_of: app\n    command: ["node", "server.js"]\n',
        },
      });
      const { id, outcome } = await deploy('develop');
      expect(outcome).toBe('failed');
      expect((await deployments.steps(id)).at(-1)).toMatchObject({
        step: 'resolve',
        status: 'failed',
        detail: expect.stringMatching(/^lugh\.yml sets are not supported with DEPLOY_RUNTIME=swarm yet: /),
      });
      expect(await specOf()).toEqual(before);
    }, 120_000);
  },
);
