import { NotFoundError } from '../errors.js';
import { classified } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

/** GitHub's media type for a file's own bytes (instead of JSON with the content in base64). */
const RAW = 'application/vnd.github.raw+json';

/**
 * The text of the file at `path` in a commit, from the contents API; undefined when the
 * commit has no such file. A folder at that path is refused: it is not a file to read.
 */
export async function fileAt(
  { octokit, base }: GitHubRepo,
  sha: string,
  path: string,
): Promise<string | undefined> {
  try {
    const { data } = await classified(() =>
      octokit.rest.repos.getContent({ ...base, path, ref: sha, headers: { accept: RAW } }),
    );
    // Octokit reads GitHub's raw answer (charset=utf-8) as text; bytes otherwise.
    if (typeof data === 'string') return data;
    if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
    throw new Error(`${path} at ${sha.slice(0, 7)} is not a file`);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}
