import { randomBytes } from 'node:crypto';
import type { AppEnv } from '../config/environments.js';
import type { Pool } from './pool.js';

export type PromotionStatus =
  | 'pending'
  | 'waiting_ci'
  | 'awaiting_approval'
  | 'merging'
  | 'merged'
  | 'declined'
  | 'cancelled'
  | 'failed'
  | 'expired';

export const IN_FLIGHT: readonly PromotionStatus[] = [
  'pending',
  'waiting_ci',
  'awaiting_approval',
  'merging',
];

export interface Promotion {
  readonly id: number;
  readonly env: AppEnv;
  readonly requestedBy: number;
  readonly chatId: number;
  readonly status: PromotionStatus;
  readonly baseRef: string;
  readonly headRef: string;
  readonly headSha: string | null;
  readonly mergeSha: string | null;
  readonly prNumber: number | null;
  readonly prUrl: string | null;
  readonly commitCount: number | null;
  readonly statusMessageId: number | null;
  readonly promptMessageId: number | null;
  readonly ciDeadline: Date | null;
  readonly approvedBy: number | null;
  readonly reason: string | null;
  readonly tag: string | null;
  readonly githubDeploymentId: number | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** The requester's Telegram name (`@ada`), when recorded. */
  readonly requestedByName?: string | null;
  /** When CI of the current head began to be followed, and when it passed (migration 0013). */
  readonly ciStartedAt?: Date | null;
  readonly ciPassedAt?: Date | null;
  /** The oldest commit the promotion ships was written then (migration 0027; /delivery's lead time). */
  readonly firstCommitAt?: Date | null;
  /** The first line of the head commit's message as the compare listed it, while the head is that commit (migration 0032; /delivery's fix-forwards). */
  readonly headTitle?: string | null;
}

/** Another promotion is already in flight; it is the one to follow or cancel. */
export class PromotionInFlightError extends Error {
  override name = 'PromotionInFlightError';
  constructor(readonly existing: Promotion) {
    super(`promotion #${existing.id} is already in flight (${existing.status})`);
  }
}

export interface PromotionButton {
  readonly id: string;
  readonly promotionId: number;
  /** update: brings develop up to date with main (offered when GitHub says develop is behind). */
  readonly action: 'approve' | 'decline' | 'update';
  readonly boundUserId: number | null;
  readonly notUserId: number | null;
  readonly headSha: string;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
}

type Row = Record<string, unknown>;

const toNumber = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function toPromotion(r: Row): Promotion {
  return {
    id: Number(r.id),
    env: r.env as AppEnv,
    requestedBy: Number(r.requested_by),
    chatId: Number(r.chat_id),
    status: r.status as PromotionStatus,
    baseRef: r.base_ref as string,
    headRef: r.head_ref as string,
    headSha: (r.head_sha as string | null) ?? null,
    mergeSha: (r.merge_sha as string | null) ?? null,
    prNumber: toNumber(r.pr_number),
    prUrl: (r.pr_url as string | null) ?? null,
    commitCount: toNumber(r.commit_count),
    statusMessageId: toNumber(r.status_message_id),
    promptMessageId: toNumber(r.prompt_message_id),
    ciDeadline: (r.ci_deadline as Date | null) ?? null,
    approvedBy: toNumber(r.approved_by),
    reason: (r.reason as string | null) ?? null,
    tag: (r.tag as string | null) ?? null,
    githubDeploymentId: toNumber(r.github_deployment_id),
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    requestedByName: (r.requested_by_name as string | null | undefined) ?? null,
    ciStartedAt: (r.ci_started_at as Date | null | undefined) ?? null,
    ciPassedAt: (r.ci_passed_at as Date | null | undefined) ?? null,
    firstCommitAt: (r.first_commit_at as Date | null | undefined) ?? null,
    headTitle: (r.head_title as string | null | undefined) ?? null,
  };
}

function toButton(r: Row): PromotionButton {
  return {
    id: r.id as string,
    promotionId: Number(r.promotion_id),
    action: r.action as PromotionButton['action'],
    boundUserId: toNumber(r.bound_user_id),
    notUserId: toNumber(r.not_user_id),
    headSha: r.head_sha as string,
    expiresAt: r.expires_at as Date,
    usedAt: (r.used_at as Date | null) ?? null,
  };
}

const COLUMNS: Record<string, string> = {
  status: 'status',
  chatId: 'chat_id',
  headSha: 'head_sha',
  mergeSha: 'merge_sha',
  prNumber: 'pr_number',
  prUrl: 'pr_url',
  commitCount: 'commit_count',
  statusMessageId: 'status_message_id',
  promptMessageId: 'prompt_message_id',
  ciDeadline: 'ci_deadline',
  approvedBy: 'approved_by',
  reason: 'reason',
  tag: 'tag',
  githubDeploymentId: 'github_deployment_id',
  firstCommitAt: 'first_commit_at',
  headTitle: 'head_title',
};

export type PromotionChanges = Partial<
  Pick<
    Promotion,
    | 'status'
    | 'chatId'
    | 'headSha'
    | 'mergeSha'
    | 'prNumber'
    | 'prUrl'
    | 'commitCount'
    | 'statusMessageId'
    | 'promptMessageId'
    | 'ciDeadline'
    | 'approvedBy'
    | 'reason'
    | 'tag'
    | 'githubDeploymentId'
    | 'firstCommitAt'
    | 'headTitle'
  >
>;

const FINISHED: readonly PromotionStatus[] = ['merged', 'declined', 'cancelled', 'failed', 'expired'];

/** The promotions of one environment's database, with every state change done atomically. */
export function createPromotionStore(pool: Pool, env: AppEnv) {
  const setClause = (changes: PromotionChanges, first: number) => {
    const entries = Object.entries(changes).filter(([, v]) => v !== undefined);
    const sets = entries.map(([k], i) => `${COLUMNS[k]} = $${first + i}`);
    const values = entries.map(([, v]) => v);
    const finished = changes.status && FINISHED.includes(changes.status) ? ', finished_at = now()' : '';
    return { sql: [...sets, 'updated_at = now()'].join(', ') + finished, values };
  };

  return {
    async inFlight(): Promise<Promotion | undefined> {
      const { rows } = await pool.query(`SELECT * FROM promotions WHERE status = ANY($1) LIMIT 1`, [
        IN_FLIGHT,
      ]);
      return rows[0] ? toPromotion(rows[0]) : undefined;
    },

    /** Starts a promotion, or throws PromotionInFlightError: the database allows one at a time. */
    async start(input: {
      requestedBy: number;
      requestedByName?: string;
      chatId: number;
      baseRef: string;
      headRef: string;
    }): Promise<Promotion> {
      try {
        const { rows } = await pool.query(
          `INSERT INTO promotions (env, requested_by, chat_id, base_ref, head_ref, status, requested_by_name)
           VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING *`,
          [env, input.requestedBy, input.chatId, input.baseRef, input.headRef, input.requestedByName ?? null],
        );
        return toPromotion(rows[0]);
      } catch (error) {
        if ((error as { constraint?: string }).constraint === 'promotions_one_in_flight') {
          const existing = await this.inFlight();
          if (existing) throw new PromotionInFlightError(existing);
        }
        throw error;
      }
    },

    async get(id: number): Promise<Promotion | undefined> {
      const { rows } = await pool.query('SELECT * FROM promotions WHERE id = $1', [id]);
      return rows[0] ? toPromotion(rows[0]) : undefined;
    },

    async update(id: number, changes: PromotionChanges): Promise<Promotion> {
      const { sql, values } = setClause(changes, 2);
      const { rows } = await pool.query(`UPDATE promotions SET ${sql} WHERE id = $1 RETURNING *`, [
        id,
        ...values,
      ]);
      return toPromotion(rows[0]);
    },

    /**
     * Compare-and-set on the status: changes the promotion only while it is in one of
     * `from`. Returns the updated promotion, or undefined when someone else moved it first.
     */
    async transition(
      id: number,
      from: readonly PromotionStatus[],
      changes: PromotionChanges & { status: PromotionStatus },
      where: { headSha?: string } = {},
    ): Promise<Promotion | undefined> {
      const { sql, values } = setClause(changes, 3);
      const headClause = where.headSha ? ` AND head_sha = $${3 + values.length}` : '';
      const { rows } = await pool.query(
        `UPDATE promotions SET ${sql} WHERE id = $1 AND status = ANY($2)${headClause} RETURNING *`,
        [id, from, ...values, ...(where.headSha ? [where.headSha] : [])],
      );
      return rows[0] ? toPromotion(rows[0]) : undefined;
    },

    /** Promotions that ended in one of `statuses` within the last `withinMs`, oldest first. */
    async endedRecently(statuses: readonly PromotionStatus[], withinMs: number): Promise<Promotion[]> {
      const { rows } = await pool.query(
        `SELECT * FROM promotions WHERE status = ANY($1)
           AND finished_at > now() - make_interval(secs => $2::double precision / 1000) ORDER BY id`,
        [statuses, withinMs],
      );
      return rows.map(toPromotion);
    },

    async waitingForCi(): Promise<Promotion[]> {
      const { rows } = await pool.query(`SELECT * FROM promotions WHERE status = 'waiting_ci' ORDER BY id`);
      return rows.map(toPromotion);
    },

    async awaitingApproval(): Promise<Promotion[]> {
      const { rows } = await pool.query(
        `SELECT * FROM promotions WHERE status = 'awaiting_approval' ORDER BY id`,
      );
      return rows.map(toPromotion);
    },

    /** Promotions left in `merging` (a crash between the confirmation and the merge's end). */
    async stuckMerging(olderThanSeconds: number): Promise<Promotion[]> {
      const { rows } = await pool.query(
        `SELECT * FROM promotions WHERE status = 'merging' AND updated_at < now() - make_interval(secs => $1) ORDER BY id`,
        [olderThanSeconds],
      );
      return rows.map(toPromotion);
    },

    /** Merged promotions whose deploy was never queued (a crash, or Redis down, after the merge). */
    /** Merged promotions whose production deploy was never handed over (no GitHub Deployment). */
    async mergedWithoutHandoff(): Promise<Promotion[]> {
      const { rows } = await pool.query(
        `SELECT * FROM promotions
         WHERE status = 'merged' AND merge_sha IS NOT NULL AND github_deployment_id IS NULL ORDER BY id`,
      );
      return rows.map(toPromotion);
    },

    /** When the newest buttons of a promotion expire (older prompts were replaced by it). */
    async latestButtonExpiry(promotionId: number): Promise<Date | undefined> {
      const { rows } = await pool.query(
        'SELECT max(expires_at) AS at FROM promotion_buttons WHERE promotion_id = $1',
        [promotionId],
      );
      return rows[0]?.at ?? undefined;
    },

    /** Opaque ids for the Yes and No buttons of one approval prompt. */
    async createButtons(input: {
      promotionId: number;
      headSha: string;
      boundUserId: number | null;
      notUserId: number | null;
      expiresAt: Date;
    }): Promise<{ approve: string; decline: string }> {
      const ids = {
        approve: randomBytes(12).toString('base64url'),
        decline: randomBytes(12).toString('base64url'),
      };
      for (const action of ['approve', 'decline'] as const) {
        await pool.query(
          `INSERT INTO promotion_buttons (id, promotion_id, action, bound_user_id, not_user_id, head_sha, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            ids[action],
            input.promotionId,
            action,
            input.boundUserId,
            input.notUserId,
            input.headSha,
            input.expiresAt,
          ],
        );
      }
      return ids;
    },

    /** The opaque id of the one button that updates develop from main. */
    async createUpdateButton(input: {
      promotionId: number;
      headSha: string;
      boundUserId: number | null;
      expiresAt: Date;
    }): Promise<string> {
      const id = randomBytes(12).toString('base64url');
      await pool.query(
        `INSERT INTO promotion_buttons (id, promotion_id, action, bound_user_id, not_user_id, head_sha, expires_at)
         VALUES ($1, $2, 'update', $3, NULL, $4, $5)`,
        [id, input.promotionId, input.boundUserId, input.headSha, input.expiresAt],
      );
      return id;
    },

    async button(id: string): Promise<PromotionButton | undefined> {
      const { rows } = await pool.query('SELECT * FROM promotion_buttons WHERE id = $1', [id]);
      return rows[0] ? toButton(rows[0]) : undefined;
    },

    async markButtonsUsed(promotionId: number, userId: number): Promise<void> {
      await pool.query(
        `UPDATE promotion_buttons SET used_at = now(), used_by = $2 WHERE promotion_id = $1 AND used_at IS NULL`,
        [promotionId, userId],
      );
    },

    /** True the first time a GitHub delivery id is seen; redeliveries return false. */
    async recordDelivery(deliveryId: string, event: string): Promise<boolean> {
      const { rowCount } = await pool.query(
        `INSERT INTO webhook_deliveries (delivery_id, event) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [deliveryId, event],
      );
      return rowCount === 1;
    },
  };
}

export type PromotionStore = ReturnType<typeof createPromotionStore>;
