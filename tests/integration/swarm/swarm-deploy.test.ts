// A deploy through the Swarm runtime, and the versions Swarm rolls back (before and after they take traffic).
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployWorker } from '../../../src/deployer/deploy-worker.js';
import { createDeployQueue, enqueueDeploy } from '../../../src/deployer/queue.js';
import type { Runtime } from '../../../src/deployer/runtime/runtime.js';
import { testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { ensureSwarm } from '../../helpers/swarm.js';
import { type SwarmDeployWorld, serverJs, startSwarmDeployWorld } from '../../helpers/swarm-deploy-world.js';

const { docker, engine } = await testDocker();
const swarm = engine ? await ensureSwarm(docker).catch(() => false) : false;

describe.skipIf(!engine || !swarm)('deploys through the Swarm runtime (needs a swarm manager)', () => {
  const run = uniqueName('lugh-test-swarm');
  let world: SwarmDeployWorld;
  let repository: SwarmDeployWorld['repository'];
  let name: SwarmDeployWorld['name'];
  let gh: SwarmDeployWorld['gh'];
  let forge: SwarmDeployWorld['forge'];
  let seeded: SwarmDeployWorld['seeded'];
  let deployments: SwarmDeployWorld['deployments'];
  let redis: SwarmDeployWorld['redis'];
  let v1Tag: SwarmDeployWorld['v1Tag'];
  let events: SwarmDeployWorld['events'];
  let outcomes: SwarmDeployWorld['outcomes'];
  let runtime: SwarmDeployWorld['runtime'];
  let runner: SwarmDeployWorld['runner'];
  let runnerWith: SwarmDeployWorld['runnerWith'];
  let service: SwarmDeployWorld['service'];
  let specOf: SwarmDeployWorld['specOf'];
  let runningTasks: SwarmDeployWorld['runningTasks'];
  let deploy: SwarmDeployWorld['deploy'];
  let statusesOf: SwarmDeployWorld['statusesOf'];

  beforeAll(async () => {
    world = await startSwarmDeployWorld(docker, run);
    ({
      repository,
      name,
      gh,
      forge,
      seeded,
      deployments,
      redis,
      v1Tag,
      events,
      outcomes,
      runtime,
      runner,
      runnerWith,
      service,
      specOf,
      runningTasks,
      deploy,
      statusesOf,
    } = world);
  }, 600_000);

  afterAll(async () => {
    await world?.close();
  });

  it('deploys a 2-replica service through the queue as one start-first update, saying how its tasks go', async () => {
    const prefix = `staging:${randomUUID().slice(0, 8)}`;
    const queue = createDeployQueue(redis, prefix);
    const worker = createDeployWorker(redis.duplicate(), prefix, runner, logger);
    try {
      const d = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'push' });
      await enqueueDeploy(queue, d.id);
      await expect
        .poll(async () => (await deployments.get(d.id))?.status, { timeout: 240_000, interval: 500 })
        .toBe('succeeded');
      const mine = events.filter((e) => e.startsWith(`${d.id} `));
      expect(mine).toContain(`${d.id} health: updating 1/2 tasks`);
      expect(mine).toContain(`${d.id} health: updating 2/2 tasks`);
      expect(mine.filter((e) => !e.includes(':'))).toEqual(
        [
          'resolve',
          'build',
          'migrate',
          'start',
          'health',
          'switch',
          'verify',
          'cleanup',
          'record',
          'succeeded',
        ].map((s) => `${d.id} ${s}`),
      );
      const start = (await deployments.steps(d.id)).find((s) => s.step === 'start');
      // What a resumed run would put back: the image the service ran, at main's commit.
      expect(start?.detail).toBe(`replaces ${v1Tag} at ${seeded.mainSha}`);
      const spec = await specOf();
      expect(spec.Image).toBe(`${repository}:staging-${seeded.developSha.slice(0, 12)}`);
      expect(spec.Env).toContain(`GIT_SHA=${seeded.developSha}`);
      expect(spec.Labels?.['lugh.sha']).toBe(seeded.developSha);
      const s = await service();
      expect(s.Spec?.UpdateConfig).toMatchObject({
        Order: 'start-first',
        FailureAction: 'rollback',
        Parallelism: 1,
      });
      expect(s.UpdateStatus?.State).toBe('completed');
      expect((await runningTasks()).map((t) => t.Spec.ContainerSpec.Image)).toEqual([spec.Image, spec.Image]);
      expect(await runtime().runningSha(name)).toBe(seeded.developSha);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  }, 300_000);

  it('a version never healthy is rolled back by Swarm before it takes traffic: the automatic rollback, with the task and its lines', async () => {
    const before = await specOf();
    const sick = await gh.pushCommit('develop', {
      message: 'Sick from the start',
      files: { 'server.js': serverJs('never healthy', true) },
    });
    const github = (await forge.createDeployment(sick, 'staging', 'a push', {})).id;
    const { id, outcome } = await deploy('develop', github);
    expect(outcome).toBe('rolled_back');
    const failedAt = (await deployments.steps(id)).find((s) => s.status === 'failed');
    expect(failedAt?.step).toBe('health');
    const result = outcomes.get(id)!;
    expect(result.message).toMatch(
      /^\S+: task [0-9a-z]{12} unhealthy; Swarm rolled \S+ back, the previous version runs again$/,
    );
    expect(result.logTail?.join('\n')).toContain('never healthy up');
    expect(events).toContainEqual(
      expect.stringMatching(new RegExp(`^${id} health: rolled back: task [0-9a-z]{12} unhealthy$`)),
    );
    expect(await deployments.get(id)).toMatchObject({
      status: 'rolled_back',
      sha: sick,
      error: result.message,
    });
    // GitHub hears it as from the Docker runtime: in progress, then failure with the reason.
    expect(await statusesOf(github)).toEqual([
      { state: 'in_progress', description: 'lugh deploys develop' },
      { state: 'failure', description: expect.stringContaining('unhealthy') },
    ]);
    // The version before runs on, both replicas.
    expect((await specOf()).Image).toBe(before.Image);
    const tasks = await runningTasks();
    expect(tasks.map((t) => t.Spec.ContainerSpec.Image)).toEqual([before.Image, before.Image]);
  }, 300_000);

  it('a fix deployed over a version that crash-loops goes through (the surplus tasks Swarm stops are no failure)', async () => {
    // Put there by hand, as a person would: the never-healthy build, no rollback.
    const sickTag = (await docker.listImages({ filters: { reference: [`${repository}:staging-*`] } }))
      .flatMap((i) => i.RepoTags ?? [])
      .find((t) => !t.includes(seeded.mainSha.slice(0, 12)) && !t.includes(seeded.developSha.slice(0, 12)))!;
    const s = await service();
    const spec = s.Spec!;
    await docker.getService(name).update({
      _query: { version: s.Version?.Index },
      _body: {
        ...spec,
        TaskTemplate: {
          ...spec.TaskTemplate,
          ContainerSpec: { ...(spec.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec, Image: sickTag },
        },
        UpdateConfig: { Parallelism: 2, Order: 'stop-first', FailureAction: 'continue' },
      },
    });
    const failing = async () =>
      (await docker.listTasks({ filters: JSON.stringify({ service: [name] }) })).some(
        (t) => t.Spec.ContainerSpec.Image === sickTag && ['failed', 'complete'].includes(t.Status.State),
      );
    const until = Date.now() + 60_000;
    while (!(await failing()) && Date.now() < until) await new Promise((r) => setTimeout(r, 500));
    expect(await failing()).toBe(true);
    // The fix: the release before, through /rollback.
    const { deployment } = await deployments.createRollback({
      env: 'staging',
      sha: seeded.developSha,
      requestKey: `fix-${run}`,
      requestedBy: 1,
    });
    await runner.run(deployment.id);
    expect(outcomes.get(deployment.id)).toMatchObject({ status: 'succeeded' });
    const image = `${repository}:staging-${seeded.developSha.slice(0, 12)}`;
    expect((await specOf()).Image).toBe(image);
    await expect
      .poll(async () => (await runningTasks()).map((t) => t.Spec.ContainerSpec.Image), { timeout: 60_000 })
      .toEqual([image, image]);
  }, 300_000);

  it('a version that falls sick after it took traffic is rolled back as well, naming the task', async () => {
    const before = await specOf();
    await gh.pushCommit('develop', {
      message: 'Sick after a while',
      files: { 'server.js': serverJs('healthy at first') },
    });
    // Once Swarm completed the update (the new tasks took the traffic, the old ones are
    // gone), the new version falls sick: its tasks' next health checks fail.
    const real = runtime();
    const fallsSick: Runtime = {
      ...real,
      switchOver: async (...args) => {
        const switched = await real.switchOver(...args);
        for (const t of await runningTasks()) {
          const exec = await docker
            .getContainer(t.Status.ContainerStatus.ContainerID)
            .exec({ Cmd: ['touch', '/tmp/sick'], AttachStdout: true, AttachStderr: true });
          await new Promise((resolve) =>
            exec.start({}, (_e: unknown, stream) =>
              stream ? stream.on('end', resolve).resume() : resolve(undefined),
            ),
          );
        }
        return switched;
      },
    };
    const d = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'manual', requestedBy: 1 });
    const id = d.id;
    const outcome = await runnerWith(fallsSick).run(id);
    expect(outcome).toBe('rolled_back');
    const steps = await deployments.steps(id);
    // It passed health (both new tasks ran healthy, taking traffic), then fell sick.
    expect(steps.find((s) => s.step === 'health')?.status).toBe('succeeded');
    expect(steps.find((s) => s.step === 'switch')?.status).toBe('succeeded');
    expect(steps.find((s) => s.status === 'failed')?.step).toBe('verify');
    const result = outcomes.get(id)!;
    expect(result.message).toMatch(/task [0-9a-z]{12} unhealthy/);
    expect(result.message).toMatch(/the previous version runs again$/);
    expect(result.logTail?.join('\n')).toContain('healthy at first: sick now');
    expect((await specOf()).Image).toBe(before.Image);
    await expect
      .poll(async () => (await runningTasks()).map((t) => t.Spec.ContainerSpec.Image), { timeout: 60_000 })
      .toEqual([before.Image, before.Image]);
  }, 300_000);
});
