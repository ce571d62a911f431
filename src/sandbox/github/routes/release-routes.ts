import type { StandInCore } from '../core.js';
import { invalidField, missingField, notFound, validationFailed } from '../errors.js';
import { paginate } from '../pagination.js';
import { releaseJson } from '../release-json.js';
import type { Route } from '../route-types.js';
import { repoHtmlUrl } from '../site.js';
import type { ReleaseRecord } from '../state.js';

/** The release GitHub calls latest: the newest published one that is not a prerelease. */
function latestRelease(core: StandInCore, except?: string): ReleaseRecord | undefined {
  const published = core.state.releases.filter((r) => !r.draft && !r.prerelease && r.tagName !== except);
  return published.filter((r) => r.makeLatest).at(-1) ?? published.at(-1);
}

/**
 * GitHub's generated notes: the pull requests merged between the previous tag and this one,
 * then the full changelog link.
 */
async function releaseNotes(
  core: StandInCore,
  input: { tagName: string; target?: string; previousTag?: string },
): Promise<{ name: string; body: string }> {
  const end =
    (await core.repo.resolveCommit(`refs/tags/${input.tagName}`)) ??
    (await core.repo.resolveCommit(input.target ?? (await core.repo.defaultBranch())));
  if (!end) throw notFound();
  const previousTag = input.previousTag ?? latestRelease(core, input.tagName)?.tagName;
  const start = previousTag ? await core.repo.resolveCommit(`refs/tags/${previousTag}`) : undefined;
  if (previousTag && !start) throw invalidField('ReleaseNotes', 'previous_tag_name');
  const inRange = new Set((await core.repo.commitsBetween(start, end)).map((c) => c.sha));
  const html = repoHtmlUrl(core.site);
  const pulls = core.state.pulls.filter((p) => p.mergeCommitSha && inRange.has(p.mergeCommitSha));
  const lines = pulls.map((p) => `* ${p.title} by @${p.user.login} in ${html}/pull/${p.number}`);
  const changelog = previousTag
    ? `**Full Changelog**: ${html}/compare/${previousTag}...${input.tagName}`
    : `**Full Changelog**: ${html}/commits/${input.tagName}`;
  const body = lines.length > 0 ? `## What's Changed\n${lines.join('\n')}\n\n\n${changelog}` : changelog;
  return { name: input.tagName, body };
}

/** Releases and their generated notes. */
export const releaseRoutes: Route[] = [
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/releases',
    operationId: 'repos/create-release',
    handle: async (core, { body }) => {
      const tagName = body.tag_name;
      if (typeof tagName !== 'string' || tagName === '') throw missingField('Release', 'tag_name');
      if (core.state.releases.some((r) => r.tagName === tagName)) {
        throw validationFailed([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }]);
      }
      const target =
        typeof body.target_commitish === 'string' && body.target_commitish !== ''
          ? body.target_commitish
          : await core.repo.defaultBranch();
      const draft = body.draft === true;
      const release = await core.exclusive(async () => {
        const tagged = await core.repo.resolveCommit(`refs/tags/${tagName}`);
        if (!tagged) {
          const sha = await core.repo.resolveCommit(target);
          if (!sha) throw invalidField('Release', 'target_commitish');
          // Publishing a release for a tag that does not exist yet creates it, as on GitHub.
          if (!draft) await core.repo.compareAndSwapRef(`refs/tags/${tagName}`, sha, undefined);
        }
        const notes =
          body.generate_release_notes === true ? await releaseNotes(core, { tagName, target }) : undefined;
        const at = core.timestamp();
        const record: ReleaseRecord = {
          id: core.state.nextId('release'),
          tagName,
          targetCommitish: target,
          name: typeof body.name === 'string' ? body.name : (notes?.name ?? null),
          body: typeof body.body === 'string' ? body.body : (notes?.body ?? null),
          draft,
          prerelease: body.prerelease === true,
          createdAt: at,
          publishedAt: draft ? null : at,
          author: core.actor,
          makeLatest: body.make_latest !== 'false' && body.make_latest !== false,
        };
        core.state.releases.push(record);
        return record;
      });
      const json = releaseJson(core.site, release);
      return { status: 201, body: json, headers: { location: json.url } };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/releases/latest',
    operationId: 'repos/get-latest-release',
    handle: async (core) => {
      const latest = latestRelease(core);
      if (!latest) throw notFound();
      return { status: 200, body: releaseJson(core.site, latest) };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/releases/tags/{tag}',
    operationId: 'repos/get-release-by-tag',
    handle: async (core, { params }) => {
      // Drafts have no tag yet as far as this lookup is concerned, as on GitHub.
      const release = core.state.releases.find((r) => r.tagName === params.tag && !r.draft);
      if (!release) throw notFound();
      return { status: 200, body: releaseJson(core.site, release) };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/releases',
    operationId: 'repos/list-releases',
    handle: async (core, { query, url }) => {
      const releases = [...core.state.releases].reverse().map((r) => releaseJson(core.site, r));
      const { page, headers } = paginate(releases, query, url);
      return { status: 200, body: page, headers };
    },
  },
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/releases/generate-notes',
    operationId: 'repos/generate-release-notes',
    handle: async (core, { body }) => {
      if (typeof body.tag_name !== 'string' || body.tag_name === '')
        throw missingField('ReleaseNotes', 'tag_name');
      const notes = await releaseNotes(core, {
        tagName: body.tag_name,
        ...(typeof body.target_commitish === 'string' ? { target: body.target_commitish } : {}),
        ...(typeof body.previous_tag_name === 'string' ? { previousTag: body.previous_tag_name } : {}),
      });
      return { status: 200, body: notes };
    },
  },
];
