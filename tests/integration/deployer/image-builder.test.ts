import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeRepositoryTags } from '../../../src/deployer/docker-helpers.js';
import { BuildFailedError, createImageBuilder } from '../../../src/deployer/image-builder.js';
import type { Forge } from '../../../src/forge/forge.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger } from '../../helpers/logger.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';

const { docker, engine } = await testDocker();
const TOKEN = 'ghs_imageBuilderTestToken';

describe.skipIf(!engine)('image builder (needs a Docker engine)', () => {
  const repository = uniqueName('lugh-test-build');
  let gh: GitHubStandIn;
  let forge: Forge;
  let seeded: { mainSha: string; developSha: string };
  let repoDir: string;
  let baseImage: string;
  const builder = createImageBuilder({
    docker,
    logger: silentLogger,
    repository,
  });

  beforeAll(async () => {
    baseImage = await ensureBaseImage(docker);
    ({ gh, forge, seeded, repoDir } = await startSeededGitHub(TOKEN));
  }, 300_000);

  afterAll(async () => {
    await gh?.close();
    await removeTestResources(docker, repository);
  });

  it('builds a commit from its GitHub tarball once, and production reuses the image staging got', async () => {
    const sha = seeded.developSha;
    const request = { sha, tarball: () => forge.tarball(sha), buildArgs: { BASE_IMAGE: baseImage } };
    const staging = await builder.ensure({ ...request, env: 'staging' });
    expect(staging).toMatchObject({ tag: `${repository}:staging-${sha.slice(0, 12)}` });
    expect(staging.reused).toBeUndefined();
    const inspected = await docker.getImage(staging.tag).inspect();
    expect(inspected.Config.Labels?.['lugh.sha']).toBe(sha);
    expect(inspected.Config.Env).toContain(`COMMIT_SHA=${sha}`);

    // The image is the app of that commit: it runs and answers its health check.
    const container = await docker.createContainer({
      Image: staging.tag,
      name: uniqueName('lugh-test-app'),
      Env: ['PORT=8080'],
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        AutoRemove: false,
      },
    });
    try {
      await container.start();
      const port = (await container.inspect()).NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort;
      await expect
        .poll(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status, {
          timeout: 20_000,
        })
        .toBe(200);
    } finally {
      await container.remove({ force: true });
    }

    const production = await builder.ensure({ ...request, env: 'production' });
    expect(production).toMatchObject({
      tag: `${repository}:production-${sha.slice(0, 12)}`,
      reused: 'sha',
      imageId: staging.imageId,
    });
    expect((await docker.getImage(production.tag).inspect()).Id).toBe(staging.imageId);
  }, 300_000);

  it('a commit with the same tree and build arguments gets the same image; another tree or other arguments a new one', async () => {
    const buildArgs = { BASE_IMAGE: baseImage };
    const head = await gh.pushCommit('develop', {
      message: 'Tree test: a change',
      files: { 'TREE.md': 'one\n' },
    });
    // A commit that changes nothing, as a merge commit of develop into main is: the same tree.
    const same = await gh.pushCommit('develop', { message: 'Tree test: no change', files: {} });
    const ensure = async (sha: string, args: Record<string, string> = buildArgs) =>
      builder.ensure({
        env: sha === head ? 'staging' : 'production',
        sha,
        tree: await forge.commitTree(sha),
        tarball: () => forge.tarball(sha),
        buildArgs: args,
      });
    expect(await forge.commitTree(same)).toBe(await forge.commitTree(head));

    const staging = await ensure(head);
    expect(staging.reused).toBeUndefined();
    expect(staging.key).toMatch(/^[0-9a-f]{12}-[0-9a-f]{8}$/);
    const inspected = await docker.getImage(staging.imageId).inspect();
    expect(inspected.RepoTags).toEqual(
      expect.arrayContaining([staging.tag, staging.shaTag, `${repository}:tree-${staging.key}`]),
    );
    expect(inspected.Config.Labels).toMatchObject({ 'lugh.sha': head, 'lugh.build-key': staging.key });

    const production = await ensure(same);
    expect(production).toMatchObject({
      tag: `${repository}:production-${same.slice(0, 12)}`,
      shaTag: `${repository}:sha-${same.slice(0, 12)}`,
      imageId: staging.imageId,
      key: staging.key,
      reused: 'tree',
    });
    // The image says it was built for the head; the container a deploy makes says otherwise
    // (GIT_SHA and COMMIT_SHA in its own environment, see container-plan).
    expect((await docker.getImage(production.tag).inspect()).Config.Env).toContain(`COMMIT_SHA=${head}`);

    const changed = await gh.pushCommit('develop', {
      message: 'Tree test: another change',
      files: { 'TREE.md': 'two\n' },
    });
    const other = await ensure(changed);
    expect(other.reused).toBeUndefined();
    expect(other.imageId).not.toBe(staging.imageId);
    expect(other.key).not.toBe(staging.key);

    // The same commit built with another base image is another build: its key says so.
    const args = await ensure(same, { BASE_IMAGE: baseImage, EXTRA: 'x' });
    expect(args.reused).toBeUndefined();
    expect(args.imageId).not.toBe(staging.imageId);
  }, 300_000);

  it('a failing build is an error carrying the build’s last lines, and leaves no image', async () => {
    const sha = await gh.pushCommit('develop', {
      message: 'Break the build',
      files: { Dockerfile: `FROM ${baseImage}\nRUN echo "compiling the app" && exit 3\n` },
    });
    const error = await builder
      .ensure({
        env: 'staging',
        sha,
        tarball: () => forge.tarball(sha),
        buildArgs: { BASE_IMAGE: baseImage },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildFailedError);
    expect((error as BuildFailedError).message).toMatch(/returned a non-zero code: 3/);
    expect((error as BuildFailedError).logTail.join('\n')).toContain('compiling the app');
    expect(
      await docker.listImages({ filters: { reference: [`${repository}:sha-${sha.slice(0, 12)}`] } }),
    ).toEqual([]);
  }, 300_000);

  it('another repository building the same files gets the very same image; removing one repository’s tags leaves the other’s', async () => {
    const other = uniqueName('lugh-test-build-other');
    // The seeded app, with a first step after FROM that no other build makes. The classic
    // builder takes, at each step, the newest cached image that matches; other test files
    // build the seeded app from the same base at the same time, and on a fresh engine two
    // of them that miss the cache together make two chains of the same steps. Had this
    // build shared a step with them, the second repository's build could follow a newer
    // chain that another file finished meanwhile: the same files, another image id (CI).
    const seededDockerfile = execFileSync('git', ['-C', repoDir, 'show', `${seeded.mainSha}:Dockerfile`], {
      encoding: 'utf8',
    });
    expect(seededDockerfile).toMatch(/^FROM .*$/m);
    const sha = await gh.pushCommit('develop', {
      message: 'Build test: a step of its own',
      files: {
        Dockerfile: seededDockerfile.replace(
          /^FROM .*$/m,
          (from) => `${from}\nLABEL lugh.test.build=${repository}`,
        ),
      },
    });
    const build = (r: string) =>
      createImageBuilder({ docker, logger: silentLogger, repository: r }).ensure({
        env: 'staging',
        sha,
        tarball: () => forge.tarball(sha),
        buildArgs: { BASE_IMAGE: baseImage },
      });
    try {
      const mine = await build(repository);
      const theirs = await build(other);
      // The build cache makes both one image: a forced removal by id would take both.
      expect(theirs.imageId).toBe(mine.imageId);
      await removeRepositoryTags(docker, other);
      expect(await docker.listImages({ filters: { reference: [`${other}:*`] } })).toEqual([]);
      expect((await docker.getImage(mine.tag).inspect()).Id).toBe(mine.imageId);
    } finally {
      await removeRepositoryTags(docker, other);
    }
  }, 300_000);
});
