import { ConflictError, ForgeUnavailableError, NotFoundError } from '../errors.js';
import type { ReleaseInfo } from '../forge.js';
import { classified } from './classify-error.js';
import type { GitHubRepo } from './github-repo.js';

const VERSION_TAG = /^v(\d+)\.(\d+)\.(\d+)$/;
const TAGS_PER_PAGE = 100;

/** The version of a `vX.Y.Z` tag, or undefined for any other name. */
function versionOf(tag: string): [number, number, number] | undefined {
  const m = VERSION_TAG.exec(tag);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/**
 * The highest `vX.Y.Z` tag of the repository, read over every page of its tags; undefined
 * when there is none. Not GitHub's releases/latest: that is the release published last (a
 * hotfix of an older line, or a tag that is no version), which would give a regressed tag.
 * Paged by hand: each page is one conditional request through the client's ETag cache.
 */
export async function latestReleaseTag(gh: GitHubRepo): Promise<string | undefined> {
  return (await readTags(gh)).latest;
}

/** Every tag of the repository (over all pages) with the commit it tags, and the highest `vX.Y.Z`. */
async function readTags({ octokit, base }: GitHubRepo): Promise<{
  latest: string | undefined;
  commits: ReadonlyMap<string, string>;
}> {
  let best: { tag: string; version: [number, number, number] } | undefined;
  const commits = new Map<string, string>();
  for (let page = 1; ; page += 1) {
    const { data } = await classified(() =>
      octokit.rest.repos.listTags({ ...base, per_page: TAGS_PER_PAGE, page }),
    );
    for (const { name, commit } of data) {
      commits.set(name, commit.sha);
      const version = versionOf(name);
      if (version && compareVersions(version, best?.version) > 0) best = { tag: name, version };
    }
    if (data.length < TAGS_PER_PAGE) return { latest: best?.tag, commits };
  }
}

/**
 * A release of `sha` under the tag `next` names after the highest `vX.Y.Z` tag, with notes
 * since that tag. The listing that finds the highest tag also says which tags exist (with the
 * commit each tags, peeled), so the new tag is not looked up again: one request fewer than
 * latestReleaseTag then createRelease. A tag the listing holds is never reused for another
 * commit (ConflictError, as createRelease).
 */
export async function releaseNext(
  gh: GitHubRepo,
  sha: string,
  next: (latest: string | undefined) => string,
): Promise<ReleaseInfo> {
  const { latest, commits } = await readTags(gh);
  const tag = next(latest);
  return createRelease(gh, tag, sha, latest, { tagged: commits.get(tag) });
}

/** Positive when `a` is the higher version (any version is higher than none). */
function compareVersions(a: [number, number, number], b: [number, number, number] | undefined): number {
  if (!b) return 1;
  for (let i = 0; i < 3; i += 1) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The commit a tag points at (peeled), or undefined when there is no such tag. */
async function taggedCommit({ octokit, base }: GitHubRepo, tag: string): Promise<string | undefined> {
  try {
    const { data } = await classified(() => octokit.rest.git.getRef({ ...base, ref: `tags/${tag}` }));
    if (data.object.type !== 'tag') return data.object.sha;
    // An annotated tag names its tag object: the commit it tags, peeled.
    const { data: commit } = await classified(() =>
      octokit.rest.repos.getCommit({ ...base, ref: `refs/tags/${tag}`, per_page: 1 }),
    );
    return commit.sha;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * A release of `sha` tagged `tag`. A tag that exists already is never reused for another
 * commit: GitHub would silently release the tag's old commit (target_commitish is unused
 * when the tag exists), so that is refused with ConflictError. A tag already on `sha` is
 * this release's own (an earlier attempt): its release is returned, or made on it.
 */
export async function createRelease(
  gh: GitHubRepo,
  tag: string,
  sha: string,
  previousTag?: string,
  /** What a listing of the tags just read says `tag` tags (undefined: no such tag); looked up when not given. */
  known?: { readonly tagged: string | undefined },
): Promise<ReleaseInfo> {
  const { octokit, base } = gh;
  // A tag pushed between the look and the release below is as possible after either look.
  const tagged = known ? known.tagged : await taggedCommit(gh, tag);
  if (tagged !== undefined && tagged !== sha) {
    throw new ConflictError(
      `tag ${tag} exists already, on commit ${tagged.slice(0, 7)}: lugh never moves or reuses a tag, so no release was made for ${sha.slice(0, 7)}. Delete the tag if it is a mistake, or tag this commit by hand with the next free version.`,
    );
  }
  if (tagged === sha) {
    const existing = await releaseOf(gh, tag, sha);
    if (existing) return existing;
  }
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
