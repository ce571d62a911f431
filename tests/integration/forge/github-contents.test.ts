// lugh.yml read at a commit through GitHub's contents API (the stand-in answers as GitHub:
// the raw bytes for the raw media type, 404 with GitHub's body for a path the commit lacks).
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForgeUnavailableError } from '../../../src/forge/errors.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';

let github: Awaited<ReturnType<typeof startSeededGitHub>>;
const FIRST = 'services:\n  app:\n    replicas: 2\n';
const SECOND = 'services:\n  app: {}\n  # ünïcode stays as written\n';

beforeAll(async () => {
  github = await startSeededGitHub();
});

afterAll(async () => {
  await github?.gh.close();
  if (github) await rm(path.dirname(github.repoDir), { recursive: true, force: true });
});

describe('Forge.serviceFile (GET /repos/{owner}/{repo}/contents/lugh.yml?ref=<sha>)', () => {
  it('is undefined for a commit whose repository has no lugh.yml', async () => {
    expect(await github.forge.serviceFile(github.seeded.mainSha)).toBeUndefined();
    expect(github.gh.requests().at(-1)).toMatchObject({
      route: 'GET /repos/{owner}/{repo}/contents/{path}',
      status: 404,
    });
  });

  it('reads the file as it is at the commit asked for, not at the branch head', async () => {
    const first = await github.gh.pushCommit('main', {
      message: 'Declare services',
      files: { 'lugh.yml': FIRST },
    });
    const second = await github.gh.pushCommit('main', {
      message: 'Fewer replicas',
      files: { 'lugh.yml': SECOND },
    });
    expect(await github.forge.serviceFile(first)).toBe(FIRST);
    expect(await github.forge.serviceFile(second)).toBe(SECOND);
    // The commit before the file was added still has none.
    expect(await github.forge.serviceFile(github.seeded.mainSha)).toBeUndefined();
    const asked = github.gh.requests().at(-2)!;
    expect(asked.path).toContain(`ref=${second}`);
  });

  it('turns other failures into the forge’s errors, not into "no file"', async () => {
    github.gh.injectFault({ route: 'GET /repos/{owner}/{repo}/contents/{path}', kind: '5xx', status: 502 });
    await expect(github.forge.serviceFile(github.seeded.mainSha)).rejects.toBeInstanceOf(
      ForgeUnavailableError,
    );
  });
});

describe('Forge.repoFile (lugh.anonymise.yml at a commit)', () => {
  it('reads the file at the commit asked for, undefined before it was added', async () => {
    const rules = 'tables:\n  customers: drop\n';
    const sha = await github.gh.pushCommit('main', {
      message: 'Anonymisation rules',
      files: { 'lugh.anonymise.yml': rules },
    });
    expect(await github.forge.repoFile(sha, 'lugh.anonymise.yml')).toBe(rules);
    expect(await github.forge.repoFile(github.seeded.mainSha, 'lugh.anonymise.yml')).toBeUndefined();
  });
});
