// A big promotion through the GitHub stand-in, which compares as GitHub does: without paging,
// the newest 250 commits (oldest first, the last one the head) and at most 300 files.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPlan } from '../../../src/bot/promotion/render.js';
import { pullBody } from '../../../src/promotion/pull-body.js';
import { firstCommitAt } from '../../../src/promotion/start.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { gitIn, octokitFor, repoParams } from '../sandbox/github/fixture.js';

const AHEAD = 260;
const FILES = 320;

let github: Awaited<ReturnType<typeof startSeededGitHub>>;
/** develop's commits main lacks, oldest first: the seeded three, then the added ones. */
let ahead: string[];
let added: string[];

/** `count` commits on develop in one git fast-import; the first adds `files` files. */
async function commitsOnDevelop(repoDir: string, from: string, count: number, files: number) {
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    lines.push(`commit refs/heads/develop\nmark :${i}\n`);
    lines.push(`committer Sandbox Developer <dev@acme.example> ${1_767_600_000 + i * 60} +0000\n`);
    lines.push(data(`Change ${i}`));
    if (i === 1) lines.push(`from ${from}\n`);
    const paths =
      i === 1 ? Array.from({ length: files }, (_, f) => `generated/file-${f}.txt`) : [`CHANGES/${i}.md`];
    for (const file of paths) lines.push(`M 100644 inline ${file}\n${data(`${file}\n`)}`);
  }
  const child = spawn('git', ['-C', repoDir, 'fast-import', '--quiet'], {
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  child.stdin.end(lines.join(''));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`git fast-import exited ${code}`);
  return (await gitIn(repoDir, 'rev-list', '--reverse', `${from}..develop`)).split('\n');
}

beforeAll(async () => {
  github = await startSeededGitHub('ghs_sandboxtoken');
  const before = await gitIn(github.repoDir, 'rev-parse', 'refs/heads/develop');
  added = await commitsOnDevelop(github.repoDir, before, AHEAD - 3, FILES);
  ahead = (await gitIn(github.repoDir, 'rev-list', '--reverse', 'main..develop')).split('\n');
});

afterAll(async () => {
  await github.gh.close();
  await rm(path.dirname(github.repoDir), { recursive: true, force: true });
});

describe('the GitHub stand-in: compare', () => {
  it('without paging lists the newest 250 commits, oldest first, the last one the head, and at most 300 files', async () => {
    const { data } = await octokitFor(github.gh).rest.repos.compareCommitsWithBasehead({
      ...repoParams,
      basehead: 'main...develop',
    });
    expect(data).toMatchObject({ ahead_by: AHEAD, total_commits: AHEAD });
    expect(data.commits).toHaveLength(250);
    expect(data.commits.at(-1)?.sha).toBe(added.at(-1));
    expect(data.commits.map((c) => c.sha)).toEqual(ahead.slice(-250));
    expect(data.files).toHaveLength(300);
  });

  it('with paging lists every commit oldest first, page by page, and the files only on the first page', async () => {
    const octokit = octokitFor(github.gh);
    const pages = await Promise.all(
      [1, 2, 3].map((page) =>
        octokit.rest.repos.compareCommitsWithBasehead({
          ...repoParams,
          basehead: 'main...develop',
          per_page: 100,
          page,
        }),
      ),
    );
    expect(pages.map((p) => p.data.commits.length)).toEqual([100, 100, AHEAD - 200]);
    expect(pages.flatMap((p) => p.data.commits.map((c) => c.sha))).toEqual(ahead);
    expect(pages[0]!.headers.link).toContain('rel="next"');
    expect(pages.map((p) => p.data.files?.length ?? 0)).toEqual([300, 0, 0]);
  });
});

describe('lugh showing a big promotion', () => {
  it('lists the newest commits first, counts the ones not listed, and says "300+ files changed"', async () => {
    const comparison = await github.forge.compare('main', 'develop');
    expect(comparison.headSha).toBe(added.at(-1));
    expect(comparison.commits[0]?.sha).toBe(added.at(-1));
    const plan = renderPlan(comparison, 'https://github.com/acme/app/pull/1', 1, false);
    expect(plan).toContain(`${AHEAD} commits, 300+ files changed`);
    expect(plan).toContain(`…and ${AHEAD - 10} more`);
    // Lead time starts at the oldest commit listed (the 8th added: the 250 newest of 260).
    expect(comparison.commits.at(-1)?.authoredAt).toEqual(new Date((1_767_600_000 + 8 * 60) * 1000));
    expect(firstCommitAt(comparison)).toEqual(new Date((1_767_600_000 + 8 * 60) * 1000));
  });

  it('the pull request body says how many older commits it does not list', async () => {
    const comparison = await github.forge.compare('main', 'develop');
    const body = pullBody(comparison, '@aoife');
    expect(body).toContain(`Commits (${AHEAD}):`);
    expect(body).toContain(`…and ${AHEAD - 250} older commits`);
  });
});
