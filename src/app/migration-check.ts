import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import type { Pool } from '../store/pool.js';

/** migrations/ at the package root, from src/app (tsx) and dist/app (built) alike. */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Whether the database has run exactly the migrations of this build, in their order: the
 * names node-pg-migrate records (file names without extension, ordered by run_on, id)
 * equal the files of migrations/ (zero-padded numbers, so name order is number order).
 * Anything else (no table yet, one pending, one this build does not know) is not.
 */
export async function isMigrated(pool: Pool, dir = MIGRATIONS_DIR): Promise<boolean> {
  const files = (await readdir(dir, { withFileTypes: true }))
    .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && !entry.name.startsWith('.'))
    .map((entry) => entry.name.replace(/\.[^.]+$/, ''))
    .sort();
  try {
    const { rows } = await pool.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY run_on, id');
    return rows.length === files.length && rows.every((row, i) => row.name === files[i]);
  } catch {
    return false; // no table yet, or a database that cannot say: the migrator decides
  }
}

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
