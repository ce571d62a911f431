import type { Pool } from './pool.js';

export interface OutboxRow {
  readonly id: number;
  readonly dedupKey: string;
  readonly chatId: number;
  readonly text: string;
  readonly createdAt: Date;
  /** Sends tried, not counting those Telegram answered with 429 (wait and retry). */
  readonly attempts: number;
  readonly sentAt: Date | null;
  readonly messageId: number | null;
  readonly lastError: string | null;
  readonly gaveUpAt: Date | null;
}

function toRow(r: Record<string, unknown>): OutboxRow {
  return {
    id: Number(r.id),
    dedupKey: r.dedup_key as string,
    chatId: Number(r.chat_id),
    text: r.text as string,
    createdAt: r.created_at as Date,
    attempts: Number(r.attempts),
    sentAt: (r.sent_at as Date | null) ?? null,
    messageId: r.message_id === null ? null : Number(r.message_id),
    lastError: (r.last_error as string | null) ?? null,
    gaveUpAt: (r.gave_up_at as Date | null) ?? null,
  };
}

const secs = (ms: number) => Math.max(0, ms) / 1000;

/**
 * The notification outbox in Postgres. `enqueue` is idempotent on the key, which is what
 * keeps an event from being announced twice across restarts and processes.
 */
export function createNotificationOutbox(pool: Pool) {
  return {
    /** Queues a notification; false when one with this key exists already (sent or not). */
    async enqueue(dedupKey: string, chatId: number, text: string): Promise<boolean> {
      const { rowCount } = await pool.query(
        'INSERT INTO notifications (dedup_key, chat_id, text) VALUES ($1, $2, $3) ON CONFLICT (dedup_key) DO NOTHING',
        [dedupKey, chatId, text],
      );
      return rowCount === 1;
    },

    /**
     * Takes the oldest due row and moves its next attempt `leaseMs` ahead: another sender
     * skips it meanwhile, and a sender that dies mid-send leaves it due again once the
     * lease has passed.
     */
    async claimNext(leaseMs: number): Promise<OutboxRow | undefined> {
      const { rows } = await pool.query(
        `UPDATE notifications SET next_attempt_at = now() + make_interval(secs => $1)
         WHERE id = (
           SELECT id FROM notifications
           WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= now()
           ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [secs(leaseMs)],
      );
      return rows[0] ? toRow(rows[0]) : undefined;
    },

    async markSent(id: number, messageId: number): Promise<void> {
      await pool.query(
        `UPDATE notifications SET sent_at = now(), message_id = $2, attempts = attempts + 1, last_error = NULL
         WHERE id = $1`,
        [id, messageId],
      );
    },

    /** Records a refused attempt and when to try again; `counted: false` leaves `attempts` as it is (a 429). */
    async markFailed(
      id: number,
      error: string,
      retryInMs: number,
      { counted = true }: { counted?: boolean } = {},
    ): Promise<void> {
      await pool.query(
        `UPDATE notifications SET attempts = attempts + $4, last_error = $2,
           next_attempt_at = now() + make_interval(secs => $3)
         WHERE id = $1`,
        [id, error.slice(0, 500), secs(retryInMs), counted ? 1 : 0],
      );
    },

    /**
     * Records a notification that was sent outside the outbox (the health watch's direct
     * notice while Postgres was down), so that its key is never sent again. False when the
     * key was queued already.
     */
    async recordSent(dedupKey: string, chatId: number, text: string, messageId: number): Promise<boolean> {
      const { rowCount } = await pool.query(
        `INSERT INTO notifications (dedup_key, chat_id, text, attempts, sent_at, message_id)
         VALUES ($1, $2, $3, 1, now(), $4) ON CONFLICT (dedup_key) DO NOTHING`,
        [dedupKey, chatId, text, messageId],
      );
      return rowCount === 1;
    },

    /**
     * How long ago this database got the outbox (migration 0004 applied), in ms; undefined
     * when node-pg-migrate's table does not say. Sources never look back before it: the
     * first start after the upgrade must not announce a day of old events at once.
     */
    async existedForMs(): Promise<number | undefined> {
      try {
        const { rows } = await pool.query(
          `SELECT (extract(epoch FROM now() - run_on) * 1000)::float8 AS ms FROM pgmigrations
           WHERE name = '0004_notifications'`,
        );
        return rows[0] ? Math.max(0, Number(rows[0].ms)) : undefined;
      } catch (error) {
        // No migrations table (a database migrated by other means): unknown, not a failure.
        if ((error as { code?: string }).code === '42P01') return undefined;
        throw error;
      }
    },

    /** Moves a claimed row to a later attempt without counting one (its chat is paused). */
    async postpone(id: number, retryInMs: number): Promise<void> {
      await pool.query(
        'UPDATE notifications SET next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1',
        [id, secs(retryInMs)],
      );
    },

    /**
     * A chat wrote to the bot: its rows still waiting (refused with "chat not found", or
     * backing off) are due now. Returns how many.
     */
    async releaseChat(chatId: number): Promise<number> {
      const { rowCount } = await pool.query(
        `UPDATE notifications SET next_attempt_at = now()
         WHERE chat_id = $1 AND sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at > now()`,
        [chatId],
      );
      return rowCount ?? 0;
    },

    async giveUp(id: number, error: string): Promise<void> {
      await pool.query(
        'UPDATE notifications SET gave_up_at = now(), last_error = $2 WHERE id = $1 AND sent_at IS NULL',
        [id, error.slice(0, 500)],
      );
    },

    /**
     * Forgets finished rows older than `olderThanMs`. Keys must outlive every window in
     * which their event can be seen again (the sources look back at most 24 h).
     */
    async prune(olderThanMs: number): Promise<number> {
      const { rowCount } = await pool.query(
        `DELETE FROM notifications WHERE (sent_at IS NOT NULL OR gave_up_at IS NOT NULL)
           AND created_at < now() - make_interval(secs => $1)`,
        [secs(olderThanMs)],
      );
      return rowCount ?? 0;
    },

    /** Notifications neither sent nor given up on (the metrics' backlog). */
    async backlog(): Promise<number> {
      const { rows } = await pool.query(
        'SELECT count(*)::int AS n FROM notifications WHERE sent_at IS NULL AND gave_up_at IS NULL',
      );
      return Number(rows[0]?.n ?? 0);
    },

    async get(dedupKey: string): Promise<OutboxRow | undefined> {
      const { rows } = await pool.query('SELECT * FROM notifications WHERE dedup_key = $1', [dedupKey]);
      return rows[0] ? toRow(rows[0]) : undefined;
    },

    /** Every row, oldest first (tests, diagnosis). */
    async all(): Promise<OutboxRow[]> {
      const { rows } = await pool.query('SELECT * FROM notifications ORDER BY id');
      return rows.map(toRow);
    },
  };
}

export type NotificationOutbox = ReturnType<typeof createNotificationOutbox>;
