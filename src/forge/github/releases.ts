import { ConflictError, ForgeUnavailableError, NotFoundError } from '../errors.js';
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
  gh: GitHubRepo,
  tag: string,
  sha: string,
  previousTag?: string,
): Promise<ReleaseInfo> {
  const { octokit, base } = gh;
  const notes = await classified(() =>
    octokit.rest.repos.generateReleaseNotes({
      ...base,
      tag_name: tag,
      target_commitish: sha,
      previous_tag_name: previousTag,
    }),
  );
  const create = async () => {
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
  };
  try {
    return await create();
  } catch (error) {
    // A 5xx or a timeout may come after GitHub made the release: look it up by its tag
    // before making it again (a second try would only meet 422, the tag exists).
    if (!(error instanceof ForgeUnavailableError)) throw error;
    return (await releaseOf(gh, tag, sha)) ?? (await create());
  }
}

/** The release tagged `tag` of `sha`; undefined when there is none. */
async function releaseOf(
  { octokit, base }: GitHubRepo,
  tag: string,
  sha: string,
): Promise<ReleaseInfo | undefined> {
  try {
    const { data } = await classified(() => octokit.rest.repos.getReleaseByTag({ ...base, tag }));
    if (data.target_commitish !== sha) {
      throw new ConflictError(`release ${tag} exists already, for ${data.target_commitish}`);
    }
    return { id: data.id, url: data.html_url, tag: data.tag_name };
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}
