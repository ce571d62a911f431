import type { AppEnv } from '../config/environments.js';
import { backupRecords } from './backup-records.js';
import { buttonOffers } from './button-offers.js';
import { deliveryFigures } from './delivery-figures.js';
import { deploymentHistory } from './deployment-history.js';
import { deploymentMigrations } from './deployment-migrations.js';
import { type Deployment, type DeploymentImage, toDeployment } from './deployment-row.js';
import { deploymentServices } from './deployment-services.js';
import { handoffClaims } from './handoff-claims.js';
import type { Pool } from './pool.js';

export {
  type Deployment,
  type DeploymentContext,
  type DeploymentImage,
  type ImageOrigin,
  inProgress,
  isFinished,
  toDeployment,
} from './deployment-row.js';

// The first key of the advisory locks that claim a deployment's run ('lugh' in ASCII); the
// deployment's id is the second.
const RUN_CLAIM_KEY = 0x6c756768;

/**
 * Deployment records; the database makes one GitHub Deployment exactly one deployment.
 * `redact` cleans the free text a deploy records (a step's detail, the error): it comes from
 * containers, Docker and GitHub, and may carry a secret they printed.
 */
export function createDeploymentStore(pool: Pool, options: { redact?: (text: string) => string } = {}) {
  const clean = (text: string | undefined) => (text === undefined ? null : (options.redact?.(text) ?? text));
  return {
    ...handoffClaims(pool),
    ...deploymentMigrations(pool),
    ...backupRecords(pool),
    ...buttonOffers(pool),
    ...deploymentServices(pool, clean),
    ...deploymentHistory(pool),
    ...deliveryFigures(pool),
    /**
     * Claims the run of a deployment: a session advisory lock on a connection of its own,
     * held until `release` (or until the process or its connection dies, which frees it at
     * once, unlike a lock with a lease). Undefined when another run holds it.
     */
    async claimRun(id: number): Promise<{ release(): Promise<void> } | undefined> {
      const client = await pool.connect();
      let claimed = false;
      try {
        const { rows } = await client.query('SELECT pg_try_advisory_lock($1, $2) AS claimed', [
          RUN_CLAIM_KEY,
          id,
        ]);
        claimed = rows[0]?.claimed === true;
      } finally {
        if (!claimed) client.release();
      }
      if (!claimed) return undefined;
      // A checked-out client that loses its connection emits 'error'; unheard, it would
      // crash the process. The claim is gone with the connection; the run goes on, and its
      // next query fails or reconnects through the pool.
      const lost = () => {};
      client.on('error', lost);
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          // Unlocking on a broken connection fails; destroying it frees the lock all the same.
          const broken = await client.query('SELECT pg_advisory_unlock($1, $2)', [RUN_CLAIM_KEY, id]).then(
            () => undefined,
            (error: Error) => error,
          );
          client.off('error', lost);
          client.release(broken ?? undefined);
        },
      };
    },

    async setJob(id: number, jobId: string): Promise<void> {
      await pool.query('UPDATE deployments SET job_id = $2 WHERE id = $1', [id, jobId]);
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
        [id, step, status, clean(detail)],
      );
    },

    /** What a running step says of its progress (`updating 1/2 tasks`), until it finishes. */
    async stepProgress(id: number, step: string, detail: string): Promise<void> {
      await pool.query(
        `UPDATE deployment_steps SET detail = $3 WHERE deployment_id = $1 AND step = $2 AND status = 'running'`,
        [id, step, clean(detail)],
      );
    },

    /** When each step of a deployment started and finished, in the order they started (the timeline). */
    async stepTimes(
      id: number,
    ): Promise<Array<{ step: string; status: string; startedAt: Date; finishedAt: Date | null }>> {
      const { rows } = await pool.query(
        `SELECT step, status, started_at AS "startedAt", finished_at AS "finishedAt"
           FROM deployment_steps WHERE deployment_id = $1 ORDER BY started_at, step`,
        [id],
      );
      return rows;
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
        [id, outcome.status, outcome.sha ?? null, outcome.previousSha ?? null, clean(outcome.error)],
      );
    },

    /**
     * A deployment asked for by hand, by a push or by /rollback (a promotion's comes from
     * claimGitHub). With `confirmMs` it waits for its requester to confirm.
     */
    async create(input: {
      env: AppEnv;
      ref: string;
      sha?: string;
      trigger: 'push' | 'manual' | 'rollback';
      requestedBy?: number;
      requestedByName?: string;
      chatId?: number;
      confirmMs?: number;
    }) {
      const { rows } = await pool.query(
        `INSERT INTO deployments (env, ref, sha, trigger, requested_by, chat_id, status, confirm_expires_at, requested_by_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7,
                 CASE WHEN $8::double precision IS NULL THEN NULL
                      ELSE now() + make_interval(secs => $8::double precision / 1000) END, $9)
         RETURNING *`,
        [
          input.env,
          input.ref,
          input.sha ?? null,
          input.trigger,
          input.requestedBy ?? null,
          input.chatId ?? null,
          input.confirmMs ? 'awaiting_confirmation' : 'queued',
          input.confirmMs ?? null,
          input.requestedByName ?? null,
        ],
      );
      return toDeployment(rows[0]);
    },

    /**
     * A rollback, created at most once: by the first request with this `requestKey` (one
     * per /rollback picker), and only while no other rollback to the same release is
     * queued or running. A later request gets the deployment that won (`created: false`).
     * With `confirmMs` it waits for its requester to confirm, as /deploy's does.
     */
    async createRollback(input: {
      env: AppEnv;
      sha: string;
      requestKey: string;
      requestedBy?: number;
      requestedByName?: string;
      chatId?: number;
      confirmMs?: number;
      /** Roll back this service of the set alone (the others stay as they are). */
      only?: string;
    }): Promise<{ deployment: Deployment; created: boolean }> {
      for (let attempt = 0; attempt < 3; attempt++) {
        const inserted = await pool.query(
          // A rollback waiting for confirmation is not in flight (the index does not see it):
          // none is created while one to the same release is (its confirmation would be refused).
          `INSERT INTO deployments (env, ref, sha, trigger, requested_by, chat_id, status, request_key, confirm_expires_at, requested_by_name, only_service)
           SELECT $1, $2, $2, 'rollback', $3, $4, $6, $5,
                  CASE WHEN $7::double precision IS NULL THEN NULL
                       ELSE now() + make_interval(secs => $7::double precision / 1000) END,
                  $8, $9
           WHERE NOT EXISTS (SELECT 1 FROM deployments WHERE env = $1 AND sha = $2
                               AND trigger = 'rollback' AND status IN ('queued', 'running'))
           ON CONFLICT DO NOTHING RETURNING *`,
          [
            input.env,
            input.sha,
            input.requestedBy ?? null,
            input.chatId ?? null,
            input.requestKey,
            input.confirmMs ? 'awaiting_confirmation' : 'queued',
            input.confirmMs ?? null,
            input.requestedByName ?? null,
            input.only ?? null,
          ],
        );
        if (inserted.rows[0]) return { deployment: toDeployment(inserted.rows[0]), created: true };
        const { rows } = await pool.query(
          `SELECT * FROM deployments WHERE request_key = $1
              OR (env = $2 AND sha = $3 AND trigger = 'rollback' AND status IN ('queued', 'running'))
           ORDER BY (request_key = $1) DESC NULLS LAST, id DESC LIMIT 1`,
          [input.requestKey, input.env, input.sha],
        );
        if (rows[0]) return { deployment: toDeployment(rows[0]), created: false };
        // The rollback in the way finished in between: ask again.
      }
      throw new Error(`could not create or find the rollback of ${input.env} to ${input.sha}`);
    },

    /**
     * The commit found running when lugh first starts, as a succeeded release, so the first
     * deploy can be rolled back to it. Only while the environment has no release yet, and
     * once (one baseline per environment); undefined when nothing was recorded. It is
     * deployment #0 (each environment has its own database): no sequence value is taken, so
     * lugh's first deploy is still #1.
     */
    async recordFirstRelease(env: AppEnv, sha: string): Promise<Deployment | undefined> {
      const { rows } = await pool.query(
        `INSERT INTO deployments (id, env, ref, sha, trigger, status, started_at, finished_at)
         SELECT 0, $1::text, $2::text, $2::text, 'baseline', 'succeeded', now(), now()
         WHERE NOT EXISTS (SELECT 1 FROM deployments
                           WHERE env = $1::text AND status = 'succeeded' AND sha IS NOT NULL)
         ON CONFLICT DO NOTHING RETURNING *`,
        [env, sha],
      );
      return rows[0] ? toDeployment(rows[0]) : undefined;
    },

    /**
     * Confirms (→ queued) or declines (→ cancelled) a deployment waiting for its requester;
     * only the first answer counts, and none after the confirmation expired.
     */
    async answerConfirmation(
      id: number,
      userId: number,
      answer: 'confirm' | 'decline',
    ): Promise<'ok' | 'not_yours' | 'expired' | 'answered' | 'missing' | 'busy'> {
      let rows: unknown[];
      try {
        ({ rows } = await pool.query(
          `UPDATE deployments SET status = $3 WHERE id = $1 AND requested_by = $2
             AND status = 'awaiting_confirmation' AND confirm_expires_at > now() RETURNING id`,
          [id, userId, answer === 'confirm' ? 'queued' : 'cancelled'],
        ));
      } catch (error) {
        // A rollback to the same release was queued meanwhile (one in flight per release).
        if ((error as { code?: string }).code !== '23505') throw error;
        await pool.query(
          `UPDATE deployments SET status = 'cancelled', finished_at = now(),
             error = 'a rollback to the same release was under way'
           WHERE id = $1 AND status = 'awaiting_confirmation'`,
          [id],
        );
        return 'busy';
      }
      if (rows[0]) return 'ok';
      const d = await this.get(id);
      if (!d) return 'missing';
      if (d.requestedBy !== userId) return 'not_yours';
      if (d.status !== 'awaiting_confirmation') return 'answered';
      await pool.query(
        `UPDATE deployments SET status = 'cancelled', error = 'not confirmed in time', finished_at = now()
         WHERE id = $1 AND status = 'awaiting_confirmation'`,
        [id],
      );
      return 'expired';
    },

    async setProgressMessage(id: number, messageId: number): Promise<void> {
      await pool.query('UPDATE deployments SET progress_message_id = $2 WHERE id = $1', [id, messageId]);
    },

    async setImage(id: number, tag: string, image?: DeploymentImage): Promise<void> {
      const reused = image?.origin?.kind === 'reused' ? image.origin : undefined;
      await pool.query(
        `UPDATE deployments SET image = $2, image_id = $3, tree_sha = $4, image_origin = $5,
           image_reused_from_env = $6, image_reused_from_deployment = $7, image_reused_since = $8
         WHERE id = $1`,
        [
          id,
          tag,
          image?.imageId ?? null,
          image?.tree ?? null,
          image?.origin?.kind ?? null,
          reused?.fromEnv ?? null,
          reused?.fromDeployment ?? null,
          reused?.since ?? null,
        ],
      );
    },

    /**
     * True exactly once per deployment: whoever gets it sends the final message. A crash
     * right after costs that message, never a second one.
     */
    async claimFinalMessage(id: number): Promise<boolean> {
      const { rowCount } = await pool.query(
        'UPDATE deployments SET final_message_id = 0 WHERE id = $1 AND final_message_id IS NULL',
        [id],
      );
      return (rowCount ?? 0) > 0;
    },

    async setFinalMessage(id: number, messageId: number): Promise<void> {
      await pool.query('UPDATE deployments SET final_message_id = $2 WHERE id = $1', [id, messageId]);
    },
  };
}

export type DeploymentStore = ReturnType<typeof createDeploymentStore>;
