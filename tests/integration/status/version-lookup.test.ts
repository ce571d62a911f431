// The release tag and age of a running commit, as /status shows them, from the GitHub
// stand-in over the seeded repository; asked once per version, not once per /status.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Forge } from '../../../src/forge/forge.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { createVersionLookup } from '../../../src/status/version-lookup.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';

describe('version lookup', () => {
  let gh: GitHubStandIn;
  let forge: Forge;
  let repoDir: string;
  let main: string;
  let develop: string;
  const git = (args: string[], input?: string) =>
    execFileSync('git', ['-C', repoDir, ...args], { input, encoding: 'utf8' }).trim();
  const requests = (path: string) => gh.requests().filter((r) => r.path.includes(path)).length;

  beforeAll(async () => {
    const started = await startSeededGitHub();
    ({ gh, forge, repoDir } = started);
    ({ mainSha: main, developSha: develop } = started.seeded);
    await forge.createRelease('v1.0.0', main);
  });
  afterAll(async () => {
    await gh?.close();
  });

  it('finds the tag at a commit and its commit date, and asks GitHub once per commit', async () => {
    const lookup = createVersionLookup(forge);
    const before = { tags: requests('/tags'), commits: requests(`/commits/${main}`) };
    const facts = await lookup(main);
    expect(facts).toEqual({
      sha: main,
      tag: 'v1.0.0',
      tagSearchComplete: true,
      // The seeded "Add Dockerfile" commit.
      committedAt: new Date('2026-01-06T09:30:00Z'),
    });
    expect(await lookup(main)).toEqual(facts);
    expect(requests('/tags') - before.tags).toBe(1);
    expect(requests(`/commits/${main}`) - before.commits).toBe(1);
  });

  it('believes "untagged" for five minutes, then looks again and finds a new tag', async () => {
    let now = Date.now();
    const lookup = createVersionLookup(forge, { now: () => now });
    expect((await lookup(develop)).tag).toBeUndefined();
    await forge.createRelease('v1.1.0', develop);
    now += 4 * 60_000;
    expect((await lookup(develop)).tag).toBeUndefined();
    now += 2 * 60_000;
    expect(await lookup(develop)).toMatchObject({
      tag: 'v1.1.0',
      committedAt: new Date('2026-01-09T09:30:00Z'),
    });
  });

  it('reads the tag list page by page, and says when it stopped before the end', async () => {
    const first = git(['rev-list', '--max-parents=0', main]);
    git(
      ['update-ref', '--stdin'],
      Array.from(
        { length: 150 },
        (_, i) => `create refs/tags/old-${String(i).padStart(3, '0')} ${first}\n`,
      ).join(''),
    );
    expect((await forge.tagsAt(first)).tags).toHaveLength(150);
    expect(await forge.tagsAt('f'.repeat(40), 100)).toEqual({ tags: [], complete: false });
    expect(await forge.tagsAt('f'.repeat(40))).toEqual({ tags: [], complete: true });
  });

  it('fails with GitHub’s reason for a commit it does not have', async () => {
    await expect(createVersionLookup(forge)('e'.repeat(40))).rejects.toThrow(/No commit found/);
  });
});
