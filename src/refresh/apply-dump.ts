// Staging's half of /refresh staging: checks production's signed dump, takes staging's
// deploy lock, backs its own database up, and replaces the database's content with the
// dump in ONE transaction (so a refresh killed at any instant leaves staging as it was),
// then runs the migrations; a failing migration puts the pre-refresh backup back.
//
// The restore's last statement re-takes staging's deploy lock (it lives in the database the
// dump replaces) as `refresh:<nonce12>:restored`: no deploy slips in between the commit and
// the migrations, and a staging restarted mid-refresh reads that owner to know whether the
// commit happened (recover-refresh.ts). The psql session is named `lugh-refresh-<nonce12>`
// so a restarted staging can find and end one that outlived it.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { backupDatabase, runPgTool } from '../deployer/backup.js';
import { RestoreFailedError } from '../deployer/errors.js';
import { deployLockName, type LockStore } from '../store/locks.js';
import type { RefreshHandoffStore } from '../store/refresh-handoffs.js';
import { type ApplyStep, refreshLockOwner, restoredLockOwner, restoreSessionName } from './apply-steps.js';
import { RefreshRefusedError } from './errors.js';
import { sha256OfFile } from './prepare-dump.js';
import { type RefreshClaims, verifyRefresh } from './refresh-handoff.js';

export { APPLY_STEPS, type ApplyStep } from './apply-steps.js';

/** A handoff older than this is refused: it was meant for a refresh that is long over. */
export const HANDOFF_MAX_AGE_MS = 6 * 60 * 60 * 1000;

export interface ApplyOptions {
  /** Staging's database: the one its deploys back up (DATABASE_URL). Never production's. */
  readonly databaseUrl: string;
  readonly dumpFile: string;
  /** The handoff as read from JSON beside the dump: trusted for nothing until verified. */
  readonly handoff: unknown;
  readonly verifyKey: string | undefined;
  readonly handoffs: RefreshHandoffStore;
  readonly locks: LockStore;
  /** LUGH_HOME/backups: the pre-refresh backup goes there (`staging-pre-restore-*.dump`). */
  readonly backupsDir: string;
  readonly keepBackups: number;
  /** Brings the restored database to staging's schema (lugh's migrations). */
  readonly migrate: (databaseUrl: string) => Promise<void>;
  readonly lockTtlMs?: number;
  /** As each step starts; from `restore` on, `backup` names staging's pre-refresh backup. */
  readonly onStep?: (step: ApplyStep, detail?: { backup?: string }) => Promise<void>;
  /** Once applied, before staging's deploy lock is released (the mailbox writes `done` here). */
  readonly onApplied?: (applied: AppliedRefresh) => Promise<void>;
  readonly now?: () => Date;
}

export interface AppliedRefresh {
  readonly claims: RefreshClaims;
  /** Rows per table after the refresh (`schema.table`). */
  readonly rows: Readonly<Record<string, number>>;
  /** Staging's backup from before the refresh (a file name under LUGH_HOME/backups). */
  readonly backup: string;
}

// Empties the database of every user schema inside the restore's transaction, so objects
// the dump lacks go too and a failure anywhere rolls the whole swap back.
const EMPTY_DATABASE = `DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace
           WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY nspname LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
END $$;
CREATE SCHEMA public;
`;

const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;

/** What the restore's transaction ends with: staging's deploy lock, as `owner`, and the nonces seen. */
export function restoredLockSql(
  lock: { readonly name: string; readonly owner: string; readonly reason: string; readonly ttlMs: number },
  seen: readonly { nonce: string; sha256: string; sourceCommit: string }[] = [],
): string {
  const handoffs = seen
    .map((h) => `(${literal(h.nonce)}, ${literal(h.sha256)}, ${literal(h.sourceCommit)})`)
    .join(', ');
  return `DO $$ BEGIN
  IF to_regclass('public.locks') IS NULL THEN
    RAISE EXCEPTION 'the dump has no locks table: it is not a dump of lugh''s database';
  END IF;
END $$;
${
  handoffs
    ? `DO $$ BEGIN
  IF to_regclass('public.refresh_handoffs') IS NOT NULL THEN
    INSERT INTO public.refresh_handoffs (nonce, sha256, source_commit) VALUES ${handoffs} ON CONFLICT DO NOTHING;
  END IF;
END $$;
`
    : ''
}INSERT INTO public.locks (name, owner, reason, expires_at)
  VALUES (${literal(lock.name)}, ${literal(lock.owner)}, ${literal(lock.reason)},
          now() + make_interval(secs => ${Math.round(lock.ttlMs / 1000)}))
  ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, reason = EXCLUDED.reason,
    acquired_at = now(), expires_at = EXCLUDED.expires_at;
`;
}

/**
 * Replaces the whole content of `databaseUrl` by a `-Fc` dump, in one transaction; `last`
 * (SQL) runs inside it after the dump, and `sessionName` names psql's session.
 */
export async function replaceDatabase(
  databaseUrl: string,
  file: string,
  options: { readonly last?: string; readonly sessionName?: string } = {},
): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-refresh-'));
  try {
    const prefix = path.join(dir, 'empty.sql');
    const script = path.join(dir, 'restore.sql');
    const suffix = path.join(dir, 'last.sql');
    writeFileSync(prefix, EMPTY_DATABASE);
    writeFileSync(suffix, options.last ?? '');
    const url = new URL(databaseUrl);
    if (options.sessionName) url.searchParams.set('application_name', options.sessionName);
    const toSql = await runPgTool('pg_restore', undefined, [
      '--no-owner',
      '--no-privileges',
      '--file',
      script,
      file,
    ]);
    if (toSql.code !== 0)
      throw new RestoreFailedError(
        `the dump cannot be read (pg_restore exited with ${toSql.code}); nothing was changed`,
        toSql.lines,
      );
    const run = await runPgTool('psql', url.toString(), [
      '--no-psqlrc',
      '--quiet',
      '--set',
      'ON_ERROR_STOP=1',
      '--single-transaction',
      '--file',
      prefix,
      '--file',
      script,
      '--file',
      suffix,
    ]);
    if (run.code !== 0)
      throw new RestoreFailedError(
        `the restore failed (psql exited with ${run.code}); nothing was changed`,
        run.lines,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Exact rows per table of the user schemas. */
export async function countRows(databaseUrl: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ s: string; t: string }>(
      `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1, 2`,
    );
    const counts: Record<string, number> = {};
    for (const { s, t } of rows) {
      const q = `SELECT count(*)::bigint AS n FROM "${s.replace(/"/g, '""')}"."${t.replace(/"/g, '""')}"`;
      const { rows: n } = await client.query<{ n: string }>(q);
      counts[s === 'public' ? t : `${s}.${t}`] = Number(n[0]?.n ?? 0);
    }
    return counts;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Verifies and applies one refresh. Refusals (bad signature, changed dump, replay, too old,
 * a deploy running) throw RefreshRefusedError before anything is changed.
 */
export async function applyRefreshDump(options: ApplyOptions): Promise<AppliedRefresh> {
  const now = options.now ?? (() => new Date());
  const step = options.onStep ?? (async () => {});

  await step('verify');
  const verdict = verifyRefresh(options.handoff, options.verifyKey);
  if (!verdict.ok)
    throw new RefreshRefusedError(`refused the refresh: ${verdict.reason}; staging was not changed`);
  const claims = verdict.claims;
  const age = now().getTime() - Date.parse(claims.issuedAt);
  if (age > HANDOFF_MAX_AGE_MS || age < -5 * 60_000)
    throw new RefreshRefusedError(
      `refused the refresh: it was signed at ${claims.issuedAt}, not within the last 6 hours; ask /refresh staging again`,
    );
  let size: number;
  try {
    size = statSync(options.dumpFile).size;
  } catch {
    throw new RefreshRefusedError('refused the refresh: the dump is not there; ask /refresh staging again');
  }
  if (size !== claims.bytes || (await sha256OfFile(options.dumpFile)) !== claims.sha256)
    throw new RefreshRefusedError(
      'refused the refresh: the dump is not the one production signed (its size or SHA-256 differs); staging was not changed',
    );
  if (!(await options.handoffs.claim(claims)))
    throw new RefreshRefusedError(
      `refused the refresh: handoff ${claims.nonce.slice(0, 8)} was applied before (a replay); staging was not changed`,
    );

  await step('lock');
  const lock = refreshLock(claims, options.lockTtlMs);
  const taken = await options.locks.acquire(lock);
  if (!taken.acquired)
    throw new RefreshRefusedError(
      `refused the refresh: staging is locked by ${taken.holder.owner} (${taken.holder.reason}); ask /refresh staging again once it is free`,
    );
  try {
    await step('backup');
    const backup = await backupDatabase(
      { databaseUrl: options.databaseUrl, dir: options.backupsDir, keep: options.keepBackups },
      { env: 'staging', sha: claims.sourceCommit, kind: 'pre-restore', at: now() },
    );

    await step('restore', { backup: path.basename(backup.file) });
    // The dump replaces staging's own records too when they share the database (lugh's own
    // DATABASE_URL): every nonce seen is written again inside the restore, so none can be replayed.
    const seen = [...(await options.handoffs.all()), claims];
    await replaceDatabase(options.databaseUrl, options.dumpFile, {
      last: restoredLockSql({ ...lock, owner: restoredLockOwner(claims.nonce) }, seen),
      sessionName: restoreSessionName(claims.nonce),
    });
    const applied = await finishRestored({ ...options, claims, seen, backup: path.basename(backup.file) });
    await options.onApplied?.(applied);
    return applied;
  } finally {
    await options.locks.release(lock.name, lock.owner).catch(() => false);
    await options.locks.release(lock.name, restoredLockOwner(claims.nonce)).catch(() => false);
  }
}

/** Staging's deploy lock as a refresh takes it. */
export function refreshLock(claims: Pick<RefreshClaims, 'nonce' | 'sourceCommit'>, ttlMs = 30 * 60_000) {
  return {
    name: deployLockName('staging'),
    owner: refreshLockOwner(claims.nonce),
    reason: `a refresh from production’s data (${claims.sourceCommit.slice(0, 7)})`,
    ttlMs,
  };
}

/**
 * What follows a committed restore (also run by a restarted staging that finds the commit
 * happened): migrations, the nonce recorded again, rows counted. A failing migration puts
 * `backup` (under backupsDir) back and rethrows. The caller releases the lock.
 */
export async function finishRestored(
  options: Pick<ApplyOptions, 'databaseUrl' | 'handoffs' | 'backupsDir' | 'migrate' | 'onStep'> & {
    readonly claims: RefreshClaims;
    readonly backup: string;
    /** Nonces to record again (a dump without the refresh_handoffs table: the migrations made it). */
    readonly seen?: readonly { nonce: string; sha256: string; sourceCommit: string }[];
  },
): Promise<AppliedRefresh> {
  const step = options.onStep ?? (async () => {});
  const { claims, backup } = options;
  try {
    await step('migrate', { backup });
    await options.migrate(options.databaseUrl);
  } catch (error) {
    // Staging must not be left on data its code cannot run: put the backup back, and say
    // which state staging is in either way.
    const why = error instanceof Error ? error.message : String(error);
    try {
      await replaceDatabase(options.databaseUrl, path.join(options.backupsDir, backup), {
        sessionName: restoreSessionName(claims.nonce),
      });
    } catch (putBack) {
      throw new Error(
        `staging's migrations failed on production's data (${why}), and putting staging's own data back from ${backup} failed too (${putBack instanceof Error ? putBack.message : String(putBack)}): staging holds production's data, not migrated; restore LUGH_HOME/backups/${backup} with /restore`,
      );
    }
    throw new Error(
      `staging's migrations failed on production's data (${why}); staging's own data was put back from ${backup}, as it was before the refresh`,
    );
  }
  for (const h of options.seen ?? [claims]) await options.handoffs.claim(h).catch(() => false);
  await step('count', { backup });
  const rows = await countRows(options.databaseUrl);
  return { claims, rows, backup };
}
