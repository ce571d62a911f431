// Which pre-deploy backup each deployment took: the backup step records the dump's file
// name as its detail ("<file> (<n> KiB)"). Part of the deployment store.
import type { AppEnv } from '../config/environments.js';
import type { Pool } from './pool.js';

/** A pre-deploy backup as its deployment recorded it. */
export interface BackupRecord {
  /** The dump's file name in LUGH_HOME/backups. */
  readonly file: string;
  readonly deploymentId: number;
  /** The commit the deployment was deploying (the backup is of the database before it). */
  readonly sha: string | null;
  readonly takenAt: Date;
}

const fileOf = (detail: string | null): string | undefined => /^(\S+\.dump)\b/.exec(detail ?? '')?.[1];

export function backupRecords(pool: Pool) {
  const toRecord = (r: Record<string, unknown>): BackupRecord | undefined => {
    const file = fileOf(r.detail as string | null);
    return file
      ? {
          file,
          deploymentId: Number(r.id),
          sha: (r.sha as string | null) ?? null,
          takenAt: r.finished_at as Date,
        }
      : undefined;
  };
  return {
    /** The backups `env`'s deployments took, newest first. */
    async backups(env: AppEnv, limit = 50): Promise<BackupRecord[]> {
      const { rows } = await pool.query(
        `SELECT d.id, d.sha, s.detail, s.finished_at FROM deployment_steps s
           JOIN deployments d ON d.id = s.deployment_id
         WHERE d.env = $1 AND s.step = 'backup' AND s.status = 'succeeded'
         ORDER BY s.finished_at DESC, d.id DESC LIMIT $2`,
        [env, limit],
      );
      return rows.flatMap((r) => toRecord(r) ?? []);
    },

    /** The backup deployment `id` took before migrating, if it took one. */
    async backupOf(id: number): Promise<BackupRecord | undefined> {
      const { rows } = await pool.query(
        `SELECT d.id, d.sha, s.detail, s.finished_at FROM deployment_steps s
           JOIN deployments d ON d.id = s.deployment_id
         WHERE d.id = $1 AND s.step = 'backup' AND s.status = 'succeeded'`,
        [id],
      );
      return rows[0] ? toRecord(rows[0]) : undefined;
    },
  };
}
