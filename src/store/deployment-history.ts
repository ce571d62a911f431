import type { AppEnv } from '../config/environments.js';
import { type Deployment, toDeployment } from './deployment-row.js';
import type { Pool } from './pool.js';

/**
 * A deployment whose version ran: it succeeded, or it failed after its verify passed (at
 * cleanup or record), which leaves the new version running. SQL over `deployments`.
 */
const RAN = `(status = 'succeeded' OR (status = 'failed' AND EXISTS (SELECT 1 FROM deployment_steps s
  WHERE s.deployment_id = deployments.id AND s.step = 'verify' AND s.status = 'succeeded')))`;

/** The deployment store's reads of history: recent rows, what ran, what is unfinished. */
export function deploymentHistory(pool: Pool) {
  return {
    /**
     * The last `limit` deployments of an environment, newest first. With `unconfirmed`,
     * also those that waited for a confirmation (/history: every number it gave is listed).
     */
    async recent(env: AppEnv, limit = 10, options: { unconfirmed?: boolean } = {}): Promise<Deployment[]> {
      const { rows } = await pool.query(
        `SELECT * FROM deployments WHERE env = $1 AND ($3 OR status <> 'awaiting_confirmation')
         ORDER BY created_at DESC, id DESC LIMIT $2`,
        [env, limit, options.unconfirmed === true],
      );
      return rows.map(toDeployment);
    },

    /**
     * The commit the environment's last deploy whose version ran (RAN; a rollback's too) left
     * running, if any; with `before`, the one running before that deployment was asked for.
     * A rollback of one service alone is not the environment's version: skipped.
     */
    async runningSha(env: AppEnv, before?: number): Promise<string | undefined> {
      const { rows } = await pool.query(
        `SELECT sha FROM deployments WHERE env = $1 AND ${RAN} AND sha IS NOT NULL AND only_service IS NULL
           AND ($2::bigint IS NULL OR id < $2)
         ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT 1`,
        [env, before ?? null],
      );
      return (rows[0]?.sha as string | undefined) ?? undefined;
    },

    /**
     * Distinct SHAs that ran (RAN), newest first, for the /rollback picker; a rollback of one
     * service alone is not a release of the environment (its set was only that service).
     */
    async releases(env: AppEnv, limit = 5): Promise<Array<{ sha: string; deployedAt: Date; id: number }>> {
      // Ordered in SQL: finished_at keeps microseconds a JavaScript Date drops, and two
      // releases finished at the same instant are told apart by their number.
      const { rows } = await pool.query(
        `SELECT sha, finished_at, id FROM (
           SELECT DISTINCT ON (sha) sha, finished_at, id FROM deployments
           WHERE env = $1 AND sha IS NOT NULL AND ${RAN} AND only_service IS NULL
           ORDER BY sha, finished_at DESC, id DESC
         ) latest
         ORDER BY finished_at DESC, id DESC LIMIT $2`,
        [env, limit],
      );
      return rows.map((r) => ({ sha: r.sha as string, deployedAt: r.finished_at as Date, id: Number(r.id) }));
    },

    /** Deployments left running or queued: what a (re)started worker must converge. */
    async unfinished(env: AppEnv): Promise<Deployment[]> {
      const { rows } = await pool.query(
        `SELECT * FROM deployments WHERE env = $1 AND status IN ('queued', 'running') ORDER BY id`,
        [env],
      );
      return rows.map(toDeployment);
    },

    async get(id: number): Promise<Deployment | undefined> {
      const { rows } = await pool.query('SELECT * FROM deployments WHERE id = $1', [id]);
      return rows[0] ? toDeployment(rows[0]) : undefined;
    },
  };
}
