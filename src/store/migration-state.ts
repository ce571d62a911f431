import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import type { Pool } from './pool.js';

// Where the migrations are, and whether a database has run them all, without loading the
// migrator (node-pg-migrate): `lugh start` asks this on every start.

/** migrations/ at the package root (the sources and the bundle alike). */
export const MIGRATIONS_DIR = path.join(PACKAGE_ROOT, 'migrations');

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
