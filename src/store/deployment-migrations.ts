// The migrations a deployment applied, and which of them cannot be undone: what /rollback
// checks before taking the code back past them. Part of the deployment store.
import type { AppEnv } from '../config/environments.js';
import type { Pool } from './pool.js';

/** A migration that cannot be undone, and the deployment that applied it. */
export interface IrreversibleMigration {
  readonly name: string;
  readonly why: string;
  readonly deploymentId: number;
  readonly sha: string | null;
}

/**
 * Reads of a table that a restore to a backup older than migration 0009 takes away until
 * the next migration: nothing is recorded then, so there is nothing to read.
 */
async function orNone<T>(read: () => Promise<T[]>): Promise<T[]> {
  try {
    return await read();
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return []; // undefined_table
    throw error;
  }
}

export function deploymentMigrations(pool: Pool) {
  return {
    /** Records what a deployment's migrate step applied (again, on a resumed run: no duplicates). */
    async recordMigrations(
      deploymentId: number,
      migrations: ReadonlyArray<{ readonly name: string; readonly irreversible?: string }>,
    ): Promise<void> {
      if (migrations.length === 0) return;
      await pool.query(
        `INSERT INTO deployment_migrations (deployment_id, name, irreversible)
         SELECT $1, m.name, m.irreversible FROM unnest($2::text[], $3::text[]) AS m(name, irreversible)
         ON CONFLICT (deployment_id, name) DO UPDATE SET irreversible = EXCLUDED.irreversible`,
        [deploymentId, migrations.map((m) => m.name), migrations.map((m) => m.irreversible ?? null)],
      );
    },

    async migrationsOf(deploymentId: number): Promise<Array<{ name: string; irreversible: string | null }>> {
      return orNone(async () => {
        const { rows } = await pool.query(
          'SELECT name, irreversible FROM deployment_migrations WHERE deployment_id = $1 ORDER BY name',
          [deploymentId],
        );
        return rows;
      });
    },

    /**
     * The irreversible migrations applied to `env`'s database after deployment `sinceId`
     * (the release a rollback goes back to), by any deployment, whatever its outcome: a
     * deploy that failed after its migrate step still changed the database.
     */
    async irreversibleSince(env: AppEnv, sinceId: number): Promise<IrreversibleMigration[]> {
      const rows = await orNone(
        async () =>
          (
            await pool.query(
              `SELECT m.name, m.irreversible, d.id, d.sha FROM deployment_migrations m
           JOIN deployments d ON d.id = m.deployment_id
         WHERE d.env = $1 AND d.id > $2 AND m.irreversible IS NOT NULL
         ORDER BY d.id, m.name`,
              [env, sinceId],
            )
          ).rows,
      );
      return rows.map((r) => ({
        name: r.name as string,
        why: r.irreversible as string,
        deploymentId: Number(r.id),
        sha: (r.sha as string | null) ?? null,
      }));
    },
  };
}
