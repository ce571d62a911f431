import { NotFoundError } from '../errors.js';
import type { Comparison, TagsAt } from '../forge.js';
import { classified, classifyGitHubError } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? '';
}

export async function branchSha({ octokit, base }: GitHubRepo, branch: string): Promise<string> {
  const { data } = await classified(() => octokit.rest.repos.getBranch({ ...base, branch }));
  return data.commit.sha;
}

/**
 * The full SHA of the commit `ref` names (a SHA, short or full, or a branch or tag). GitHub
 * answers 422 "No commit found for SHA" both for a name it does not know and for a short SHA
 * that names more than one commit: NotFoundError for either.
 */
export async function resolveCommit({ octokit, base }: GitHubRepo, ref: string): Promise<string> {
  try {
    const { data } = await classified(() => octokit.rest.repos.getCommit({ ...base, ref, per_page: 1 }));
    return data.sha;
  } catch (error) {
    if ((error as { status?: number }).status === 422)
      throw new NotFoundError(`GitHub knows no single commit "${ref}"`);
    throw error;
  }
}

/** GitHub lists at most this many files in a comparison. */
export const COMPARE_FILES_CAP = 300;

/**
 * develop compared with main. Without paging GitHub lists the newest 250 commits (oldest
 * first, the last one the head) and at most 300 files.
 */
export async function compare(
  { octokit, base }: GitHubRepo,
  baseRef: string,
  headRef: string,
): Promise<Comparison> {
  const { data } = await classified(() =>
    octokit.rest.repos.compareCommitsWithBasehead({ ...base, basehead: `${baseRef}...${headRef}` }),
  );
  // GitHub lists commits oldest first; a promotion shows the newest first.
  const commits = [...data.commits].reverse().map((c) => ({
    sha: c.sha,
    title: firstLine(c.commit.message),
    author: c.author?.login ?? c.commit.author?.name ?? 'unknown',
    ...(c.commit.author?.date ? { authoredAt: new Date(c.commit.author.date) } : {}),
  }));
  const headSha = data.commits.at(-1)?.sha ?? data.merge_base_commit.sha;
  return {
    status: data.status,
    aheadBy: data.ahead_by,
    behindBy: data.behind_by,
    commits,
    filesChanged: data.files?.length ?? 0,
    filesCapped: (data.files?.length ?? 0) >= COMPARE_FILES_CAP,
    headSha,
  };
}

/**
 * Whether `sha` is on `branch`: comparing the branch with the commit, GitHub answers
 * `identical` (the head) or `behind` (an ancestor); `ahead` or `diverged` means the commit
 * is not on the branch, and 404 that GitHub does not know it (or no common history).
 */
export async function isAncestor(
  { octokit, base }: GitHubRepo,
  sha: string,
  branch: string,
): Promise<boolean> {
  try {
    const { data } = await classified(() =>
      octokit.rest.repos.compareCommitsWithBasehead({
        ...base,
        basehead: `${branch}...${sha}`,
        per_page: 1,
      }),
    );
    return data.status === 'identical' || data.status === 'behind';
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

/** GitHub's tarball of one commit. */
export async function tarball({ octokit, base }: GitHubRepo, sha: string): Promise<Buffer> {
  const { data } = await classified(() => octokit.rest.repos.downloadTarballArchive({ ...base, ref: sha }));
  return Buffer.from(data as ArrayBuffer);
}

/**
 * GitHub finds no tag by commit, so this reads the tag list in GitHub's order up to
 * `maxTags`; `complete` is false when it stopped before the end.
 */
export async function tagsAt({ octokit, base }: GitHubRepo, sha: string, maxTags = 300): Promise<TagsAt> {
  const tags: string[] = [];
  let seen = 0;
  const pages = octokit.paginate.iterator(octokit.rest.repos.listTags, { ...base, per_page: 100 });
  try {
    for await (const { data } of pages) {
      for (const tag of data) if (tag.commit.sha === sha) tags.push(tag.name);
      seen += data.length;
      if (seen >= maxTags) return { tags, complete: data.length < 100 };
    }
  } catch (error) {
    throw classifyGitHubError(error);
  }
  return { tags, complete: true };
}

/** The tree of a commit, from the Git database API (no diff computed, unlike GET /commits). */
export async function commitTree({ octokit, base }: GitHubRepo, sha: string): Promise<string> {
  const { data } = await classified(() => octokit.rest.git.getCommit({ ...base, commit_sha: sha }));
  return data.tree.sha;
}

export async function commitDate({ octokit, base }: GitHubRepo, sha: string): Promise<Date> {
  const { data } = await classified(() => octokit.rest.repos.getCommit({ ...base, ref: sha, per_page: 1 }));
  const date = data.commit.committer?.date ?? data.commit.author?.date;
  if (!date) throw new Error(`GitHub gives no date for commit ${sha.slice(0, 7)}`);
  return new Date(date);
}
