import { type Account, accountForEmail, userJson } from './account-json.js';
import type { BranchProtection } from './branch-protection.js';
import type { CommitInfo, FileChange } from './git-repository.js';
import { nodeId, repoApiUrl, repoHtmlUrl, type Site } from './site.js';

/** The committer GitHub uses for merges it makes, as on github.com. */
export const GITHUB_COMMITTER = { name: 'GitHub', email: 'noreply@github.com' };
const webFlow: Account = { login: 'web-flow', id: 19_864_447, type: 'User' };

function accountOf(email: string): Account {
  return email === GITHUB_COMMITTER.email ? webFlow : accountForEmail(email);
}

/** diff-entry */
export function diffEntryJson(site: Site, sha: string, change: FileChange) {
  const api = repoApiUrl(site);
  const html = repoHtmlUrl(site);
  const path = change.filename.split('/').map(encodeURIComponent).join('/');
  return {
    sha: change.blobSha,
    filename: change.filename,
    status: change.status,
    additions: change.additions,
    deletions: change.deletions,
    changes: change.additions + change.deletions,
    blob_url: `${html}/blob/${sha}/${path}`,
    raw_url: `${html}/raw/${sha}/${path}`,
    contents_url: `${api}/contents/${path}?ref=${sha}`,
    ...(change.previousFilename !== undefined ? { previous_filename: change.previousFilename } : {}),
  };
}

/** commit; with `files`, also its stats and files, as GET /commits/{ref} shows them. */
export function commitJson(site: Site, info: CommitInfo, files?: readonly FileChange[]) {
  const api = repoApiUrl(site);
  const html = repoHtmlUrl(site);
  const additions = files?.reduce((sum, f) => sum + f.additions, 0) ?? 0;
  const deletions = files?.reduce((sum, f) => sum + f.deletions, 0) ?? 0;
  return {
    sha: info.sha,
    node_id: nodeId('C', info.sha),
    commit: {
      author: { ...info.author },
      committer: { ...info.committer },
      message: info.message,
      tree: { sha: info.tree, url: `${api}/git/trees/${info.tree}` },
      url: `${api}/git/commits/${info.sha}`,
      comment_count: 0,
      verification: {
        verified: false,
        reason: 'unsigned',
        signature: null,
        payload: null,
        verified_at: null,
      },
    },
    url: `${api}/commits/${info.sha}`,
    html_url: `${html}/commit/${info.sha}`,
    comments_url: `${api}/commits/${info.sha}/comments`,
    author: userJson(site, accountOf(info.author.email)),
    committer: userJson(site, accountOf(info.committer.email)),
    parents: info.parents.map((sha) => ({
      sha,
      url: `${api}/commits/${sha}`,
      html_url: `${html}/commit/${sha}`,
    })),
    ...(files
      ? {
          stats: { total: additions + deletions, additions, deletions },
          files: files.map((f) => diffEntryJson(site, info.sha, f)),
        }
      : {}),
  };
}

export interface Comparison {
  readonly basehead: string;
  readonly base: CommitInfo;
  readonly mergeBase: CommitInfo;
  readonly aheadBy: number;
  readonly behindBy: number;
  readonly commits: readonly CommitInfo[];
  readonly headSha: string;
  readonly files: readonly FileChange[];
}

/** commit-comparison */
export function comparisonJson(site: Site, c: Comparison) {
  const api = repoApiUrl(site);
  const html = repoHtmlUrl(site);
  const status =
    c.aheadBy === 0 && c.behindBy === 0
      ? 'identical'
      : c.behindBy === 0
        ? 'ahead'
        : c.aheadBy === 0
          ? 'behind'
          : 'diverged';
  return {
    url: `${api}/compare/${c.basehead}`,
    html_url: `${html}/compare/${c.basehead}`,
    permalink_url: `${html}/compare/${site.owner}:${c.base.sha.slice(0, 7)}...${site.owner}:${c.headSha.slice(0, 7)}`,
    diff_url: `${html}/compare/${c.basehead}.diff`,
    patch_url: `${html}/compare/${c.basehead}.patch`,
    base_commit: commitJson(site, c.base),
    merge_base_commit: commitJson(site, c.mergeBase),
    status,
    ahead_by: c.aheadBy,
    behind_by: c.behindBy,
    total_commits: c.aheadBy,
    commits: c.commits.map((commit) => commitJson(site, commit)),
    files: c.files.map((f) => diffEntryJson(site, c.headSha, f)),
  };
}

/** branch-with-protection: `protected`, and its required status checks, as the branch's protection says. */
export function branchJson(site: Site, name: string, head: CommitInfo, protection?: BranchProtection) {
  const contexts = protection?.requiredStatusChecks?.contexts ?? [];
  const api = repoApiUrl(site);
  const encoded = encodeURIComponent(name);
  return {
    name,
    commit: commitJson(site, head),
    _links: { self: `${api}/branches/${encoded}`, html: `${repoHtmlUrl(site)}/tree/${encoded}` },
    protected: protection !== undefined,
    protection: {
      enabled: protection !== undefined,
      required_status_checks: {
        enforcement_level:
          contexts.length === 0 ? 'off' : protection?.enforceAdmins ? 'everyone' : 'non_admins',
        contexts: [...contexts],
        checks: contexts.map((context) => ({ context, app_id: null })),
      },
    },
    protection_url: `${api}/branches/${encoded}/protection`,
  };
}

/** git-ref */
export function gitRefJson(site: Site, ref: string, target: { sha: string; type: string }) {
  const api = repoApiUrl(site);
  const kind = target.type === 'tag' ? 'tags' : 'commits';
  return {
    ref,
    node_id: nodeId('REF', ref),
    url: `${api}/git/${ref}`,
    object: { sha: target.sha, type: target.type, url: `${api}/git/${kind}/${target.sha}` },
  };
}

/** git-commit: the commit object itself, as GET /git/commits/{commit_sha} shows it. */
export function gitCommitJson(site: Site, info: CommitInfo) {
  const api = repoApiUrl(site);
  const html = repoHtmlUrl(site);
  return {
    sha: info.sha,
    node_id: nodeId('C', info.sha),
    url: `${api}/git/commits/${info.sha}`,
    html_url: `${html}/commit/${info.sha}`,
    author: { ...info.author },
    committer: { ...info.committer },
    tree: { sha: info.tree, url: `${api}/git/trees/${info.tree}` },
    message: info.message,
    parents: info.parents.map((sha) => ({
      sha,
      url: `${api}/git/commits/${sha}`,
      html_url: `${html}/commit/${sha}`,
    })),
    verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
  };
}

/** tag (the list-tags form) */
export function tagJson(site: Site, name: string, commit: string) {
  const api = repoApiUrl(site);
  return {
    name,
    commit: { sha: commit, url: `${api}/commits/${commit}` },
    zipball_url: `${api}/zipball/refs/tags/${encodeURIComponent(name)}`,
    tarball_url: `${api}/tarball/refs/tags/${encodeURIComponent(name)}`,
    node_id: nodeId('REF', `refs/tags/${name}`),
  };
}
