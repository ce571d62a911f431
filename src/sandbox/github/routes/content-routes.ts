import type { StandInCore } from '../core.js';
import { GitHubApiError } from '../errors.js';
import type { TreeEntry } from '../git-repository.js';
import type { Route } from '../route-types.js';
import { repoApiUrl, repoHtmlUrl } from '../site.js';

const DOCS = 'https://docs.github.com/rest/repos/contents#get-repository-content';

/** GitHub's 404 for a path the commit lacks (and for a ref it does not know, with its own words). */
const missing = (message = 'Not Found') => new GitHubApiError(404, message, {}, {}, DOCS);

/** The raw media types (`application/vnd.github.raw`, `…raw+json`, `…v3.raw`): the file's own bytes. */
const wantsRaw = (accept: string | undefined) => /application\/vnd\.github(\.v3)?\.raw/.test(accept ?? '');

const TYPES: Record<TreeEntry['type'], string> = { blob: 'file', tree: 'dir', commit: 'submodule' };

/** content-directory's item, and content-file without its content. */
function entryJson(core: StandInCore, ref: string, entry: TreeEntry) {
  const api = repoApiUrl(core.site);
  const html = repoHtmlUrl(core.site);
  const path = entry.path.split('/').map(encodeURIComponent).join('/');
  const type = entry.mode === '120000' ? 'symlink' : TYPES[entry.type];
  const self = `${api}/contents/${path}?ref=${encodeURIComponent(ref)}`;
  const git = `${api}/git/${entry.type === 'tree' ? 'trees' : 'blobs'}/${entry.sha}`;
  const page = `${html}/${entry.type === 'tree' ? 'tree' : 'blob'}/${encodeURIComponent(ref)}/${path}`;
  return {
    name: entry.path.split('/').at(-1) ?? '',
    path: entry.path,
    sha: entry.sha,
    size: entry.size,
    url: self,
    html_url: page,
    git_url: git,
    download_url: type === 'file' ? `${html}/raw/${encodeURIComponent(ref)}/${path}` : null,
    type,
    _links: { self, git, html: page },
  };
}

/** Base64 as GitHub sends it in JSON: lines of 60 characters, each ending in a newline. */
function githubBase64(bytes: Buffer): string {
  return (bytes.toString('base64').match(/.{1,60}/g) ?? []).map((line) => `${line}\n`).join('');
}

/**
 * A file or folder of a commit, as the contents API answers: with a raw media type the
 * file's bytes; otherwise JSON (a file's content in base64, a folder as the list of its
 * entries). A path the commit lacks is 404 with GitHub's body.
 */
export const contentRoutes: Route[] = [
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/contents/{path}',
    operationId: 'repos/get-content',
    handle: async (core, { params, query, accept }) => {
      const ref = query.get('ref') ?? (await core.repo.defaultBranch());
      const sha = await core.repo.resolveCommit(ref);
      if (!sha) throw missing(`No commit found for the ref ${ref}`);
      const found = await core.repo.entryAt(sha, params.path!);
      if (!found) throw missing();
      const { entry, children } = found;
      if (children) return { status: 200, body: children.map((child) => entryJson(core, ref, child)) };
      if (entry.type !== 'blob') return { status: 200, body: entryJson(core, ref, entry) };
      const bytes = await core.repo.blob(entry.sha);
      if (wantsRaw(accept)) {
        return {
          status: 200,
          raw: { contentType: 'application/vnd.github.raw+json; charset=utf-8', bytes },
          headers: { 'x-github-media-type': 'github.raw; format=json' },
        };
      }
      return {
        status: 200,
        body: { ...entryJson(core, ref, entry), content: githubBase64(bytes), encoding: 'base64' },
      };
    },
  },
];
