// A DEPLOY_REGISTRY nobody answers at (a port with no registry on it, as a typo or a
// registry that is down leaves it): the push fails saying the registry cannot be reached
// from the engine and what to check, not only Docker's words; the password is nowhere.
import { afterAll, describe, expect, it } from 'vitest';
import { createImageRegistry } from '../../../src/deployer/registry/image-registry.js';
import { freePort } from '../../../src/sandbox/free-port.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';

const { docker, engine } = await testDocker();

describe.skipIf(!engine)('a registry that cannot be reached', () => {
  const repository = uniqueName('lugh-test-unreachable');

  afterAll(async () => {
    await removeTestResources(docker, repository);
  });

  it('fails the push saying DEPLOY_REGISTRY cannot be reached and what to check, never the password', async () => {
    const base = await ensureBaseImage(docker);
    const imageId = (await docker.getImage(base).inspect()).Id;
    const port = await freePort();
    const registry = createImageRegistry({
      docker,
      logger,
      registry: `127.0.0.1:${port}`,
      imageRepository: repository,
      username: 'deployer',
      password: 'Unre4chable-s3cret',
    });
    const error = await registry
      .publish({ imageId, localShaTag: `${repository}:staging-0123456789ab` })
      .catch((e: Error) => e);
    expect(String(error)).toContain(`pushing 127.0.0.1:${port}/${repository}:staging-0123456789ab`);
    expect(String(error)).toContain(
      `the registry 127.0.0.1:${port} cannot be reached from the Docker engine: check that DEPLOY_REGISTRY names a running registry`,
    );
    expect(JSON.stringify({ error, message: String(error) })).not.toContain('Unre4chable-s3cret');
    // Nothing is left tagged for the registry.
    const left = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []);
    expect(left.filter((t) => t.startsWith(`127.0.0.1:${port}/`))).toEqual([]);
  });
});
