/** Staging's steps of a refresh, in order (apply-dump.ts; named in its status file and in chat). */
export const APPLY_STEPS = ['verify', 'lock', 'backup', 'restore', 'migrate', 'count'] as const;
export type ApplyStep = (typeof APPLY_STEPS)[number];

/** The `application_name` of the psql session that restores refresh `nonce` (recovery looks for it). */
export const restoreSessionName = (nonce: string) => `lugh-refresh-${nonce.slice(0, 12)}`;

/** Staging's deploy lock owner while refresh `nonce` applies, before its restore commits. */
export const refreshLockOwner = (nonce: string) => `refresh:${nonce.slice(0, 12)}`;

/** The owner the restore's own transaction writes as its last statement: its commit is the proof. */
export const restoredLockOwner = (nonce: string) => `${refreshLockOwner(nonce)}:restored`;
