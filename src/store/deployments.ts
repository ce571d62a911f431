import type { AppEnv } from '../config/environments.js';
import { backupRecords } from './backup-records.js';
import { buttonOffers } from './button-offers.js';
import { deploymentMigrations } from './deployment-migrations.js';
import { handoffClaims } from './handoff-claims.js';
import type { Pool } from './pool.js';

const ENDED = new Set(['succeeded', 'failed', 'rolled_back', 'cancelled']);

/** A deployment that has ended, one way or another. */
export const isFinished = (status: string): boolean => ENDED.has(status);

/** Queued or running: a deploy under way (see `unfinished`). */
export const inProgress = (status: string): boolean => status === 'queued' || status === 'running';

/**
 * Where a deployment's image came from, compared with the environment upstream (staging,
 * for production): the very image it ran (since when, from which of its deployments), or
 * a build of its own and why.
 */
export type ImageOrigin =
  | {
      readonly kind: 'reused';
      readonly fromEnv: AppEnv;
      readonly fromDeployment: number;
      readonly since: Date;
    }
  | { readonly kind: 'built' | 'rebuilt' | 'kept' };

/** What the build step knows of the image a deployment runs, besides its tag. */
export interface DeploymentImage {
  readonly imageId: string;
  /** The commit's git tree, when the forge said. */
  readonly tree?: string;
  /** Compared with the environment upstream; undefined when nothing was compared. */
  readonly origin?: ImageOrigin;
}

/**
 * What a promotion's production report tells besides the deploy itself, carried by the
 * handoff from staging. Display only: never a reason to deploy (the signed claims are).
 */
export interface DeploymentContext {
  readonly promotionId?: number;
  readonly pr?: { readonly number: number; readonly url?: string };
  readonly release?: { readonly tag: string; readonly url?: string };
  /** Telegram names, as every message says them: `@ada`. */
  readonly promotedBy?: string;
  readonly approvedBy?: string;
  /** From the pull request's CI starting to its last check passing. */
  readonly ciMs?: number;
}

export interface Deployment {
  readonly id: number;
  readonly env: AppEnv;
  readonly ref: string;
  readonly sha: string | null;
  /** baseline: the release found running when lugh first started (recordFirstRelease); nothing ran. */
  readonly trigger: 'promotion' | 'push' | 'manual' | 'rollback' | 'baseline';
  readonly requestedBy: number | null;
  /** Their Telegram name (`@ada`), when it was recorded. */
  readonly requestedByName?: string | null;
  /** A promotion's: what its report tells (PR, release, people, CI). */
  readonly context?: DeploymentContext | null;
  readonly status: string;
  readonly jobId: string | null;
  readonly chatId: number | null;
  readonly progressMessageId: number | null;
  readonly githubDeploymentId: number | null;
  readonly image: string | null;
  readonly imageId: string | null;
  readonly treeSha: string | null;
  readonly imageOrigin: ImageOrigin | null;
  readonly previousSha: string | null;
  readonly step: string | null;
  readonly error: string | null;
  readonly confirmExpiresAt: Date | null;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

// The first key of the advisory locks that claim a deployment's run ('lugh' in ASCII); the
// deployment's id is the second.
const RUN_CLAIM_KEY = 0x6c756768;

const numberOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function imageOriginOf(r: Record<string, unknown>): ImageOrigin | null {
  const kind = r.image_origin as string | null | undefined;
  if (kind === 'reused')
    return {
      kind,
      fromEnv: r.image_reused_from_env as AppEnv,
      fromDeployment: Number(r.image_reused_from_deployment),
      since: r.image_reused_since as Date,
    };
  return kind === 'built' || kind === 'rebuilt' || kind === 'kept' ? { kind } : null;
}

export function toDeployment(r: Record<string, unknown>): Deployment {
  return {
    id: Number(r.id),
    env: r.env as AppEnv,
    ref: r.ref as string,
    sha: (r.sha as string | null) ?? null,
    trigger: r.trigger as Deployment['trigger'],
    requestedBy: numberOrNull(r.requested_by),
    requestedByName: (r.requested_by_name as string | null | undefined) ?? null,
    context: (r.context as DeploymentContext | null | undefined) ?? null,
    status: r.status as string,
    jobId: (r.job_id as string | null) ?? null,
    chatId: numberOrNull(r.chat_id),
    progressMessageId: numberOrNull(r.progress_message_id),
    githubDeploymentId: numberOrNull(r.github_deployment_id),
    image: (r.image as string | null) ?? null,
    imageId: (r.image_id as string | null) ?? null,
    treeSha: (r.tree_sha as string | null) ?? null,
    imageOrigin: imageOriginOf(r),
    previousSha: (r.previous_sha as string | null) ?? null,
    step: (r.step as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    confirmExpiresAt: (r.confirm_expires_at as Date | null) ?? null,
    createdAt: r.created_at as Date,
    startedAt: (r.started_at as Date | null) ?? null,
    finishedAt: (r.finished_at as Date | null) ?? null,
  };
}

/** Deployment records; the database makes one GitHub Deployment exactly one deployment. */
/**
 * `redact` cleans the free text a deploy records (a step's detail, the error): it comes from
 * containers, Docker and GitHub, and may carry a secret they printed.
 */

/**
 * A deployment whose version ran: it succeeded, or it failed after its verify passed (at
 * cleanup or record), which leaves the new version running. SQL over `deployments`.
 */
const RAN = `(status = 'succeeded' OR (status = 'failed' AND EXISTS (SELECT 1 FROM deployment_steps s
  WHERE s.deployment_id = deployments.id AND s.step = 'verify' AND s.status = 'succeeded')))`;

export function createDeploymentStore(pool: Pool, options: { redact?: (text: string) => string } = {}) {
  const clean = (text: string | undefined) => (text === undefined ? null : (options.redact?.(text) ?? text));
  return {
    ...handoffClaims(pool),
    ...deploymentMigrations(pool),
    ...backupRecords(pool),
    ...buttonOffers(pool),
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
    }): Promise<{ deployment: Deployment; created: boolean }> {
      for (let attempt = 0; attempt < 3; attempt++) {
        const inserted = await pool.query(
          // A rollback waiting for confirmation is not in flight (the index does not see it):
          // none is created while one to the same release is (its confirmation would be refused).
          `INSERT INTO deployments (env, ref, sha, trigger, requested_by, chat_id, status, request_key, confirm_expires_at, requested_by_name)
           SELECT $1, $2, $2, 'rollback', $3, $4, $6, $5,
                  CASE WHEN $7::double precision IS NULL THEN NULL
                       ELSE now() + make_interval(secs => $7::double precision / 1000) END,
                  $8
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
     */
    async runningSha(env: AppEnv, before?: number): Promise<string | undefined> {
      const { rows } = await pool.query(
        `SELECT sha FROM deployments WHERE env = $1 AND ${RAN} AND sha IS NOT NULL
           AND ($2::bigint IS NULL OR id < $2)
         ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT 1`,
        [env, before ?? null],
      );
      return (rows[0]?.sha as string | undefined) ?? undefined;
    },

    /** Distinct SHAs that ran (RAN), newest first, for the /rollback picker. */
    async releases(env: AppEnv, limit = 5): Promise<Array<{ sha: string; deployedAt: Date; id: number }>> {
      const { rows } = await pool.query(
        `SELECT DISTINCT ON (sha) sha, finished_at, id FROM deployments
         WHERE env = $1 AND sha IS NOT NULL AND ${RAN}
         ORDER BY sha, finished_at DESC`,
        [env],
      );
      return rows
        .map((r) => ({ sha: r.sha as string, deployedAt: r.finished_at as Date, id: Number(r.id) }))
        .sort((a, b) => b.deployedAt.getTime() - a.deployedAt.getTime())
        .slice(0, limit);
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

export type DeploymentStore = ReturnType<typeof createDeploymentStore>;
