import type { Pool } from './pool.js';

/** Groups that became supergroups, as Telegram announced (`migrate_to_chat_id`). */
export interface ChatMigrationStore {
  /** Records that chat `from` is now chat `to`; false when that was known already. */
  record(from: number, to: number): Promise<boolean>;
  /** Where a chat lives now: itself, or the supergroup it became. */
  current(chatId: number): Promise<number>;
  /** Every chat that moved: old id → where it lives now. */
  all(): Promise<ReadonlyMap<number, number>>;
}

/** A group migrates once, to a supergroup, which never migrates again: one hop, no chains. */
export function createChatMigrationStore(pool: Pool): ChatMigrationStore {
  return {
    async record(from, to) {
      const result = await pool.query(
        `INSERT INTO chat_migrations (from_chat_id, to_chat_id) VALUES ($1, $2)
         ON CONFLICT (from_chat_id) DO NOTHING`,
        [from, to],
      );
      return (result.rowCount ?? 0) > 0;
    },
    async current(chatId) {
      const { rows } = await pool.query<{ to_chat_id: string }>(
        'SELECT to_chat_id FROM chat_migrations WHERE from_chat_id = $1',
        [chatId],
      );
      return rows[0] ? Number(rows[0].to_chat_id) : chatId;
    },
    async all() {
      const { rows } = await pool.query<{ from_chat_id: string; to_chat_id: string }>(
        'SELECT from_chat_id, to_chat_id FROM chat_migrations',
      );
      return new Map(rows.map((r) => [Number(r.from_chat_id), Number(r.to_chat_id)]));
    },
  };
}
