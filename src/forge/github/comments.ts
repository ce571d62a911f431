import { ForgeUnavailableError } from '../errors.js';
import { classified, classifyGitHubError } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

// A pull request's conversation is its issue's: GitHub keeps its comments under /issues.

/** GitHub refuses a comment body longer than this (65536 characters). */
export const MAX_COMMENT_LENGTH = 65_536;

function fitted(body: string): string {
  if (body.length <= MAX_COMMENT_LENGTH) return body;
  const cut = '\n\n…(cut: too long for a GitHub comment)';
  return body.slice(0, MAX_COMMENT_LENGTH - cut.length) + cut;
}

/**
 * A new comment on pull request `number`; its id, to edit it in place later. Never retried
 * blindly (the client does not retry it): after a 5xx or a timeout GitHub may have made it,
 * so the comments made since just before are looked through for this text before one more try.
 */
export async function createComment(gh: GitHubRepo, number: number, body: string): Promise<{ id: number }> {
  const { octokit, base } = gh;
  const text = fitted(body);
  // GitHub's clock and ours differ a little: look a minute further back.
  const since = new Date(Date.now() - 60_000).toISOString();
  const create = async () =>
    (await octokit.rest.issues.createComment({ ...base, issue_number: number, body: text })).data.id;
  try {
    return { id: await create() };
  } catch (error) {
    const named = classifyGitHubError(error);
    if (!(named instanceof ForgeUnavailableError)) throw named;
    const made = await madeSince(gh, number, since, text);
    if (made !== undefined) return { id: made };
    try {
      return { id: await create() };
    } catch (again) {
      throw classifyGitHubError(again);
    }
  }
}

/** The newest comment on `number` updated since `since` whose text is `text`. */
async function madeSince(
  { octokit, base }: GitHubRepo,
  number: number,
  since: string,
  text: string,
): Promise<number | undefined> {
  let found: number | undefined;
  const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
    ...base,
    issue_number: number,
    since,
    per_page: 100,
  });
  try {
    for await (const { data } of pages) for (const c of data) if (c.body === text) found = c.id;
  } catch (error) {
    throw classifyGitHubError(error);
  }
  return found;
}

/** Replaces a comment's text; NotFoundError when it was deleted (make a new one then). */
export async function updateComment(
  { octokit, base }: GitHubRepo,
  commentId: number,
  body: string,
): Promise<void> {
  await classified(() =>
    octokit.rest.issues.updateComment({ ...base, comment_id: commentId, body: fitted(body) }),
  );
}
