import { RequestError } from 'octokit';
import {
  AccessDeniedError,
  ConflictError,
  ForgeUnavailableError,
  type MissingPermission,
  NotFoundError,
  NotMergeableError,
  RateLimitedError,
} from '../errors.js';

/** GitHub's own reason when it gives one (`{ message }` in the body), else Octokit's. */
export function githubMessage(error: RequestError): string {
  return (error.response?.data as { message?: string } | undefined)?.message ?? error.message;
}

/**
 * When to ask again, as GitHub's docs say: after `retry-after` seconds when given; at
 * `x-ratelimit-reset` when `x-ratelimit-remaining` is 0; otherwise at least a minute.
 */
function rateLimitResetAt(headers: Record<string, unknown>): Date {
  const retryAfter = Number(headers['retry-after']);
  const reset = Number(headers['x-ratelimit-reset']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return new Date(Date.now() + retryAfter * 1000);
  if (headers['x-ratelimit-remaining'] === '0' && Number.isFinite(reset) && reset > 0)
    return new Date(reset * 1000);
  return new Date(Date.now() + 60_000);
}

/** GitHub's permission keys as its token and App settings pages name them. */
export const PERMISSION_LABELS: Readonly<Record<string, string>> = {
  metadata: 'Metadata',
  contents: 'Contents',
  pull_requests: 'Pull requests',
  checks: 'Checks',
  statuses: 'Commit statuses',
  deployments: 'Deployments',
  workflows: 'Workflows',
  repository_hooks: 'Webhooks',
  administration: 'Administration',
};

/** The permission GitHub names for a key, e.g. `pull_requests` → `Pull requests`. */
export function permissionLabel(key: string): string {
  return PERMISSION_LABELS[key] ?? key;
}

/**
 * The first set of `X-Accepted-GitHub-Permissions` (sets are `;`-separated alternatives,
 * each a `,`-separated list of `permission=access`): the first permission of it.
 */
export function acceptedPermission(header: unknown): MissingPermission | undefined {
  if (typeof header !== 'string') return undefined;
  const first = header.split(';', 1)[0]!.split(',', 1)[0]!.trim();
  const m = /^([a-z_]+)=(read|write|admin)$/.exec(first);
  if (!m) return undefined;
  return { permission: m[1]!, label: permissionLabel(m[1]!), access: m[2] as MissingPermission['access'] };
}

// GitHub's refusal of a write under .github/workflows/ without the permission (App,
// fine-grained token) or scope (classic token, OAuth App): it names the file.
const WORKFLOW_REFUSAL = /refusing to allow .* workflow `([^`]+)` without `workflows?` (permission|scope)/;
const SECONDARY_LIMIT = /secondary rate limit/i;

/**
 * Turns what Octokit threw into one of the forge's named errors, so callers branch on type.
 * Anything unrecognised is returned unchanged, to be rethrown.
 */
export function classifyGitHubError(error: unknown): unknown {
  if (!(error instanceof RequestError)) {
    if (error instanceof TypeError || (error as NodeJS.ErrnoException)?.code === 'ECONNREFUSED') {
      return new ForgeUnavailableError(`GitHub could not be reached: ${(error as Error).message}`);
    }
    return error;
  }
  const headers = (error.response?.headers ?? {}) as Record<string, unknown>;
  const message = githubMessage(error);
  // A secondary rate limit may come as a bare 403 (no retry-after, requests left): only its
  // message tells it from a refusal of the token.
  const secondary = SECONDARY_LIMIT.test(message);
  if (
    error.status === 429 ||
    (error.status === 403 &&
      (secondary || headers['x-ratelimit-remaining'] === '0' || headers['retry-after']))
  ) {
    const limit = secondary || headers['x-ratelimit-remaining'] !== '0' ? 'secondary' : 'primary';
    return new RateLimitedError(`GitHub rate limit: ${message}`, rateLimitResetAt(headers), limit);
  }
  const workflow = WORKFLOW_REFUSAL.exec(message);
  if (workflow && error.status >= 400 && error.status < 500) {
    return new AccessDeniedError(`GitHub refused the token (${error.status}): ${message}`, {
      permission: 'workflows',
      label: permissionLabel('workflows'),
      access: 'write',
      because: workflow[1],
      scope: 'workflow',
    });
  }
  if (error.status >= 500 || error.status === 0)
    return new ForgeUnavailableError(`GitHub answered ${error.status}: ${message}`);
  if (error.status === 401 || error.status === 403)
    return new AccessDeniedError(
      `GitHub refused the token (${error.status}): ${message}`,
      error.status === 403 ? acceptedPermission(headers['x-accepted-github-permissions']) : undefined,
    );
  // Octokit's own message is kept for these: it is what callers showed before they were named.
  if (error.status === 404) return new NotFoundError(error.message);
  if (error.status === 405) return new NotMergeableError(message);
  if (error.status === 409) return new ConflictError(error.message);
  return error;
}

/** Runs one Octokit call and rethrows its failure as a forge error. */
export async function classified<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifyGitHubError(error);
  }
}
