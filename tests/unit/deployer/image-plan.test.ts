import { describe, expect, it } from 'vitest';
import { imageOrigin, type RanImage } from '../../../src/deployer/image-ledger.js';
import {
  buildKey,
  buildSuffix,
  DockerfileOutsideContextError,
  dockerfileInContext,
  imageTags,
  orphanTags,
  planImageRetention,
  treeTag,
} from '../../../src/deployer/image-plan.js';
import { DEFAULT_BUILD } from '../../../src/deployer/service-set.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const TREE = 'fedcba9876543210fedcba9876543210fedcba98';

describe('image plans', () => {
  it('tags a commit per environment and once for every environment', () => {
    expect(imageTags('lugh', 'production', SHA)).toEqual({
      tag: 'lugh:production-0123456789ab',
      shaTag: 'lugh:sha-0123456789ab',
    });
  });

  it('keys an image by its tree and build arguments: stable, in any order, whatever commit it is built for', () => {
    const key = buildKey(TREE, { BASE_IMAGE: 'lugh-base:node20', NPM_MIRROR: 'http://mirror' });
    expect(key).toMatch(/^fedcba987654-[0-9a-f]{8}$/);
    expect(buildKey(TREE, { NPM_MIRROR: 'http://mirror', BASE_IMAGE: 'lugh-base:node20' })).toBe(key);
    // GIT_SHA names the commit, not what is built: a merge commit and its branch share the key.
    expect(
      buildKey(TREE, { BASE_IMAGE: 'lugh-base:node20', NPM_MIRROR: 'http://mirror', GIT_SHA: SHA }),
    ).toBe(key);
    expect(treeTag('lugh', key)).toBe(`lugh:tree-${key}`);
  });

  it('another tree or other build arguments make another key', () => {
    const key = buildKey(TREE, { BASE_IMAGE: 'lugh-base:node20' });
    expect(buildKey(`0${TREE.slice(1)}`, { BASE_IMAGE: 'lugh-base:node20' })).not.toBe(key);
    expect(buildKey(TREE, { BASE_IMAGE: 'node:20-bookworm-slim' })).not.toBe(key);
    expect(buildKey(TREE, {})).not.toBe(key);
    expect(buildKey(TREE)).toBe(buildKey(TREE, {}));
    // A value is not confused with a name: A=B,C= differs from A=,B=C.
    expect(buildKey(TREE, { A: 'B', C: '' })).not.toBe(buildKey(TREE, { A: '', B: 'C' }));
  });

  it('keeps the newest images, counting the ones in use; the others lose only this environment’s tags', () => {
    const images = [
      {
        Id: 'old',
        Created: 1,
        RepoTags: ['lugh:staging-1', 'lugh:sha-1', 'lugh:production-1', 'lugh:tree-t1-a1'],
      },
      { Id: 'newest', Created: 5, RepoTags: ['lugh:staging-5', 'lugh:tree-t5-a1'] },
      { Id: 'previous', Created: 2, RepoTags: ['lugh:staging-2', 'lugh:sha-2', 'lugh:tree-t2-a1'] },
      { Id: 'middle', Created: 4, RepoTags: ['lugh:staging-4'] },
      { Id: 'third', Created: 3, RepoTags: null },
    ];
    expect(planImageRetention('lugh', 'staging', images, 2, ['previous'])).toEqual([
      { id: 'third', untag: [] },
      { id: 'old', untag: ['lugh:staging-1'] },
    ]);
    expect(planImageRetention('lugh', 'staging', images, 5, [])).toEqual([]);
  });

  it('an image production reuses keeps staging’s image when staging lets it go', () => {
    // Staging ran it as develop's head; production runs it as the merge commit.
    const shared = {
      Id: 'shared',
      Created: 1,
      RepoTags: ['lugh:staging-d', 'lugh:sha-d', 'lugh:tree-t-a', 'lugh:production-m', 'lugh:sha-m'],
    };
    const newer = [2, 3].map((n) => ({ Id: `n${n}`, Created: n, RepoTags: [`lugh:staging-${n}`] }));
    expect(planImageRetention('lugh', 'staging', [shared, ...newer], 2, [])).toEqual([
      { id: 'shared', untag: ['lugh:staging-d'] },
    ]);
    expect(orphanTags('lugh', ['lugh:sha-d', 'lugh:tree-t-a', 'lugh:production-m', 'lugh:sha-m'])).toEqual(
      [],
    );
  });

  it('an image no environment runs loses its shared tags too; one another environment runs keeps them', () => {
    expect(orphanTags('lugh', ['lugh:sha-1'])).toEqual(['lugh:sha-1']);
    expect(orphanTags('lugh', ['lugh:sha-1', 'lugh:tree-t-a'])).toEqual(['lugh:sha-1', 'lugh:tree-t-a']);
    expect(orphanTags('lugh', ['lugh:sha-1', 'lugh:production-1'])).toEqual([]);
    expect(orphanTags('lugh', ['lugh:tree-t-a', 'lugh:production-1'])).toEqual([]);
    expect(orphanTags('lugh', [])).toEqual([]);
  });
});

describe('image plans of a service set’s builds (lugh.yml)', () => {
  const web = { dockerfile: 'web/Dockerfile', context: 'web' };

  it('the root Dockerfile’s build key and tags are exactly those of before lugh.yml', () => {
    const args = { BASE_IMAGE: 'lugh-base:node20' };
    // Computed by the key of before (sha256 of the sorted arguments' JSON), written out: a
    // key that moved would leave every image built so far unfound, and staging's image to production too.
    expect(buildKey(TREE, args)).toBe('fedcba987654-7224e53c');
    expect(buildKey(TREE, args, DEFAULT_BUILD)).toBe('fedcba987654-7224e53c');
    expect(buildKey(TREE, {}, { dockerfile: 'Dockerfile', context: '.' })).toBe(buildKey(TREE));
    expect(imageTags('lugh', 'staging', SHA, DEFAULT_BUILD)).toEqual(imageTags('lugh', 'staging', SHA));
  });

  it('another Dockerfile or context is another key, and tags that name the build', () => {
    const root = buildKey(TREE);
    const keys = [
      buildKey(TREE, {}, web),
      buildKey(TREE, {}, { dockerfile: 'web/Dockerfile', context: '.' }),
      buildKey(TREE, {}, { dockerfile: 'Dockerfile.worker', context: '.' }),
    ];
    expect(new Set([root, ...keys]).size).toBe(4);
    for (const key of keys) expect(key).toMatch(/^fedcba987654-[0-9a-f]{8}$/);
    const suffix = buildSuffix(web);
    expect(suffix).toMatch(/^web-dockerfile-[0-9a-f]{6}$/);
    expect(buildSuffix({ dockerfile: 'web/Dockerfile', context: '.' })).not.toBe(suffix);
    expect(imageTags('lugh', 'production', SHA, web)).toEqual({
      tag: `lugh:production-0123456789ab-${suffix}`,
      shaTag: `lugh:sha-0123456789ab-${suffix}`,
    });
    // Docker's tag grammar: at most 128 of [A-Za-z0-9_.-], not starting with . or -.
    const long = imageTags('lugh', 'staging', SHA, {
      dockerfile: `${'Deep/'.repeat(40)}Dockerfile`,
      context: '.',
    });
    expect(long.tag.split(':')[1]).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
  });

  it('maps lugh.yml’s Dockerfile (from the repository root) into its context, as Docker’s build API takes it', () => {
    expect(dockerfileInContext(DEFAULT_BUILD)).toBe('Dockerfile');
    expect(dockerfileInContext(web)).toBe('Dockerfile');
    expect(dockerfileInContext({ dockerfile: 'web/Dockerfile', context: '.' })).toBe('web/Dockerfile');
    expect(dockerfileInContext({ dockerfile: 'docker/web/Dockerfile', context: 'docker' })).toBe(
      'web/Dockerfile',
    );
    expect(dockerfileInContext({ dockerfile: 'web/./Dockerfile', context: 'web/' })).toBe('Dockerfile');
  });

  it('refuses a Dockerfile outside its context, saying what to change', () => {
    for (const build of [
      { dockerfile: 'Dockerfile', context: 'web' },
      { dockerfile: 'api2/Dockerfile', context: 'api' },
      { dockerfile: 'web', context: 'web' },
    ]) {
      expect(() => dockerfileInContext(build)).toThrow(DockerfileOutsideContextError);
    }
    expect(() => dockerfileInContext({ dockerfile: 'Dockerfile', context: 'web' })).toThrow(
      /Dockerfile with the context web.*set `context` to a folder that holds it/,
    );
  });

  it('keeps the newest images of each build, so a set’s second image does not push out the first', () => {
    const s = buildSuffix(web);
    const images = [1, 2, 3].flatMap((n) => [
      { Id: `app${n}`, Created: n * 10, RepoTags: [`lugh:staging-${n}`] },
      { Id: `web${n}`, Created: n * 10 + 1, RepoTags: [`lugh:staging-${n}-${s}`, `lugh:sha-${n}-${s}`] },
    ]);
    expect(planImageRetention('lugh', 'staging', images, 2, [])).toEqual([
      { id: 'web1', untag: [`lugh:staging-1-${s}`] },
      { id: 'app1', untag: ['lugh:staging-1'] },
    ]);
    // Images the set's containers run are kept and counted, build by build.
    expect(planImageRetention('lugh', 'staging', images, 1, ['web1'])).toEqual([
      { id: 'web2', untag: [`lugh:staging-2-${s}`] },
      { id: 'app2', untag: ['lugh:staging-2'] },
      { id: 'app1', untag: ['lugh:staging-1'] },
    ]);
  });
});

describe('where a deploy’s image came from, compared with what staging ran', () => {
  const ran: RanImage = {
    env: 'staging',
    deploymentId: 12,
    imageId: 'sha256:staging',
    sha: SHA,
    tree: TREE,
    since: '2026-11-30T10:00:00.000Z',
  };

  it('the very image staging ran: reused, from which deployment, since when', () => {
    expect(imageOrigin({ imageId: 'sha256:staging', reused: 'tree' }, ran)).toEqual({
      kind: 'reused',
      fromEnv: 'staging',
      fromDeployment: 12,
      since: new Date('2026-11-30T10:00:00.000Z'),
    });
  });

  it('built new when staging ran no image of this tree; again when its image is gone', () => {
    expect(imageOrigin({ imageId: 'sha256:new' }, undefined)).toEqual({ kind: 'built' });
    expect(imageOrigin({ imageId: 'sha256:new' }, ran)).toEqual({ kind: 'rebuilt' });
  });

  it('an image built before that staging never ran is kept, not called staging’s', () => {
    expect(imageOrigin({ imageId: 'sha256:hotfix', reused: 'sha' }, undefined)).toEqual({ kind: 'kept' });
    expect(imageOrigin({ imageId: 'sha256:hotfix', reused: 'tree' }, ran)).toEqual({ kind: 'kept' });
  });
});
