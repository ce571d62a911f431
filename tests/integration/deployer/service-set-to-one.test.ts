// A set's environment deployed again at a commit without lugh.yml (a /rollback to a release
// from before the set, or the file removed): one service, the app container, and the set's
// other containers go once it is verified, as a service removed from lugh.yml goes. On a
// real Docker engine through the real step runner and Postgres.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServiceFile } from '../../../src/deployer/service-file.js';
import { ONE_SERVICE } from '../../../src/deployer/service-set.js';
import type { DeploymentStore } from '../../../src/store/deployments.js';
import type { Pool } from '../../../src/store/pool.js';
import { gitShaOf, testDocker, uniqueName } from '../../helpers/docker.js';
import {
  type SetDeployInput,
  type SetWorld,
  setDeployRunner,
  startSetWorld,
} from '../../helpers/set-deploy.js';

const { docker, engine } = await testDocker();
const newSha = () => randomBytes(20).toString('hex');

// The sandbox's set: app ×2 taking no proxied traffic, and a worker.
const SET = parseServiceFile(`
services:
  app:
    replicas: 2
    port: 8080
    health: { http: /healthz }
    order: 20
  worker:
    command: [node, server.js, worker]
    port: 8081
    health: none
    order: 10
`);

describe.skipIf(!engine)('a set deployed again as one service (needs a Docker engine)', () => {
  const run = uniqueName('lugh-test-set1');
  const base = `${run}-app`;
  let world: SetWorld;
  let pool: Pool;
  let deployments: DeploymentStore;
  const images = { good: `${run}:good`, bad: `${run}:bad-worker` };
  const runner = (input: SetDeployInput) =>
    setDeployRunner({ pool, docker, containerName: base, input, healthDeadlineMs: 20_000, verifyMs: 1_000 });
  const create = () =>
    deployments.create({ env: 'staging', ref: 'develop', trigger: 'manual', requestedBy: 1 });
  /** Every container named after the app's, with the commit it runs (`-` when stopped). */
  const running = async () =>
    Object.fromEntries(
      await Promise.all(
        (await docker.listContainers({ all: true, filters: { name: [`^/${base}`] } }))
          .map((c) => c.Names[0]!.slice(1))
          .sort()
          .map(async (name) => {
            const info = await docker.getContainer(name).inspect();
            return [name, info.State.Running ? gitShaOf(info) : '-'] as const;
          }),
      ),
    );

  beforeAll(async () => {
    world = await startSetWorld(docker, { run, base, images, poolName: 'set-to-one-test', sha: newSha() });
    ({ pool, deployments } = world);
  }, 600_000);

  afterAll(async () => {
    await world?.close();
  });

  it('removes the worker and the second replica once the one service is verified', async () => {
    const setSha = newSha();
    const d1 = await create();
    expect(
      await runner({ set: SET, sha: setSha, images: { app: images.good, worker: images.good } }).run(d1.id),
    ).toBe('succeeded');
    const set = await running();
    expect([set[base], set[`${base}-2`], set[`${base}-worker-1`]]).toEqual([setSha, setSha, setSha]);

    const oneSha = newSha();
    const d2 = await create();
    expect(await runner({ set: ONE_SERVICE, sha: oneSha, images: { app: images.good } }).run(d2.id)).toBe(
      'succeeded',
    );
    // The app container and its kept previous version (for /rollback), nothing of the set's.
    expect(await running()).toEqual({ [base]: oneSha, [`${base}-previous`]: '-' });
    const verify = (await deployments.steps(d2.id)).find((s) => s.step === 'verify');
    expect(verify?.detail).toBe(`removed ${base}-2, ${base}-worker-1: no longer in the set`);
  }, 240_000);
});
