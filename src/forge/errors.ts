// What a forge's failures mean to lugh, whichever forge it is: callers branch on these
// types, and each forge's implementation turns its client's errors into them.

/** The forge answered 5xx or could not be reached: try again later; nothing was changed by us. */
export class ForgeUnavailableError extends Error {
  override name = 'ForgeUnavailableError';
}

/**
 * The token's primary rate limit is used up, or a secondary limit (too many requests at
 * once) was hit: wait until `resetAt`.
 */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(
    message: string,
    readonly resetAt: Date,
    readonly limit: 'primary' | 'secondary' = 'primary',
  ) {
    super(message);
  }
}

/** A permission the token lacks, as the forge names it. */
export interface MissingPermission {
  /** The forge's own key, e.g. `deployments`. */
  readonly permission: string;
  /** How people see it where they grant it, e.g. `Deployments`. */
  readonly label: string;
  readonly access: 'read' | 'write' | 'admin';
  /** Why it is needed here, when the forge said (e.g. the workflow file a merge changes). */
  readonly because?: string;
  /** What a classic token needs instead (an OAuth scope), when it differs. */
  readonly scope?: string;
}

/** The token was refused or lacks a permission: a person must fix the token, retrying won't. */
export class AccessDeniedError extends Error {
  override name = 'AccessDeniedError';
  constructor(
    message: string,
    /** The permission that is missing, when the forge said which. */
    readonly missing?: MissingPermission,
  ) {
    super(message);
  }
}

/** The repository, branch, commit or object asked for does not exist (or the token cannot see it). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** The forge refused a change that conflicts with the current state: read it again before deciding. */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** The pull request's head moved since it was approved: ask again for the new head. */
export class HeadMovedError extends ConflictError {
  override name = 'HeadMovedError';
}

/** The merge was refused (conflicts, failing required checks, already merged): fix it, never force. */
export class NotMergeableError extends Error {
  override name = 'NotMergeableError';
}
