import type { Logger } from '../logger.js';
import { isMigrated } from '../store/migration-state.js';
import type { Pool } from '../store/pool.js';

/**
 * `lugh start`'s migration step. A database already at this build's migrations (every start
 * but the first after a deploy) is read once and node-pg-migrate is not even loaded (it
 * is ~50 ms of start-up); otherwise the migrator runs, under its advisory lock, and says
 * what it applied or why it refuses.
 */
export async function migrateIfBehind(pool: Pool, databaseUrl: string, logger: Logger): Promise<void> {
  if (await isMigrated(pool)) {
    logger.child({ component: 'migrate' }).info({ applied: [] }, 'database is up to date');
    return;
  }
  const { runMigrations } = await import('../store/migrate.js');
  await runMigrations({ databaseUrl, logger });
}
