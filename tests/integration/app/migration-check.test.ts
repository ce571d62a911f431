// `lugh start` reads whether its database is at this build's migrations before it loads
// the migrator: up to date means exactly these migrations, in this order, and nothing else.
import { afterEach, describe, expect, it } from 'vitest';
import { migrateIfBehind } from '../../../src/app/migration-check.js';
import { isMigrated } from '../../../src/store/migration-state.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { silentLogger } from '../../helpers/logger.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

describe('the start-up migration check', () => {
  const opened: Array<{ db: TestDatabase; pool: Pool }> = [];
  afterEach(async () => {
    for (const { db, pool } of opened.splice(0)) {
      await pool.end();
      await db.drop();
    }
  });
  const fresh = async () => {
    const db = await createTestDatabase('staging_lugh');
    const pool = createPool(db.url, 'migration-check-test');
    opened.push({ db, pool });
    return { db, pool };
  };

  it('a new database is behind; once migrated it is up to date', async () => {
    const { db, pool } = await fresh();
    expect(await isMigrated(pool)).toBe(false);
    await migrateIfBehind(pool, db.url, silentLogger);
    expect(await isMigrated(pool)).toBe(true);
    const tables = await pool.query(
      "SELECT 1 FROM information_schema.tables WHERE table_name = 'deployments'",
    );
    expect(tables.rowCount).toBe(1);
  });

  it('one migration missing, or one this build does not know, is not up to date', async () => {
    const { db, pool } = await fresh();
    await migrateIfBehind(pool, db.url, silentLogger);
    const last = await pool.query<{ id: number; name: string }>(
      'SELECT id, name FROM pgmigrations ORDER BY run_on DESC, id DESC LIMIT 1',
    );
    await pool.query('DELETE FROM pgmigrations WHERE id = $1', [last.rows[0]!.id]);
    expect(await isMigrated(pool)).toBe(false);
    await pool.query('INSERT INTO pgmigrations (name, run_on) VALUES ($1, now())', [last.rows[0]!.name]);
    expect(await isMigrated(pool)).toBe(true);
    await pool.query("INSERT INTO pgmigrations (name, run_on) VALUES ('9999_from_a_newer_build', now())");
    expect(await isMigrated(pool)).toBe(false);
    // The migrator then decides, as before this check: one it does not know ahead of its
    // own is refused (start.test.ts); one after them all node-pg-migrate lets pass.
    await migrateIfBehind(pool, db.url, silentLogger);
  });
});
