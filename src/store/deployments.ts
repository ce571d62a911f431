import type { AppEnv } from '../environments.js';
import type { Pool } from './pool.js';

export interface Deployment {
  readonly id: number;
  readonly env: AppEnv;
  readonly ref: string;
  readonly sha: string | null;
  readonly trigger: 'promotion' | 'push' | 'manual' | 'rollback';
  readonly promotionId: number | null;
  readonly requestedBy: number | null;
  readonly status: string;
  readonly jobId: string | null;
  readonly createdAt: Date;
}

function toDeployment(r: Record<string, unknown>): Deployment {
  return {
    id: Number(r.id),
    env: r.env as AppEnv,
    ref: r.ref as string,
    sha: (r.sha as string | null) ?? null,
    trigger: r.trigger as Deployment['trigger'],
    promotionId: r.promotion_id === null ? null : Number(r.promotion_id),
    requestedBy: r.requested_by === null ? null : Number(r.requested_by),
    status: r.status as string,
    jobId: (r.job_id as string | null) ?? null,
    createdAt: r.created_at as Date,
  };
}

/** Deployment records; the database makes one confirmed promotion exactly one deployment. */
export function createDeploymentStore(pool: Pool) {
  return {
    /**
     * The deployment of a promotion: inserted the first time, returned as it is every
     * time after (`created: false`), however many callers race here.
     */
    async forPromotion(input: {
      promotionId: number;
      env: AppEnv;
      ref: string;
      sha: string;
      requestedBy: number;
    }): Promise<{ deployment: Deployment; created: boolean }> {
      const inserted = await pool.query(
        `INSERT INTO deployments (env, ref, sha, trigger, promotion_id, requested_by)
         VALUES ($1, $2, $3, 'promotion', $4, $5)
         ON CONFLICT ON CONSTRAINT deployments_one_per_promotion DO NOTHING RETURNING *`,
        [input.env, input.ref, input.sha, input.promotionId, input.requestedBy],
      );
      if (inserted.rows[0]) return { deployment: toDeployment(inserted.rows[0]), created: true };
      const { rows } = await pool.query('SELECT * FROM deployments WHERE promotion_id = $1', [
        input.promotionId,
      ]);
      return { deployment: toDeployment(rows[0]), created: false };
    },

    async setJob(id: number, jobId: string, githubDeploymentId?: number): Promise<void> {
      await pool.query(
        'UPDATE deployments SET job_id = $2, github_deployment_id = COALESCE($3, github_deployment_id) WHERE id = $1',
        [id, jobId, githubDeploymentId ?? null],
      );
    },

    /** Records a step as started (again, on a retried job). */
    async stepStarted(id: number, step: string): Promise<void> {
      await pool.query(
        `INSERT INTO deployment_steps (deployment_id, step, status) VALUES ($1, $2, 'running')
         ON CONFLICT (deployment_id, step) DO UPDATE SET status = 'running', started_at = now(), finished_at = NULL, detail = NULL`,
        [id, step],
      );
      await pool.query(
        `UPDATE deployments SET step = $2, status = 'running', started_at = COALESCE(started_at, now()) WHERE id = $1`,
        [id, step],
      );
    },

    async stepFinished(
      id: number,
      step: string,
      status: 'succeeded' | 'failed' | 'skipped',
      detail?: string,
    ): Promise<void> {
      await pool.query(
        `INSERT INTO deployment_steps (deployment_id, step, status, detail, finished_at) VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (deployment_id, step) DO UPDATE SET status = $3, detail = $4, finished_at = now()`,
        [id, step, status, detail ?? null],
      );
    },

    async steps(id: number): Promise<Array<{ step: string; status: string; detail: string | null }>> {
      const { rows } = await pool.query(
        'SELECT step, status, detail FROM deployment_steps WHERE deployment_id = $1 ORDER BY started_at, step',
        [id],
      );
      return rows;
    },

    /** Ends a deployment; the deployed SHA is recorded only with a success. */
    async finish(
      id: number,
      outcome: {
        status: 'succeeded' | 'failed' | 'rolled_back';
        sha?: string;
        previousSha?: string;
        error?: string;
      },
    ): Promise<void> {
      await pool.query(
        `UPDATE deployments SET status = $2, sha = COALESCE($3, sha), previous_sha = COALESCE($4, previous_sha),
         error = $5, finished_at = now() WHERE id = $1`,
        [id, outcome.status, outcome.sha ?? null, outcome.previousSha ?? null, outcome.error ?? null],
      );
    },

    /** A deployment asked for by hand or by a push (a promotion's comes from forPromotion). */
    async create(input: {
      env: AppEnv;
      ref: string;
      trigger: 'push' | 'manual' | 'rollback';
      requestedBy?: number;
    }) {
      const { rows } = await pool.query(
        `INSERT INTO deployments (env, ref, trigger, requested_by) VALUES ($1, $2, $3, $4) RETURNING *`,
        [input.env, input.ref, input.trigger, input.requestedBy ?? null],
      );
      return toDeployment(rows[0]);
    },

    async get(id: number): Promise<Deployment | undefined> {
      const { rows } = await pool.query('SELECT * FROM deployments WHERE id = $1', [id]);
      return rows[0] ? toDeployment(rows[0]) : undefined;
    },
  };
}

export type DeploymentStore = ReturnType<typeof createDeploymentStore>;
