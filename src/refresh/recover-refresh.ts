// A staging restarted (or a second one started) finds a refresh whose status file still says
// `running`: the process applying it died. The files and the database say what happened,
// never memory:
//   1. a psql session named `lugh-refresh-<nonce12>` that outlived it is terminated, and
//      waited for, so no commit can land after the verdict;
//   2. staging's deploy lock row, read in the database the dump replaces: owner
//      `refresh:<nonce12>:restored` was written by the restore's own transaction, so the
//      data was replaced (migrations, count: then `done`, or the backup back and `failed`);
//      any other owner means the restore never committed: staging's data is as it was.
import { deployLockName } from '../store/locks.js';
import { type AppliedRefresh, type ApplyOptions, finishRestored } from './apply-dump.js';
import { refreshLockOwner, restoredLockOwner, restoreSessionName } from './apply-steps.js';
import type { RefreshStatus } from './mailbox.js';
import { verifyRefresh } from './refresh-handoff.js';
import { withClient } from './temporary-database.js';

export type RecoverOptions = Pick<
  ApplyOptions,
  'databaseUrl' | 'handoffs' | 'locks' | 'backupsDir' | 'migrate' | 'onStep' | 'verifyKey'
> & {
  readonly nonce: string;
  /** The handoff (to know its source commit); undefined when production removed it already. */
  readonly handoff: unknown;
  readonly status: Extract<RefreshStatus, { state: 'running' }>;
  /** How long to wait for a surviving psql session to end once terminated. */
  readonly sessionWaitMs?: number;
};

/** Recovery could not yet tell what happened (a session that would not end, the database away): nothing was changed or released. */
export class RecoveryNotYetError extends Error {
  override readonly name = 'RecoveryNotYetError';
}

export type Recovered =
  | { readonly outcome: 'applied'; readonly applied: AppliedRefresh }
  | { readonly outcome: 'unchanged'; readonly message: string };

/** Ends the psql sessions of refresh `nonce` that are still there, and waits until they are gone. */
export async function endRestoreSessions(
  databaseUrl: string,
  nonce: string,
  waitMs = 30_000,
): Promise<number> {
  return withClient(databaseUrl, async (c) => {
    const name = restoreSessionName(nonce);
    const { rows } = await c.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    for (const { pid } of rows) await c.query('SELECT pg_terminate_backend($1)', [pid]);
    for (const until = Date.now() + waitMs; Date.now() < until; ) {
      const left = await c.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [name]);
      if (left.rowCount === 0) return rows.length;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the restore session ${name} did not end within ${Math.round(waitMs / 1000)} s`);
  });
}

/** The owner of staging's deploy lock row as the database holds it (expired or not). */
async function lockOwner(databaseUrl: string): Promise<string | undefined> {
  return withClient(databaseUrl, async (c) => {
    const exists = await c.query("SELECT to_regclass('public.locks') IS NOT NULL AS t");
    if (!exists.rows[0]?.t) return undefined;
    const { rows } = await c.query<{ owner: string }>('SELECT owner FROM locks WHERE name = $1', [
      deployLockName('staging'),
    ]);
    return rows[0]?.owner;
  });
}

/** Ends an interrupted refresh honestly (see the top of this file); the lock is released either way. */
export async function recoverRefresh(options: RecoverOptions): Promise<Recovered> {
  const { nonce, status } = options;
  // Until the sessions are gone and the owner is read, nothing is decided and the lock stays
  // held (a psql that outlived its parent may still commit): the caller may try again.
  const owner = await endRestoreSessions(options.databaseUrl, nonce, options.sessionWaitMs)
    .then(() => lockOwner(options.databaseUrl))
    .catch((error: unknown) => {
      throw new RecoveryNotYetError(error instanceof Error ? error.message : String(error));
    });
  const name = deployLockName('staging');
  try {
    if (owner !== restoredLockOwner(nonce))
      return {
        outcome: 'unchanged',
        message: `staging restarted during its ${status.step} step, before the restore committed: staging’s data is as it was before the refresh; ask /refresh staging again`,
      };
    const verdict = verifyRefresh(options.handoff, options.verifyKey);
    const sourceCommit = verdict.ok ? verdict.claims.sourceCommit : '0'.repeat(40);
    if (!status.backup)
      throw new Error('the status file names no pre-refresh backup, yet the restore committed');
    const applied = await finishRestored({
      ...options,
      claims: verdict.ok
        ? verdict.claims
        : { nonce, sha256: '0'.repeat(64), bytes: 1, sourceCommit, rulesHash: '0'.repeat(64), issuedAt: '' },
      backup: status.backup,
    });
    return { outcome: 'applied', applied };
  } finally {
    await options.locks.release(name, refreshLockOwner(nonce)).catch(() => false);
    await options.locks.release(name, restoredLockOwner(nonce)).catch(() => false);
  }
}
