import { NotFoundError } from '../errors.js';
import type { ReleaseInfo } from '../forge.js';
import { classified } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

/** GitHub's latest release is the newest by date, not the highest version. */
export async function latestReleaseTag({ octokit, base }: GitHubRepo): Promise<string | undefined> {
  try {
    const { data } = await classified(() => octokit.rest.repos.getLatestRelease(base));
    return data.tag_name;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

export async function createRelease(
  { octokit, base }: GitHubRepo,
  tag: string,
  sha: string,
  previousTag?: string,
): Promise<ReleaseInfo> {
  const notes = await classified(() =>
    octokit.rest.repos.generateReleaseNotes({
      ...base,
      tag_name: tag,
      target_commitish: sha,
      previous_tag_name: previousTag,
    }),
  );
  const { data } = await classified(() =>
    octokit.rest.repos.createRelease({
      ...base,
      tag_name: tag,
      target_commitish: sha,
      name: notes.data.name,
      body: notes.data.body,
    }),
  );
  return { id: data.id, url: data.html_url, tag: data.tag_name };
}
