import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GitCommandError, git, gitBytes, runGit } from './git.js';
import type { CommitInfo, FileChange, FileStatus, Signature, TreeEntry } from './git-objects.js';

export type * from './git-objects.js';

/** How many commits `commit` keeps by SHA. */
const COMMITS_KEPT = 10_000;
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const ZERO_SHA = '0000000000000000000000000000000000000000';
const LOG_FORMAT = '%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e';
const STATUS_LETTERS: Record<string, FileStatus> = {
  A: 'added',
  D: 'removed',
  M: 'modified',
  R: 'renamed',
  C: 'copied',
  T: 'changed',
};

function githubDate(gitDate: string): string {
  return new Date(gitDate).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseLog(output: string): CommitInfo[] {
  return output
    .split('\x1e')
    .map((record) => record.replace(/^\n/, ''))
    .filter((record) => record.length > 0)
    .map((record) => {
      const [sha, tree, parents, an, ae, ad, cn, ce, cd, message] = record.split('\x00');
      return {
        sha: sha!,
        tree: tree!,
        parents: parents ? parents.split(' ') : [],
        author: { name: an!, email: ae!, date: githubDate(ad!) },
        committer: { name: cn!, email: ce!, date: githubDate(cd!) },
        message: (message ?? '').replace(/\n+$/, ''),
      };
    });
}

function identityEnv(author: Signature, committer: Signature): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_AUTHOR_DATE: `@${author.at} +0000`,
    GIT_COMMITTER_NAME: committer.name,
    GIT_COMMITTER_EMAIL: committer.email,
    GIT_COMMITTER_DATE: `@${committer.at} +0000`,
  };
}

/**
 * The repository behind the stand-in, driven through git plumbing so that it works on a bare
 * repository (recommended) as well as a normal one, whose working tree it never touches: a
 * branch moved here looks to a checkout like a push from elsewhere.
 */
export class GitRepository {
  constructor(readonly dir: string) {}

  /** Fails unless `dir` is a git repository. */
  async verify(): Promise<void> {
    await git(this.dir, ['rev-parse', '--git-dir']);
  }

  /** The commit a branch, tag, full ref or (abbreviated) SHA names, if any. */
  async resolveCommit(ref: string): Promise<string | undefined> {
    if (ref.length === 0 || ref.startsWith('-')) return undefined;
    const { stdout, code } = await runGit(this.dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
      okCodes: [1, 128],
    });
    return code === 0 ? stdout.trim() : undefined;
  }

  /** What a full ref (refs/heads/x, refs/tags/y) points at, without peeling tags. */
  async refTarget(fullRef: string): Promise<{ sha: string; type: string } | undefined> {
    if (!fullRef.startsWith('refs/')) return undefined;
    const out = await git(this.dir, [
      'for-each-ref',
      '--format=%(refname)%00%(objectname)%00%(objecttype)',
      fullRef,
    ]);
    for (const line of out.split('\n')) {
      const [name, sha, type] = line.split('\x00');
      if (name === fullRef && sha && type) return { sha, type };
    }
    return undefined;
  }

  async branchSha(branch: string): Promise<string | undefined> {
    return (await this.refTarget(`refs/heads/${branch}`))?.sha;
  }

  /**
   * The branch HEAD names, read from the HEAD file itself: every webhook payload carries the
   * repository, and a git process per payload (tens of ms to spawn from a large process) made
   * a 95-check CI's deliveries take longer than the tests wait for them.
   */
  async defaultBranch(): Promise<string> {
    this.gitDir ??= git(this.dir, ['rev-parse', '--absolute-git-dir']).then(
      (out) => out.trim(),
      (error: unknown) => {
        this.gitDir = undefined;
        throw error;
      },
    );
    const head = await readFile(join(await this.gitDir, 'HEAD'), 'utf8').catch(() => '');
    const named = /^ref: refs\/heads\/(.+)$/m.exec(head)?.[1]?.trim();
    // A reftable repository's HEAD file names `.invalid`; a symlinked or odd one names nothing: git says.
    if (named && named !== '.invalid') return named;
    const { stdout, code } = await runGit(this.dir, ['symbolic-ref', '--quiet', 'HEAD'], { okCodes: [1] });
    return code === 0 ? stdout.trim().replace(/^refs\/heads\//, '') : 'main';
  }

  private gitDir: Promise<string> | undefined;

  /** Tags, newest first, each with the commit it finally points at. */
  async tags(): Promise<Array<{ name: string; commit: string }>> {
    const out = await git(this.dir, [
      'for-each-ref',
      '--sort=-creatordate',
      '--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)',
      'refs/tags/',
    ]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, sha, peeled] = line.split('\x00');
        return { name: name!, commit: peeled || sha! };
      });
  }

  async branches(): Promise<Array<{ name: string; sha: string }>> {
    const out = await git(this.dir, [
      'for-each-ref',
      '--format=%(refname:strip=2)%00%(objectname)',
      'refs/heads/',
    ]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, sha] = line.split('\x00');
        return { name: name!, sha: sha! };
      });
  }

  async commit(sha: string): Promise<CommitInfo> {
    const known = this.commits.get(sha);
    if (known) return known;
    const [info] = parseLog(await git(this.dir, ['log', '-1', `--format=${LOG_FORMAT}`, sha, '--']));
    if (!info) throw new Error(`no commit ${sha}`);
    // A full SHA names the same commit for ever (a branch name does not): kept, as each check's
    // webhooks read their commit again.
    if (sha === info.sha && this.commits.size < COMMITS_KEPT) this.commits.set(sha, info);
    return info;
  }

  private readonly commits = new Map<string, CommitInfo>();

  /** Commits reachable from `head` but not from `base` (all of head's history without one), oldest first. */
  async commitsBetween(base: string | undefined, head: string): Promise<CommitInfo[]> {
    const range = base ? `${base}..${head}` : head;
    return parseLog(await git(this.dir, ['log', '--reverse', `--format=${LOG_FORMAT}`, range, '--']));
  }

  async countBetween(base: string, head: string): Promise<number> {
    return Number((await git(this.dir, ['rev-list', '--count', `${base}..${head}`])).trim());
  }

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const { stdout, code } = await runGit(this.dir, ['merge-base', a, b], { okCodes: [1] });
    return code === 0 ? stdout.trim() : undefined;
  }

  async isAncestor(ancestor: string, of: string): Promise<boolean> {
    const { code } = await runGit(this.dir, ['merge-base', '--is-ancestor', ancestor, of], { okCodes: [1] });
    return code === 0;
  }

  /** Files changed from `from` (a commit, or nothing for a root commit) to `to`. */
  async changes(from: string | undefined, to: string): Promise<FileChange[]> {
    const base = from ?? EMPTY_TREE;
    const [raw, numstat] = await Promise.all([
      git(this.dir, ['diff', '--raw', '-z', '-M', '--no-abbrev', base, to]),
      git(this.dir, ['diff', '--numstat', '-z', '-M', base, to]),
    ]);
    const counts = new Map<string, { additions: number; deletions: number }>();
    const stat = numstat.split('\x00');
    for (let i = 0; i < stat.length; i++) {
      const entry = stat[i];
      if (!entry) continue;
      const [added, deleted, path] = entry.split('\t');
      let name = path;
      if (path === '') {
        // A rename's paths follow as two more fields; the new name is the second.
        i += 2;
        name = stat[i];
      }
      counts.set(name ?? '', {
        additions: added === '-' ? 0 : Number(added),
        deletions: deleted === '-' ? 0 : Number(deleted),
      });
    }
    const fields = raw.split('\x00');
    const changes: FileChange[] = [];
    for (let i = 0; i < fields.length; i++) {
      const meta = fields[i];
      if (!meta?.startsWith(':')) continue;
      const [, , srcSha, dstSha, statusField] = meta.slice(1).split(' ');
      const letter = (statusField ?? 'M').charAt(0);
      const status = STATUS_LETTERS[letter] ?? 'modified';
      let previousFilename: string | undefined;
      let filename = fields[++i] ?? '';
      if (letter === 'R' || letter === 'C') {
        previousFilename = filename;
        filename = fields[++i] ?? '';
      }
      const count = counts.get(filename) ?? { additions: 0, deletions: 0 };
      changes.push({
        filename,
        ...(previousFilename !== undefined ? { previousFilename } : {}),
        status,
        ...count,
        blobSha: dstSha && dstSha !== ZERO_SHA ? dstSha : (srcSha ?? ZERO_SHA),
      });
    }
    return changes;
  }

  /** A trial merge in the object store only: the resulting tree, and whether it merged cleanly. */
  async mergeTree(base: string, head: string): Promise<{ clean: boolean; tree: string }> {
    const { stdout, code } = await runGit(
      this.dir,
      ['merge-tree', '--write-tree', '--name-only', base, head],
      {
        okCodes: [1],
      },
    );
    return { clean: code === 0, tree: stdout.split('\n', 1)[0]!.trim() };
  }

  async commitTree(
    tree: string,
    parents: readonly string[],
    message: string,
    author: Signature,
    committer: Signature,
  ): Promise<string> {
    const args = ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-F', '-'];
    return (await git(this.dir, args, { input: message, env: identityEnv(author, committer) })).trim();
  }

  /** Writes `files` over `parent`'s tree (or an empty one) without a working tree. */
  async treeWithFiles(parent: string | undefined, files: Readonly<Record<string, string>>): Promise<string> {
    const index = join(tmpdir(), `lugh-github-index-${randomUUID()}`);
    const env = { GIT_INDEX_FILE: index };
    try {
      await git(this.dir, parent ? ['read-tree', parent] : ['read-tree', '--empty'], { env });
      const lines: string[] = [];
      for (const [path, content] of Object.entries(files)) {
        const blob = (await git(this.dir, ['hash-object', '-w', '--stdin'], { input: content })).trim();
        lines.push(`100644 blob ${blob}\t${path}\n`);
      }
      await git(this.dir, ['update-index', '--add', '--index-info'], { env, input: lines.join('') });
      return (await git(this.dir, ['write-tree'], { env })).trim();
    } finally {
      await rm(index, { force: true });
    }
  }

  /**
   * Moves `ref` to `sha` only if it still points at `expected` (undefined: must not exist), so a
   * concurrent change is detected rather than overwritten. Returns false when it was not moved.
   */
  async compareAndSwapRef(ref: string, sha: string, expected: string | undefined): Promise<boolean> {
    try {
      await git(this.dir, ['update-ref', ref, sha, expected ?? ZERO_SHA]);
      return true;
    } catch (error) {
      if (error instanceof GitCommandError) return false;
      throw error;
    }
  }

  /**
   * Replays `commits` one by one on top of `onto` in a throwaway worktree (git 2.39's merge-tree
   * cannot cherry-pick), keeping each author. Returns the new tip, or undefined on a conflict.
   */
  async replay(
    onto: string,
    commits: readonly CommitInfo[],
    committer: Signature,
  ): Promise<string | undefined> {
    const worktree = await mkdtemp(join(tmpdir(), 'lugh-github-rebase-'));
    const env = {
      GIT_COMMITTER_NAME: committer.name,
      GIT_COMMITTER_EMAIL: committer.email,
      GIT_COMMITTER_DATE: `@${committer.at} +0000`,
    };
    try {
      await git(this.dir, ['worktree', 'add', '--detach', '--quiet', worktree, onto]);
      for (const commit of commits) {
        try {
          await git(worktree, ['cherry-pick', '--allow-empty', '--keep-redundant-commits', commit.sha], {
            env,
          });
        } catch (error) {
          if (error instanceof GitCommandError) return undefined;
          throw error;
        }
      }
      return (await git(worktree, ['rev-parse', 'HEAD'])).trim();
    } finally {
      await runGit(this.dir, ['worktree', 'remove', '--force', worktree], { okCodes: [128] });
      await rm(worktree, { recursive: true, force: true });
      await runGit(this.dir, ['worktree', 'prune'], {});
    }
  }

  /**
   * The entry at `path` in a commit's tree, with its children when
   * it is a folder; undefined when the commit has no such path.
   */
  async entryAt(
    sha: string,
    path: string,
  ): Promise<{ entry: TreeEntry; children?: TreeEntry[] } | undefined> {
    const list = async (args: string[]) =>
      (await git(this.dir, ['ls-tree', '-l', '-z', ...args]))
        .split('\0')
        .filter(Boolean)
        .map((line): TreeEntry => {
          const [meta, name] = line.split('\t') as [string, string];
          const [mode, type, object, size] = meta.split(/\s+/) as [string, TreeEntry['type'], string, string];
          return { mode, type, sha: object, size: size === '-' ? 0 : Number(size), path: name };
        });
    const clean = path.replace(/\/+$/, '');
    const [entry] = await list([sha, '--', clean]);
    if (!entry || entry.path !== clean) return undefined;
    if (entry.type !== 'tree') return { entry };
    return { entry, children: await list([sha, '--', `${clean}/`]) };
  }

  /** A blob's bytes. */
  blob(sha: string): Promise<Buffer> {
    return gitBytes(this.dir, ['cat-file', 'blob', sha]);
  }

  /** `git archive` as a gzip'd tar stream, every path under `prefix/`. */
  archive(sha: string, prefix: string): Readable {
    const child = spawn('git', ['-C', this.dir, 'archive', '--format=tar.gz', `--prefix=${prefix}/`, sha], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    });
    return child.stdout;
  }
}
