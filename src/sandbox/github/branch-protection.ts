// Branch protection as GitHub's REST API shows and takes it
// (docs.github.com/rest/branches/branch-protection): what merging into a branch requires.
import { GitHubApiError } from './errors.js';
import { repoApiUrl, type Site } from './site.js';

/** What the stand-in keeps of one branch's protection (the parts that decide merging). */
export interface BranchProtection {
  /** null: no status check is required. */
  readonly requiredStatusChecks: {
    /** "Require branches to be up to date before merging": the head must contain the base's tip. */
    readonly strict: boolean;
    /** Names of the check runs or commit statuses that must succeed. */
    readonly contexts: readonly string[];
  } | null;
  /** null: no review is required. */
  readonly requiredPullRequestReviews: {
    readonly requiredApprovingReviewCount: number;
    readonly dismissStaleReviews: boolean;
    readonly requireCodeOwnerReviews: boolean;
  } | null;
  readonly enforceAdmins: boolean;
}

const DOCS = 'https://docs.github.com/rest/branches/branch-protection';

/** GET on a branch that has none: GitHub's own 404, distinct from a missing branch. */
export function notProtected(): GitHubApiError {
  return new GitHubApiError(404, 'Branch not protected', {}, {}, `${DOCS}#get-branch-protection`);
}

function protectionUrl(site: Site, branch: string): string {
  return `${repoApiUrl(site)}/branches/${encodeURIComponent(branch)}/protection`;
}

/** The `branch-protection` schema of GET …/protection (`protected-branch` for PUT adds nothing lugh reads). */
export function protectionJson(site: Site, branch: string, p: BranchProtection) {
  const url = protectionUrl(site, branch);
  const checks = p.requiredStatusChecks;
  const reviews = p.requiredPullRequestReviews;
  return {
    url,
    ...(checks
      ? {
          required_status_checks: {
            url: `${url}/required_status_checks`,
            strict: checks.strict,
            contexts: [...checks.contexts],
            checks: checks.contexts.map((context) => ({ context, app_id: null })),
            contexts_url: `${url}/required_status_checks/contexts`,
          },
        }
      : {}),
    ...(reviews
      ? {
          required_pull_request_reviews: {
            url: `${url}/required_pull_request_reviews`,
            dismiss_stale_reviews: reviews.dismissStaleReviews,
            require_code_owner_reviews: reviews.requireCodeOwnerReviews,
            required_approving_review_count: reviews.requiredApprovingReviewCount,
            require_last_push_approval: false,
          },
        }
      : {}),
    enforce_admins: { url: `${url}/enforce_admins`, enabled: p.enforceAdmins },
    required_signatures: { url: `${url}/required_signatures`, enabled: false },
    required_linear_history: { enabled: false },
    allow_force_pushes: { enabled: false },
    allow_deletions: { enabled: false },
    block_creations: { enabled: false },
    required_conversation_resolution: { enabled: false },
    lock_branch: { enabled: false },
    allow_fork_syncing: { enabled: false },
  };
}

function invalid(detail: string): GitHubApiError {
  return new GitHubApiError(422, `Invalid request.\n\n${detail}`, {}, {}, `${DOCS}#update-branch-protection`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The body of PUT …/protection, checked as GitHub checks it: the four top-level keys are
 * required (each may be null), `strict` and `contexts` (or `checks`) with status checks.
 */
export function parseProtection(body: Readonly<Record<string, unknown>>): BranchProtection {
  for (const key of [
    'required_status_checks',
    'enforce_admins',
    'required_pull_request_reviews',
    'restrictions',
  ]) {
    if (!(key in body)) throw invalid(`"${key}" wasn't supplied.`);
  }
  const checks = body.required_status_checks;
  const reviews = body.required_pull_request_reviews;
  let requiredStatusChecks: BranchProtection['requiredStatusChecks'] = null;
  if (checks !== null) {
    if (!isObject(checks))
      throw invalid("For 'properties/required_status_checks', it is not an object or null.");
    if (typeof checks.strict !== 'boolean') throw invalid('"strict" wasn\'t supplied.');
    const named = Array.isArray(checks.checks)
      ? checks.checks.map((c) => (isObject(c) ? c.context : undefined))
      : checks.contexts;
    if (!Array.isArray(named) || !named.every((c) => typeof c === 'string')) {
      throw invalid('"contexts" wasn\'t supplied.');
    }
    requiredStatusChecks = { strict: checks.strict, contexts: [...new Set(named as string[])] };
  }
  let requiredPullRequestReviews: BranchProtection['requiredPullRequestReviews'] = null;
  if (reviews !== null) {
    if (!isObject(reviews))
      throw invalid("For 'properties/required_pull_request_reviews', it is not an object or null.");
    const count = reviews.required_approving_review_count ?? 1;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 6) {
      throw invalid('required_approving_review_count must be between 0 and 6.');
    }
    requiredPullRequestReviews = {
      requiredApprovingReviewCount: count,
      dismissStaleReviews: reviews.dismiss_stale_reviews === true,
      requireCodeOwnerReviews: reviews.require_code_owner_reviews === true,
    };
  }
  if (body.enforce_admins !== null && typeof body.enforce_admins !== 'boolean') {
    throw invalid("For 'properties/enforce_admins', it is not a boolean or null.");
  }
  return { requiredStatusChecks, requiredPullRequestReviews, enforceAdmins: body.enforce_admins === true };
}
