// Which container a deploy engine takes for its own, on a real Docker engine: a deploy that
// would replace the container the engine runs in must run in a runner container, or the
// switch stops the very process running it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownAppContainer } from '../../../src/deployer/deploy-engine.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';

const { docker, engine } = await testDocker();

describe.skipIf(!engine)('the engine’s own app container (needs a Docker engine)', () => {
  const run = uniqueName('lugh-test-own');
  const base = `${run}-staging-app`;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const image = await ensureBaseImage(docker);
    // lugh as the set's app ×2 with a worker beside it, a pre-flight of replica 2, and a stranger.
    const make = async (name: string, labels: Record<string, string>) => {
      const c = await docker.createContainer({
        name,
        Image: image,
        Cmd: ['sleep', '600'],
        Labels: { 'lugh.test': run, ...labels },
      });
      ids[name] = (await c.inspect()).Id.slice(0, 12);
    };
    const member = (service: string, replica: number, role = 'app') => ({
      'lugh.set': base,
      'lugh.service': service,
      'lugh.replica': String(replica),
      'lugh.role': role,
    });
    await make(base, member('app', 1));
    await make(`${base}-2`, member('app', 2));
    await make(`${base}-worker-1`, member('worker', 1));
    await make(`${base}-2-preflight-abc`, member('app', 2, 'preflight'));
    await make(`${run}-other-app`, {});
  }, 120_000);

  afterAll(async () => {
    for (const c of await docker.listContainers({ all: true, filters: { label: [`lugh.test=${run}`] } }))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    await removeTestResources(docker, run);
  });

  const own = async (name: string) =>
    (await ownAppContainer(docker, base, ids[name]))?.Name.replace(/^\//, '');

  it('the app container and any container of its set that a deploy switches are its own', async () => {
    expect(await own(base)).toBe(base);
    // Replica 2 runs lugh too: its own switch would stop a deploy it ran in-process.
    expect(await own(`${base}-2`)).toBe(`${base}-2`);
    expect(await own(`${base}-worker-1`)).toBe(`${base}-worker-1`);
  });

  it('a pre-flight (it takes no jobs) and a container of another set are not', async () => {
    expect(await own(`${base}-2-preflight-abc`)).toBeUndefined();
    expect(await own(`${run}-other-app`)).toBeUndefined();
  });
});
