// Staging's once-only record of refresh handoffs (by nonce): a replay is refused.
import type { Pool } from './pool.js';

export function createRefreshHandoffStore(pool: Pool) {
  return {
    /** True for the first claim of a nonce; false when it was seen before (a replay). */
    async claim(input: { nonce: string; sha256: string; sourceCommit: string }): Promise<boolean> {
      const { rowCount } = await pool.query(
        `INSERT INTO refresh_handoffs (nonce, sha256, source_commit) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING`,
        [input.nonce, input.sha256, input.sourceCommit],
      );
      return rowCount === 1;
    },

    /** Every handoff recorded (kept across a refresh that replaces this table with production's). */
    async all(): Promise<{ nonce: string; sha256: string; sourceCommit: string }[]> {
      const { rows } = await pool.query(
        'SELECT nonce, sha256, source_commit AS "sourceCommit" FROM refresh_handoffs ORDER BY received_at',
      );
      return rows;
    },
  };
}

export type RefreshHandoffStore = ReturnType<typeof createRefreshHandoffStore>;
