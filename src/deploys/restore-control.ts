import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { AppEnv } from '../config/environments.js';
import {
  type BackupKind,
  backupDatabase,
  checkDump,
  parseBackupFile,
  restoreDatabase,
} from '../deployer/backup.js';
import { DeployFailureWithLog } from '../deployer/errors.js';
import type { AuditLog } from '../store/audit-log.js';
import type { DeploymentStore } from '../store/deployments.js';
import { deployLockName, type HeldLock, type LockStore } from '../store/locks.js';
import type { RestoreStore } from '../store/restores.js';

/** A backup on disk that /restore offers, with the deployment that took it when one is recorded. */
export interface BackupChoice {
  readonly file: string;
  /** What a button carries: the file name without the environment and `.dump`. */
  readonly token: string;
  readonly kind: BackupKind;
  readonly takenAt: Date;
  /** The deployment whose backup step took it (pre-deploy backups the records still name). */
  readonly deploymentId?: number;
  /** The commit that deployment was deploying, or the one running when a restore took it. */
  readonly sha: string;
}

export type RestoreResult =
  | { readonly outcome: 'missing' }
  /** Someone or something holds the deploy lock; nothing was done. */
  | { readonly outcome: 'locked'; readonly lock: HeldLock }
  /** A deployment is queued or running; nothing was done. */
  | { readonly outcome: 'deploying'; readonly deploymentId: number }
  /** This confirmation restored once already. */
  | { readonly outcome: 'already' }
  | {
      readonly outcome: 'restored';
      readonly choice: BackupChoice;
      /** The backup of the state the restore replaced. */
      readonly preRestore: string;
      readonly ms: number;
      /** Deployments the backup showed live, ended because they are not running now. */
      readonly ended: readonly number[];
    }
  | {
      readonly outcome: 'failed';
      readonly choice: BackupChoice;
      /**
       * `check`: the backup cannot be read; `backup`: the current state could not be saved;
       * `clear`: the schema could not be emptied; nothing changed after any of these.
       * `restore`: pg_restore failed on an emptied schema (see `putBack`).
       */
      readonly stage: 'check' | 'backup' | 'clear' | 'restore';
      readonly message: string;
      readonly logTail: readonly string[];
      readonly preRestore?: string;
      /** After a failed restore: whether the state before it was put back from `preRestore`. */
      readonly putBack?: boolean;
    };

export interface RestoreControl {
  readonly env: AppEnv;
  /** Backups on disk, newest first. */
  list(limit?: number): Promise<BackupChoice[]>;
  find(token: string): Promise<BackupChoice | undefined>;
  /**
   * Replaces the database with a backup, under the environment's deploy lock: refused while
   * the lock is held or a deployment is live; backs up the current state first (a failed
   * backup stops it); audits and returns what happened.
   */
  restore(input: {
    token: string;
    requester: { readonly id: number; readonly name?: string };
    /** One confirmation message: it restores at most once. */
    requestKey: string;
  }): Promise<RestoreResult>;
}

export interface RestoreControlOptions {
  readonly env: AppEnv;
  readonly databaseUrl: string;
  /** LUGH_HOME/backups, where the deploy's backup step writes. */
  readonly dir: string;
  readonly keep: number;
  readonly deployments: DeploymentStore;
  readonly locks: LockStore;
  readonly audit: AuditLog;
  readonly restores: RestoreStore;
  readonly lockTtlMs?: number;
  /** How long emptying the schema waits for another session's table locks (30 s). */
  readonly clearTimeoutMs?: number;
  readonly pgDump?: string;
  readonly pgRestore?: string;
}

const TOKEN = /^(pre-restore-)?\d{8}T\d{6}Z-[0-9a-f]{7}$/;

export function createRestoreControl(options: RestoreControlOptions): RestoreControl {
  const { env, dir, deployments, locks, audit, restores } = options;

  const list = async (limit = 20): Promise<BackupChoice[]> => {
    const files = existsSync(dir) ? readdirSync(dir) : [];
    const recorded = new Map((await deployments.backups(env, 200)).map((b) => [b.file, b]));
    return files
      .flatMap((file) => {
        const parsed = parseBackupFile(file);
        if (!parsed || parsed.env !== env) return [];
        const record = recorded.get(file);
        return [
          {
            file,
            token: file.slice(env.length + 1, -'.dump'.length),
            kind: parsed.kind,
            takenAt: parsed.takenAt,
            deploymentId: record?.deploymentId,
            sha: record?.sha ?? parsed.sha7,
          },
        ];
      })
      .sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || b.file.localeCompare(a.file))
      .slice(0, limit);
  };

  const find = async (token: string) =>
    TOKEN.test(token) ? (await list(1000)).find((c) => c.token === token) : undefined;

  return {
    env,
    list,
    find,
    async restore({ token, requester, requestKey }) {
      const choice = await find(token);
      if (!choice) return { outcome: 'missing' };
      const lockName = deployLockName(env);
      // One owner per restore: a second tap by the same admin must not renew this one's lock.
      const owner = `restore:${requester.id}:${randomBytes(3).toString('hex')}`;
      const ttlMs = options.lockTtlMs ?? 30 * 60_000;
      const hold = () => locks.acquire({ name: lockName, owner, reason: `restoring ${choice.file}`, ttlMs });
      const taken = await hold();
      const audited = (outcome: 'ok' | 'refused' | 'failed', details: Record<string, unknown>) =>
        audit.record({
          actorId: requester.id,
          actorName: requester.name,
          action: '/restore',
          outcome,
          details: { env, file: choice.file, ...details, requestKey },
        });
      const refused = async (reason: string, result: RestoreResult) => {
        await audited('refused', { reason });
        return result;
      };
      if (!taken.acquired) return refused('locked', { outcome: 'locked', lock: taken.holder });
      // Settling removes the lock row the backup brought back: take ours again at once.
      const settle = async (why: string) => {
        const ended = await restores.settleAfterRestore(env, why);
        await hold();
        return ended;
      };
      // A big database takes long to dump and restore: the lock is renewed while it runs.
      const renewal = setInterval(() => void hold().catch(() => {}), Math.max(1_000, ttlMs / 3));
      renewal.unref();
      try {
        const live = await deployments.unfinished(env);
        if (live[0])
          return await refused('a deploy is live', { outcome: 'deploying', deploymentId: live[0].id });
        if (await restores.restoredBy(requestKey))
          return await refused('already restored', { outcome: 'already' });

        const started = Date.now();
        try {
          await checkDump({ file: path.join(dir, choice.file), pgRestore: options.pgRestore });
        } catch (error) {
          const failure = failureOf(error);
          await audited('failed', { stage: 'check', error: failure.message });
          return { outcome: 'failed', choice, stage: 'check', ...failure };
        }
        const running = (await deployments.releases(env, 1))[0]?.sha ?? '0000000';
        let preRestore: string;
        try {
          const dump = await backupDatabase(
            { databaseUrl: options.databaseUrl, dir, keep: options.keep, pgDump: options.pgDump },
            { env, sha: running, kind: 'pre-restore' },
          );
          preRestore = path.basename(dump.file);
        } catch (error) {
          const failure = failureOf(error);
          await audited('failed', { stage: 'backup', error: failure.message });
          return { outcome: 'failed', choice, stage: 'backup', ...failure };
        }

        const restoreFrom = (file: string) =>
          restores.emptySchema().then(() =>
            restoreDatabase({
              databaseUrl: options.databaseUrl,
              file: path.join(dir, file),
              pgRestore: options.pgRestore,
            }),
          );
        try {
          await restores.emptySchema(options.clearTimeoutMs);
        } catch (error) {
          // Its transaction rolled back: nothing changed (another session held a table, say).
          const failure = failureOf(error);
          const message = `could not clear the database for the restore (${failure.message}); nothing was changed`;
          await audited('failed', { stage: 'clear', error: message, preRestore });
          return { outcome: 'failed', choice, stage: 'clear', message, logTail: [], preRestore };
        }
        try {
          await restoreDatabase({
            databaseUrl: options.databaseUrl,
            file: path.join(dir, choice.file),
            pgRestore: options.pgRestore,
          });
        } catch (error) {
          const failure = failureOf(error);
          // The schema was emptied: put the state before back from the backup just taken.
          const putBack = await restoreFrom(preRestore).then(
            () => true,
            () => false,
          );
          if (putBack) await settle(`the database was put back from ${preRestore}`);
          await audited('failed', { stage: 'restore', error: failure.message, preRestore, putBack }).catch(
            () => {},
          );
          return { outcome: 'failed', choice, stage: 'restore', ...failure, preRestore, putBack };
        }
        const ended = await settle(
          `the database was restored from ${choice.file}, taken while this deployment was live; the state before the restore is in ${preRestore}`,
        );
        // Recorded after pg_restore, or the restore would erase its own record.
        await audited('ok', {
          deploymentId: choice.deploymentId ?? null,
          preRestore,
          endedDeployments: ended,
        });
        return { outcome: 'restored', choice, preRestore, ms: Date.now() - started, ended };
      } finally {
        clearInterval(renewal);
        await locks.release(lockName, owner).catch(() => false);
      }
    },
  };
}

function failureOf(error: unknown): { message: string; logTail: readonly string[] } {
  if (error instanceof DeployFailureWithLog) return { message: error.message, logTail: error.logTail };
  if (error instanceof Error) return { message: error.message, logTail: [] };
  throw error;
}
