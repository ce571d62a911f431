// The shapes the stand-in's git repository answers with (commits, file changes, tree
// entries, signatures), as GitHub's API describes them; git-repository.ts reads them from git.

export interface GitPerson {
  readonly name: string;
  readonly email: string;
  /** ISO 8601, UTC, whole seconds — GitHub's format. */
  readonly date: string;
}

export interface CommitInfo {
  readonly sha: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly author: GitPerson;
  readonly committer: GitPerson;
  /** Without git's trailing newline, as GitHub shows it. */
  readonly message: string;
}

export type FileStatus = 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed';

export interface FileChange {
  readonly filename: string;
  readonly previousFilename?: string;
  readonly status: FileStatus;
  readonly additions: number;
  readonly deletions: number;
  readonly blobSha: string;
}

/** One entry of a commit's tree, as `git ls-tree -l` lists it. */
export interface TreeEntry {
  readonly type: 'blob' | 'tree' | 'commit';
  readonly mode: string;
  readonly sha: string;
  /** Bytes, for a blob; 0 otherwise. */
  readonly size: number;
  /** From the repository's root. */
  readonly path: string;
}

export interface Signature {
  readonly name: string;
  readonly email: string;
  /** Seconds since the epoch. */
  readonly at: number;
}
