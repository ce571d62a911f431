// Production's side of a handoff: claiming a GitHub Deployment once (one deployment per
// promotion), and recording the ones refused. Part of the deployment store.
import type { AppEnv } from '../config/environments.js';
import { toDeployment } from './deployment-row.js';
import type { Deployment, DeploymentContext } from './deployments.js';
import type { Pool } from './pool.js';

export function handoffClaims(pool: Pool) {
  return {
    /**
     * The deployment a GitHub Deployment asks for: inserted by the first claimer, returned
     * as it is to every later one (`created: false`). With a promotion id, the database
     * also keeps it to one deployment per promotion: another GitHub Deployment carrying a
     * promotion that was claimed already gets that earlier deployment with `replay: true`,
     * and no row of its own.
     */
    async claimGitHub(input: {
      githubDeploymentId: number;
      env: AppEnv;
      ref: string;
      sha: string;
      requestedBy?: number;
      chatId?: number;
      promotionId?: number;
      /** The approver's Telegram name, and what the report tells (from the handoff). */
      requestedByName?: string;
      context?: DeploymentContext;
    }): Promise<{ deployment: Deployment; created: boolean; replay?: true }> {
      const inserted = await pool.query(
        `INSERT INTO deployments (env, ref, sha, trigger, requested_by, chat_id, github_deployment_id, promotion_id,
                                  requested_by_name, context, first_commit_at, head_title)
         VALUES ($1, $2, $3, 'promotion', $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT DO NOTHING RETURNING *`,
        [
          input.env,
          input.ref,
          input.sha,
          input.requestedBy ?? null,
          input.chatId ?? null,
          input.githubDeploymentId,
          input.promotionId ?? null,
          input.requestedByName ?? null,
          input.context ? JSON.stringify(input.context) : null,
          input.context?.firstCommitAt ?? null,
          input.context?.headTitle ?? null,
        ],
      );
      if (inserted.rows[0]) return { deployment: toDeployment(inserted.rows[0]), created: true };
      const { rows } = await pool.query('SELECT * FROM deployments WHERE github_deployment_id = $1', [
        input.githubDeploymentId,
      ]);
      if (rows[0]) return { deployment: toDeployment(rows[0]), created: false };
      const replay = await this.ofPromotion(input.promotionId);
      if (!replay) throw new Error(`could not claim GitHub deployment ${input.githubDeploymentId}`);
      return { deployment: replay, created: false, replay: true };
    },

    /** The deployment a promotion became here, if any. */
    async ofPromotion(promotionId: number | undefined): Promise<Deployment | undefined> {
      if (promotionId === undefined) return undefined;
      const { rows } = await pool.query('SELECT * FROM deployments WHERE promotion_id = $1', [promotionId]);
      return rows[0] ? toDeployment(rows[0]) : undefined;
    },

    /** True when a GitHub Deployment was claimed or refused here already: nothing more to do. */
    async handoffSeen(githubDeploymentId: number): Promise<boolean> {
      const { rows } = await pool.query(
        `SELECT EXISTS (SELECT 1 FROM deployments WHERE github_deployment_id = $1)
             OR EXISTS (SELECT 1 FROM refused_handoffs WHERE github_deployment_id = $1) AS seen`,
        [githubDeploymentId],
      );
      return rows[0].seen === true;
    },

    /** Records a refused GitHub Deployment; true only for the first to record it (who then reports it). */
    async refuseHandoff(input: {
      githubDeploymentId: number;
      env: AppEnv;
      sha: string;
      creator?: string;
      promotionId?: number;
      reason: string;
    }): Promise<boolean> {
      const { rowCount } = await pool.query(
        `INSERT INTO refused_handoffs (github_deployment_id, env, sha, creator, promotion_id, reason)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [
          input.githubDeploymentId,
          input.env,
          input.sha,
          input.creator ?? null,
          input.promotionId ?? null,
          input.reason,
        ],
      );
      return rowCount === 1;
    },
  };
}
