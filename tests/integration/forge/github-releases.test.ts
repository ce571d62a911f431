// Release tags against the GitHub stand-in, which answers as GitHub does: releases/latest is
// the release published last (a hotfix, or a tag that is no version at all), and a release
// for a tag that exists already takes that tag as it is, whatever target_commitish says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../src/forge/errors.js';
import type { Forge } from '../../../src/forge/forge.js';
import { createGitHubClient } from '../../../src/forge/github/github-client.js';
import { createGitHubForge } from '../../../src/forge/github/github-forge.js';
import { nextTag } from '../../../src/promotion/policy.js';
import { silentLogger } from '../../helpers/logger.js';
import { repoParams as base, gitIn, type Sandbox, startSandbox, TOKEN } from '../sandbox/github/fixture.js';

describe('GitHub release tags', () => {
  let sandbox: Sandbox;
  let forge: Forge;
  let hotfixSha: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    const client = createGitHubClient({
      token: TOKEN,
      apiUrl: sandbox.gh.apiUrl,
      logger: silentLogger,
      resilient: false,
    });
    forge = createGitHubForge(client, { owner: base.owner, name: base.repo });
    const { octokit, mainSha } = sandbox;
    await octokit.rest.repos.createRelease({ ...base, tag_name: 'v1.3.0', target_commitish: mainSha });
    // More than a page of older tags, so the highest one is not on the first page.
    for (let patch = 1; patch <= 105; patch += 1) {
      await octokit.rest.git.createRef({ ...base, ref: `refs/tags/v0.0.${patch}`, sha: mainSha });
    }
    // A hotfix of the 1.2 line, released after 1.3.0: GitHub makes it the latest release.
    hotfixSha = await sandbox.gh.pushCommit('hotfix/1.2', { message: 'Hotfix', files: { 'FIX.md': 'x\n' } });
    await octokit.rest.repos.createRelease({ ...base, tag_name: 'v1.2.1', target_commitish: hotfixSha });
    await sandbox.gh.settled();
  }, 60_000);
  afterAll(async () => {
    await sandbox?.close();
  });

  it('the next tag follows the highest vX.Y.Z tag (all pages), not releases/latest (a later hotfix)', async () => {
    const { data: latest } = await sandbox.octokit.rest.repos.getLatestRelease(base);
    expect(latest.tag_name).toBe('v1.2.1');
    expect(nextTag(await forge.latestReleaseTag())).toBe('v1.3.1');
  });

  it('the next tag still follows the highest vX.Y.Z tag when the latest release is no version', async () => {
    await sandbox.octokit.rest.repos.createRelease({
      ...base,
      tag_name: 'nightly',
      target_commitish: 'main',
    });
    const { data: latest } = await sandbox.octokit.rest.repos.getLatestRelease(base);
    expect(latest.tag_name).toBe('nightly');
    expect(nextTag(await forge.latestReleaseTag())).toBe('v1.3.1');
  });

  it('never reuses a tag that exists: a release for it is refused, saying so, and none is made', async () => {
    // v1.2.2 was tagged by hand on the hotfix; a release asked for main's head must not take it.
    await sandbox.octokit.rest.git.createRef({ ...base, ref: 'refs/tags/v1.2.2', sha: hotfixSha });
    const refused = await forge
      .createRelease('v1.2.2', sandbox.developSha, 'v1.2.1')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as Error).message).toMatch(/tag v1\.2\.2 exists already/);
    const { data: releases } = await sandbox.octokit.rest.repos.listReleases(base);
    expect(releases.map((r) => r.tag_name)).not.toContain('v1.2.2');
    expect(await gitIn(sandbox.repoDir, 'rev-parse', 'refs/tags/v1.2.2')).toBe(hotfixSha);
  });

  it('releaseNext: one listing of the tags finds the next tag and stands for the tag check; an existing tag is still refused', async () => {
    // The listing says v1.2.2 exists on the hotfix (the test above tagged it): never reused.
    const refused = await forge.releaseNext(sandbox.developSha, () => 'v1.2.2').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as Error).message).toMatch(/tag v1\.2\.2 exists already/);
    const before = sandbox.gh.requests().length;
    const release = await forge.releaseNext(sandbox.developSha, nextTag);
    expect(release.tag).toBe('v1.3.1');
    expect(await gitIn(sandbox.repoDir, 'rev-parse', 'refs/tags/v1.3.1')).toBe(sandbox.developSha);
    const asked = sandbox.gh
      .requests()
      .slice(before)
      .map((r) => `${r.method} ${r.path.split('?')[0]}`);
    expect(asked.filter((r) => r.includes('/git/ref'))).toEqual([]);
    expect(asked).toContain('POST /repos/acme/app/releases/generate-notes');
  });
});
