// Converge after a crash on Swarm when the service's spec is no longer the deploy's update
// (a person ran `docker stack deploy` meanwhile): lugh leaves the service as it is and its
// record says so; it never claims to have put it back. An unverified update that reused the
// image it replaced (another commit, the same tree) is put back all the same.
import type Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { createSwarmRuntime } from '../../../src/deployer/runtime/swarm-runtime.js';
import { ensureBaseImage, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { ensureSwarm, removeSwarmResources, TEST_LABEL } from '../../helpers/swarm.js';

const { docker, engine } = await testDocker();
const swarm = engine ? await ensureSwarm(docker).catch(() => false) : false;

describe.skipIf(!engine || !swarm)('converge on Swarm', () => {
  const run = uniqueName('lugh-test-converge');
  const name = `${run}-app`;

  afterAll(async () => {
    await removeSwarmResources(docker, run);
  });

  it('a spec that is not the unverified update is left as it is, and the record does not say it was put back', async () => {
    const image = await ensureBaseImage(docker);
    await docker.createService({
      Name: name,
      Labels: { [TEST_LABEL]: run },
      TaskTemplate: {
        ContainerSpec: { Image: image, Command: ['sleep', 'infinity'], Labels: { [TEST_LABEL]: run } },
      },
      Mode: { Replicated: { Replicas: 1 } },
    });
    const runtime = createSwarmRuntime({ docker, logger, monitorMs: 2_000 });
    const done = await runtime.converge(name, {
      replacedId: `${run}:the-one-it-replaced`,
      replacedSha: 'a'.repeat(40),
    });
    expect(done ?? '').not.toContain('put');
    expect(done).toContain(`left ${name} at ${image}`);
    const spec = ((await docker.getService(name).inspect()) as Docker.Service).Spec!;
    expect((spec.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec?.Image).toBe(image);
  });

  it('an unverified update to the very image it replaced, at another commit, is put back to the commit before', async () => {
    const image = await ensureBaseImage(docker);
    const same = `${run}-same`;
    const before = 'a'.repeat(40);
    await docker.createService({
      Name: same,
      Labels: { [TEST_LABEL]: run },
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          Command: ['sleep', 'infinity'],
          Env: [`GIT_SHA=${before}`],
          Labels: { [TEST_LABEL]: run },
        },
      },
      Mode: { Replicated: { Replicas: 1 } },
    });
    const runtime = createSwarmRuntime({ docker, logger, monitorMs: 1_000 });
    // As a killed deploy leaves it: its update issued and running, never verified.
    const preflight = await runtime.startPreflight({ containerName: same, image, sha: 'b'.repeat(40) });
    await runtime.awaitPreflight(preflight, 60_000);
    expect(preflight.currentId).toBe(image);
    expect(await runtime.runningSha(same)).toBe('b'.repeat(40));
    const done = await runtime.converge(same, { replacedId: preflight.currentId, replacedSha: before });
    expect(done).toContain(`put ${same} back to ${image}`);
    expect(await runtime.runningSha(same)).toBe(before);
  }, 120_000);
});
