import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployNotifier } from '../../../src/deployer/deploy-notifier.js';
import { createDeployWorker } from '../../../src/deployer/deploy-worker.js';
import { createImageBuilder } from '../../../src/deployer/image-builder.js';
import { createDeployQueue, enqueueDeploy } from '../../../src/deployer/queue.js';
import { createDockerRuntime } from '../../../src/deployer/runtime/docker-runtime.js';
import type { Runtime } from '../../../src/deployer/runtime/runtime.js';
import { createStepRunner } from '../../../src/deployer/step-runner.js';
import type { Forge } from '../../../src/forge/forge.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createRedis, type Redis } from '../../../src/store/redis.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../../helpers/services.js';

const { docker, engine } = await testDocker();
const TOKEN = 'ghs_deployRunnerTestToken';

describe.skipIf(!engine)('deploy runner and worker (needs a Docker engine)', () => {
  const repository = uniqueName('lugh-test-deploy');
  const name = uniqueName('lugh-test-staging-app');
  let gh: GitHubStandIn;
  let forge: Forge;
  let db: TestDatabase;
  let pool: Pool;
  let deployments: DeploymentStore;
  let redis: Redis;
  let seeded: { mainSha: string; developSha: string };
  let container: Docker.Container;
  const events: string[] = [];
  /** Per result announced, who held the deploy lock at that moment. */
  const lockWhenAnnounced = new Map<number, string>();
  const notifier: DeployNotifier = {
    step: async (id, env, step) => {
      events.push(`${id} ${env} ${step}`);
    },
    finished: async (id, env, outcome) => {
      lockWhenAnnounced.set(id, (await createLockStore(pool).held('deploy:staging'))?.owner ?? 'free');
      events.push(
        `${id} ${env} ${outcome.status}: ${outcome.message}${outcome.logTail ? ` | ${outcome.logTail.join(' / ')}` : ''}`,
      );
    },
  };
  let runner: ReturnType<typeof createStepRunner>;

  beforeAll(async () => {
    const baseImage = await ensureBaseImage(docker);
    ({ gh, forge, seeded } = await startSeededGitHub(TOKEN));
    db = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'deploy-runner-test');
    deployments = createDeploymentStore(pool);
    redis = createRedis(redisUrl(), { connectionName: 'deploy-runner-test' });
    const builder = createImageBuilder({ docker, logger, repository });
    runner = createStepRunner({
      env: 'staging',
      logger,
      deployments,
      locks: createLockStore(pool),
      source: forge,
      builder,
      runtime: createDockerRuntime({ docker, logger }),
      notifier,
      containerName: () => name,
      backup: 'staging is not backed up before a deploy',
      buildArgs: { BASE_IMAGE: baseImage },
      healthDeadlineMs: 30_000,
      verifyMs: 3_000,
    });
    // What runs now: main's commit.
    const v1 = await builder.ensure({
      env: 'staging',
      sha: seeded.mainSha,
      tarball: () => forge.tarball(seeded.mainSha),
      buildArgs: { BASE_IMAGE: baseImage },
    });
    container = await docker.createContainer({
      name,
      Image: v1.tag,
      Env: ['APP_ENV=staging'],
      Labels: { 'lugh.test': repository },
      HostConfig: { RestartPolicy: { Name: 'unless-stopped' } },
    });
    await container.start();
  }, 600_000);

  afterAll(async () => {
    await removeTestResources(docker, repository);
    await redis?.quit();
    await pool?.end();
    await db?.drop();
    await gh?.close();
  });

  it('deploys a branch through its named steps, each recorded and announced, and records the SHA', async () => {
    const deployment = await deployments.create({
      env: 'staging',
      ref: 'develop',
      trigger: 'manual',
      requestedBy: 1,
    });
    const replaced = await docker.getContainer(name).inspect();
    // The commit it runs as the runtime reads it: GIT_SHA, else the COMMIT_SHA its image bakes in.
    const replacedSha = await createDockerRuntime({ docker, logger }).runningSha(name);
    expect(await runner.run(deployment.id)).toBe('succeeded');
    // Whoever reads the result may /lock or deploy at once: the lock is free by then.
    expect(lockWhenAnnounced.get(deployment.id)).toBe('free');
    expect(await deployments.steps(deployment.id)).toEqual([
      { step: 'resolve', status: 'succeeded', detail: seeded.developSha },
      {
        step: 'build',
        status: 'succeeded',
        detail: `${repository}:staging-${seeded.developSha.slice(0, 12)}`,
      },
      { step: 'backup', status: 'skipped', detail: 'staging is not backed up before a deploy' },
      { step: 'migrate', status: 'skipped', detail: 'the image declares no lugh.migrate command' },
      // Which container the switch replaces, for a resumed run to put back if unverified.
      {
        step: 'start',
        status: 'succeeded',
        detail: `replaces ${replaced.Id}${replacedSha ? ` at ${replacedSha}` : ''}`,
      },
      { step: 'health', status: 'succeeded', detail: null },
      { step: 'switch', status: 'succeeded', detail: null },
      { step: 'verify', status: 'succeeded', detail: null },
      { step: 'cleanup', status: 'succeeded', detail: 'nothing to remove' },
      { step: 'record', status: 'succeeded', detail: null },
    ]);
    expect(await deployments.get(deployment.id)).toMatchObject({
      status: 'succeeded',
      sha: seeded.developSha,
    });
    expect(events.filter((e) => e.startsWith(`${deployment.id} `))).toEqual([
      `${deployment.id} staging resolve`,
      `${deployment.id} staging build`,
      `${deployment.id} staging migrate`,
      `${deployment.id} staging start`,
      `${deployment.id} staging health`,
      `${deployment.id} staging switch`,
      `${deployment.id} staging verify`,
      `${deployment.id} staging cleanup`,
      `${deployment.id} staging record`,
      `${deployment.id} staging succeeded: staging runs ${seeded.developSha.slice(0, 7)}`,
    ]);
    expect((await docker.getContainer(name).inspect()).Config.Env).toContain(`GIT_SHA=${seeded.developSha}`);
  }, 180_000);

  it('two deploys racing: the second waits for the first’s lock, both finish, one container runs', async () => {
    const a = await deployments.create({ env: 'staging', ref: 'main', trigger: 'manual' });
    const b = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'manual' });
    const outcomes = await Promise.all([runner.run(a.id), runner.run(b.id)]);
    expect(outcomes).toEqual(['succeeded', 'succeeded']);
    // One after the other: the one that started second switched only after the first recorded.
    const [first, second] = [await deployments.get(a.id), await deployments.get(b.id)].sort(
      (x, y) => x!.startedAt!.getTime() - y!.startedAt!.getTime(),
    );
    const firstRecorded = (
      await pool.query(
        `SELECT finished_at FROM deployment_steps WHERE deployment_id = $1 AND step = 'record'`,
        [first!.id],
      )
    ).rows[0].finished_at as Date;
    const secondSwitched = (
      await pool.query(
        `SELECT started_at FROM deployment_steps WHERE deployment_id = $1 AND step = 'switch'`,
        [second!.id],
      )
    ).rows[0].started_at as Date;
    expect(secondSwitched.getTime()).toBeGreaterThan(firstRecorded.getTime());
    const running = await docker.listContainers({ filters: { name: [`^/${name}`], status: ['running'] } });
    expect(running.map((c) => c.Names[0])).toEqual([`/${name}`]);
    expect((await docker.getContainer(name).inspect()).Config.Env).toContain(`GIT_SHA=${second!.sha}`);
    expect((await pool.query('SELECT count(*)::int AS n FROM locks')).rows[0].n).toBe(0);
  }, 240_000);

  it('an unknown ref fails at resolve with a clear message, and nothing changes', async () => {
    const before = (await docker.getContainer(name).inspect()).Id;
    const deployment = await deployments.create({ env: 'staging', ref: 'no-such-branch', trigger: 'manual' });
    expect(await runner.run(deployment.id)).toBe('failed');
    expect(lockWhenAnnounced.get(deployment.id)).toBe('free');
    expect(await deployments.get(deployment.id)).toMatchObject({ status: 'failed' });
    expect((await deployments.steps(deployment.id)).at(-1)).toEqual({
      step: 'resolve',
      status: 'failed',
      detail: '"no-such-branch" is not a branch of the repository',
    });
    expect((await docker.getContainer(name).inspect()).Id).toBe(before);
  }, 60_000);

  it('a deployment whose runner died for good is abandoned as a failure ends: step failed, lock freed, chat told', async () => {
    const before = (await docker.getContainer(name).inspect()).Id;
    const deployment = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'manual' });
    // As a killed runner leaves it: running at build, holding the lock.
    await deployments.stepStarted(deployment.id, 'build');
    const locks = createLockStore(pool);
    await locks.acquire({
      name: 'deploy:staging',
      owner: `deployment:${deployment.id}`,
      reason: 'deploy',
      ttlMs: 60_000,
    });
    await runner.abandon(deployment.id, 'the deploy runner stopped twice without finishing (exit code 137)', [
      'last line',
    ]);
    const message =
      'the deploy runner stopped twice without finishing (exit code 137); the environment was put back to one running container';
    expect(await deployments.get(deployment.id)).toMatchObject({ status: 'failed', error: message });
    expect((await deployments.steps(deployment.id)).at(-1)).toEqual({
      step: 'build',
      status: 'failed',
      detail: message,
    });
    expect(await locks.held('deploy:staging')).toBeUndefined();
    expect(lockWhenAnnounced.get(deployment.id)).toBe('free');
    expect(events.at(-1)).toBe(`${deployment.id} staging failed: ${message} | last line`);
    expect((await docker.getContainer(name).inspect()).Id).toBe(before);
    // Once ended, it stays as it is.
    await runner.abandon(deployment.id, 'again');
    expect((await deployments.get(deployment.id))?.error).toBe(message);
  }, 60_000);

  it('a job on the BullMQ queue is taken by the worker: a sick version fails at health and the old container keeps running', async () => {
    const prefix = `staging:${randomUUID().slice(0, 8)}`;
    const queue = createDeployQueue(redis, prefix);
    const worker = createDeployWorker(redis.duplicate(), prefix, runner, logger);
    try {
      const sick = await gh.pushCommit('develop', {
        message: 'Sick',
        files: {
          'server.js': `require('node:http').createServer((q, s) => { s.writeHead(500); s.end(); }).listen(8080, () => console.log('sick version up'));\n`,
        },
      });
      const deployment = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'push' });
      const running = (await docker.getContainer(name).inspect()).Id;
      await enqueueDeploy(queue, deployment.id);
      await expect
        .poll(async () => (await deployments.get(deployment.id))?.status, { timeout: 120_000, interval: 500 })
        .toBe('failed');
      expect((await deployments.steps(deployment.id)).find((s) => s.status === 'failed')?.step).toBe(
        'health',
      );
      expect(events.at(-1)).toContain('sick version up');
      expect((await docker.getContainer(name).inspect()).Id).toBe(running);
      expect((await deployments.get(deployment.id))?.sha).toBe(sick);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  }, 180_000);

  /** A staging step runner over the given runtime (the lock tests wrap the real one). */
  const stagingRunnerWith = async (runtime: Runtime) =>
    createStepRunner({
      env: 'staging',
      logger,
      deployments,
      locks: createLockStore(pool),
      source: forge,
      builder: createImageBuilder({ docker, logger, repository }),
      runtime,
      notifier,
      containerName: () => name,
      backup: 'staging is not backed up before a deploy',
      buildArgs: { BASE_IMAGE: await ensureBaseImage(docker) },
      healthDeadlineMs: 30_000,
      verifyMs: 3_000,
    });

  it('a lock taken away inside the switch: the deploy stops at the next step, rolled back, the old container runs, no crash', async () => {
    const before = await docker.getContainer(name).inspect();
    const real = createDockerRuntime({ docker, logger });
    const runtime: typeof real = {
      ...real,
      // While the switch runs, someone else ends up holding the lock (a /unlock, then a /lock).
      switchOver: async (preflight, deadlineMs) => {
        const switched = await real.switchOver(preflight, deadlineMs);
        await pool.query(
          `UPDATE locks SET owner = 'user:42', reason = 'mine now' WHERE name = 'deploy:staging'`,
        );
        return switched;
      },
    };
    const stolen = await stagingRunnerWith(runtime);
    const deployment = await deployments.create({ env: 'staging', ref: 'main', trigger: 'manual' });
    expect(await stolen.run(deployment.id)).toBe('failed');
    const row = await deployments.get(deployment.id);
    expect(row?.status).toBe('failed');
    expect(row?.error).toContain('staging is locked by user:42 (mine now)');
    expect(row?.error).toContain('the previous version runs again');
    const after = await docker.getContainer(name).inspect();
    expect([after.Id, after.State.Running]).toEqual([before.Id, true]);
    // Never past the switch without the lock; the other holder keeps it.
    const steps = await deployments.steps(deployment.id);
    expect(steps.slice(-2)).toEqual([
      { step: 'switch', status: 'succeeded', detail: null },
      { step: 'verify', status: 'failed', detail: expect.stringContaining('locked by user:42') },
    ]);
    expect((await createLockStore(pool).held('deploy:staging'))?.owner).toBe('user:42');
    await pool.query(`DELETE FROM locks WHERE name = 'deploy:staging'`);
  }, 240_000);

  it('a lock taken away between the switch’s phases: the switch stops there and the old container runs again', async () => {
    const before = await docker.getContainer(name).inspect();
    const real = createDockerRuntime({ docker, logger });
    const runtime: typeof real = {
      ...real,
      // The lock changes hands right after the old container stopped (the first check).
      switchOver: (preflight, deadlineMs, holdLock) =>
        real.switchOver(preflight, deadlineMs, async () => {
          await pool.query(
            `UPDATE locks SET owner = 'user:43', reason = 'mine midway' WHERE name = 'deploy:staging'`,
          );
          await holdLock?.();
        }),
    };
    const stolen = await stagingRunnerWith(runtime);
    const deployment = await deployments.create({ env: 'staging', ref: 'main', trigger: 'manual' });
    const outcome = await stolen.run(deployment.id);
    expect([outcome, (await deployments.get(deployment.id))?.error]).toEqual([
      'rolled_back',
      expect.any(String),
    ]);
    const row = await deployments.get(deployment.id);
    expect(row?.error).toContain('the deploy lost its lock');
    expect(row?.error).toContain('staging is locked by user:43 (mine midway)');
    expect(row?.error).toContain('the previous version runs again');
    const after = await docker.getContainer(name).inspect();
    expect([after.Id, after.State.Running, after.Name]).toEqual([before.Id, true, `/${name}`]);
    const steps = await deployments.steps(deployment.id);
    expect(steps.at(-1)).toMatchObject({ step: 'switch', status: 'failed' });
    expect((await createLockStore(pool).held('deploy:staging'))?.owner).toBe('user:43');
    await pool.query(`DELETE FROM locks WHERE name = 'deploy:staging'`);
  }, 240_000);
});
