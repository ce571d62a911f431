// How long stopping lugh may take. A stopping instance finishes the update in flight: that
// update is claimed and its offset confirmed, so no other instance will ever answer it, and
// a process that exits first loses it. Its reply may be waiting out a 429, for as long as
// auto-retry waits; the stop's deadline and Docker's grace must outlast that wait.

/** The longest wait for one 429 that auto-retry sits out before a reply goes out. */
export const REPLY_RETRY_MAX_SECONDS = 60;

/** A stop that hangs (a dependency gone) is cut short here: after one reply's longest wait. */
export const SHUTDOWN_DEADLINE_MS = (REPLY_RETRY_MAX_SECONDS + 10) * 1000;

/**
 * How long Docker lets lugh stop before it kills it (the switch's stop, the compose files'
 * `stop_grace_period`): past the shutdown deadline. A stop that finishes sooner ends sooner.
 */
export const STOP_GRACE_SECONDS = REPLY_RETRY_MAX_SECONDS + 15;
