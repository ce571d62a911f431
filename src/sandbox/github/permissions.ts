import type { StandInCore } from './core.js';
import { GitHubApiError } from './errors.js';
import { headTip } from './pulls.js';

/**
 * A token's repository permissions as GitHub Apps and fine-grained tokens hold them
 * (`contents`, `pull_requests`, …, GitHub's own names), each `read`, `write` or `admin`.
 */
export type Access = 'read' | 'write' | 'admin';
export type Permissions = Readonly<Record<string, Access>>;

/** What lugh's token holds unless a test says otherwise: everything lugh needs, and workflows. */
export const DEFAULT_PERMISSIONS: Permissions = {
  metadata: 'read',
  contents: 'write',
  pull_requests: 'write',
  checks: 'read',
  statuses: 'write',
  deployments: 'write',
  workflows: 'write',
  repository_hooks: 'read',
  administration: 'read',
};

const RANK: Record<Access, number> = { read: 1, write: 2, admin: 3 };

/**
 * What kind of token lugh was given: a GitHub App's installation token (acts as a bot), a
 * fine-grained personal access token (permissions), or a classic one (OAuth scopes).
 */
export type TokenKind = 'installation' | 'fine-grained' | 'classic';

export interface TokenGrant {
  readonly kind: TokenKind;
  /** installation and fine-grained tokens (default: DEFAULT_PERMISSIONS). */
  readonly permissions?: Permissions;
  /** classic tokens (default: repo, workflow). */
  readonly scopes?: readonly string[];
}

const REPOSITORY_PERMISSIONS = [
  'metadata',
  'contents',
  'pull_requests',
  'checks',
  'statuses',
  'deployments',
  'repository_hooks',
  'administration',
];

/**
 * The permissions a token holds. A classic token's `repo` scope is full control of the
 * repositories its owner can reach (hooks and protection too); `workflow` adds workflows.
 */
export function effectivePermissions(grant: TokenGrant): Permissions {
  if (grant.kind !== 'classic') return grant.permissions ?? DEFAULT_PERMISSIONS;
  const scopes = grant.scopes ?? ['repo', 'workflow'];
  const held: Record<string, Access> = {};
  if (scopes.includes('repo')) for (const name of REPOSITORY_PERMISSIONS) held[name] = 'admin';
  if (scopes.includes('workflow')) held.workflows = 'write';
  return held;
}

/** Who GitHub says refused: "integration" for an App, "personal access token" otherwise. */
function refusedBy(kind: TokenKind): string {
  return kind === 'installation' ? 'integration' : 'personal access token';
}

export interface Requirement {
  readonly permission: string;
  readonly access: Access;
}

/**
 * The permission GitHub requires for a route (see "Permissions required for GitHub Apps"),
 * by what the route touches; undefined for routes any token may call.
 */
export function requirementOf(method: string, path: string): Requirement | undefined {
  const access: Access = method === 'GET' ? 'read' : 'write';
  if (!path.startsWith('/repos/{owner}/{repo}')) return undefined;
  const rest = path.slice('/repos/{owner}/{repo}'.length);
  if (rest === '') return { permission: 'metadata', access: 'read' };
  if (rest.startsWith('/hooks')) return { permission: 'repository_hooks', access };
  if (/^\/branches\/\{branch\}\/protection/.test(rest)) return { permission: 'administration', access };
  // Merging writes the base branch: GitHub asks for contents, not pull requests.
  if (rest === '/pulls/{pull_number}/merge') return { permission: 'contents', access: 'write' };
  if (rest.startsWith('/pulls')) return { permission: 'pull_requests', access };
  // A pull request's conversation: GitHub takes issues or pull_requests; the stand-in has only pull requests.
  if (rest.startsWith('/issues')) return { permission: 'pull_requests', access };
  if (/\/check-(runs|suites)/.test(rest)) return { permission: 'checks', access };
  if (/\/status(es)?(\/|$)/.test(rest)) return { permission: 'statuses', access };
  if (rest.startsWith('/deployments')) return { permission: 'deployments', access };
  return { permission: 'contents', access };
}

export function holds(granted: Permissions, need: Requirement): boolean {
  const has = granted[need.permission];
  return has !== undefined && RANK[has] >= RANK[need.access];
}

/** GitHub's `X-Accepted-GitHub-Permissions` header value for one requirement. */
export function acceptedHeader(need: Requirement): string {
  return `${need.permission}=${need.access}`;
}

/** GitHub's answer to a token that lacks the route's permission. */
export function notAccessible(need: Requirement, kind: TokenKind): GitHubApiError {
  return new GitHubApiError(
    403,
    `Resource not accessible by ${refusedBy(kind)}`,
    {},
    kind === 'classic' ? {} : { 'x-accepted-github-permissions': acceptedHeader(need) },
    'https://docs.github.com/rest',
  );
}

/**
 * A merge that changes files under `.github/workflows/` needs the `workflows` permission:
 * GitHub refuses it naming the first such file. (The refusal's status for the REST merge
 * is not documented; 403 is assumed, and lugh recognises the message whatever the status.)
 */
export async function workflowRefusal(
  core: StandInCore,
  grant: TokenGrant,
  pullNumber: number,
): Promise<GitHubApiError | undefined> {
  if (holds(effectivePermissions(grant), { permission: 'workflows', access: 'write' })) return undefined;
  const pr = core.state.pull(pullNumber);
  if (pr?.state !== 'open') return undefined;
  const [base, head] = await Promise.all([core.repo.branchSha(pr.base), headTip(core, pr)]);
  if (!base || !head) return undefined;
  const mergeBase = await core.repo.mergeBase(base, head);
  const changed = await core.repo.changes(mergeBase ?? undefined, head);
  const workflow = changed.find((c) => c.filename.startsWith('.github/workflows/'));
  if (!workflow) return undefined;
  const who =
    grant.kind === 'installation'
      ? 'a GitHub App to create or update workflow `%s` without `workflows` permission'
      : 'a Personal Access Token to create or update workflow `%s` without `workflow` scope';
  // The header names the route's own requirement (contents=write), which the token holds:
  // only the message says what is missing.
  return new GitHubApiError(
    403,
    `refusing to allow ${who.replace('%s', workflow.filename)}`,
    {},
    grant.kind === 'classic' ? {} : { 'x-accepted-github-permissions': 'contents=write' },
  );
}
