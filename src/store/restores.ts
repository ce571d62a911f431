// What a database restore does in SQL around pg_restore: empties the schema before it,
// then puts back what the restored rows get wrong about now (a lock and deployments that
// were live when the backup was taken), and remembers which request restored.
import type { AppEnv } from '../config/environments.js';
import { deployLockName } from './locks.js';
import type { Pool } from './pool.js';

export function createRestoreStore(pool: Pool) {
  return {
    /**
     * Drops everything in the `public` schema, so the restore leaves no table a later
     * migration made (pg_restore --clean drops only what the dump has, and such a table
     * would make that migration fail when it runs again).
     */
    async emptySchema(lockTimeoutMs = 30_000): Promise<void> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // A transaction left open elsewhere would hold the drop forever, with the lock held.
        await client.query(`SELECT set_config('lock_timeout', $1, true)`, [
          `${Math.max(1, Math.round(lockTimeoutMs))}ms`,
        ]);
        await client.query('DROP SCHEMA public CASCADE');
        await client.query('CREATE SCHEMA public');
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },

    /**
     * After a restore: the rows say what was true when the backup was taken. A pre-deploy
     * backup is taken while its deployment runs and holds the lock, so without this the
     * sweeper would run that deploy again and the lock would refuse deploys until it
     * expired. Live deployments end (failed, or cancelled while awaiting confirmation) with
     * `why`; the environment's deploy lock row is removed. Returns the deployments ended.
     */
    async settleAfterRestore(env: AppEnv, why: string): Promise<number[]> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query(
          `UPDATE deployments SET
             status = CASE WHEN status = 'awaiting_confirmation' THEN 'cancelled' ELSE 'failed' END,
             error = $2, finished_at = now()
           WHERE env = $1 AND status IN ('queued', 'running', 'awaiting_confirmation') RETURNING id`,
          [env, why],
        );
        await client.query('DELETE FROM locks WHERE name = $1', [deployLockName(env)]);
        await client.query('COMMIT');
        return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },

    /** Whether the restore asked for by `requestKey` (one confirmation message) has run. */
    async restoredBy(requestKey: string): Promise<boolean> {
      const { rows } = await pool.query(
        `SELECT 1 FROM audit_log WHERE action = '/restore' AND outcome = 'ok' AND details->>'requestKey' = $1 LIMIT 1`,
        [requestKey],
      );
      return rows.length > 0;
    },
  };
}

export type RestoreStore = ReturnType<typeof createRestoreStore>;
