// What a forge's failures mean to lugh, whichever forge it is: callers branch on these
// types, and each forge's implementation turns its client's errors into them.

/** The forge answered 5xx or could not be reached: try again later; nothing was changed by us. */
export class ForgeUnavailableError extends Error {
  override name = 'ForgeUnavailableError';
}

/** The token's primary or secondary rate limit is exhausted: wait until `resetAt`. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(
    message: string,
    readonly resetAt: Date,
  ) {
    super(message);
  }
}

/** The token was refused or lacks a permission: a person must fix the token, retrying won't. */
export class AccessDeniedError extends Error {
  override name = 'AccessDeniedError';
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
