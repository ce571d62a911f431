import { readdirSync } from 'node:fs';
import { PG_MIGRATE_LOCK_ID } from 'node-pg-migrate';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../../src/store/migrate.js';
import { FAKE_TOKEN, runLugh, spawnLugh } from '../../helpers/lugh-process.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../../helpers/services.js';

const MIGRATIONS = readdirSync(MIGRATIONS_DIR)
  .filter((f) => f.endsWith('.sql'))
  .map((f) => f.replace(/\.sql$/, ''))
  .sort();

function envFor(appEnv: 'staging' | 'production', databaseUrl: string) {
  return {
    APP_ENV: appEnv,
    TELEGRAM_BOT_TOKEN: FAKE_TOKEN,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl(),
    ADMIN_IDS: '1',
    LOG_LEVEL: 'info',
  };
}

async function appliedMigrations(url: string): Promise<string[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const { rows } = await client.query('SELECT name FROM pgmigrations ORDER BY name');
    return rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

describe('lugh migrate', () => {
  let staging: TestDatabase;
  let production: TestDatabase;
  beforeAll(async () => {
    staging = await createTestDatabase('staging_lugh');
    production = await createTestDatabase('prod_lugh');
  });
  afterAll(async () => {
    await staging?.drop();
    await production?.drop();
  });

  it('two migrators started together apply each migration exactly once and both exit 0', async () => {
    const [a, b] = await Promise.all([
      runLugh(['migrate'], envFor('staging', staging.url)),
      runLugh(['migrate'], envFor('staging', staging.url)),
    ]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    expect(await appliedMigrations(staging.url)).toEqual(MIGRATIONS);

    const client = new pg.Client(staging.url);
    await client.connect();
    const { rows } = await client.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    await client.end();
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['audit_log', 'deployment_steps', 'deployments', 'locks', 'promotions']),
    );

    // Running again is a no-op that still succeeds.
    const again = await runLugh(['migrate'], envFor('staging', staging.url));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('database is up to date');
  });

  it('a migrator waiting on one database does not block the other environment’s', async () => {
    const fresh = await createTestDatabase('staging_lugh');
    const holder = new pg.Client(fresh.url);
    await holder.connect();
    try {
      // Hold the migration lock on the staging database, as a slow migrator would.
      await holder.query('SELECT pg_advisory_lock($1)', [PG_MIGRATE_LOCK_ID]);
      const blocked = spawnLugh(['migrate'], envFor('staging', fresh.url));
      const other = await runLugh(['migrate'], envFor('production', production.url));
      expect(other.code, other.stderr).toBe(0);
      expect(await appliedMigrations(production.url)).toEqual(MIGRATIONS);
      expect(blocked.child.exitCode).toBeNull();

      await holder.query('SELECT pg_advisory_unlock($1)', [PG_MIGRATE_LOCK_ID]);
      expect(await blocked.exited).toBe(0);
      expect(await appliedMigrations(fresh.url)).toEqual(MIGRATIONS);
    } finally {
      await holder.end();
      await fresh.drop();
    }
  });

  it('one GitHub Deployment (a promotion handed to production) becomes only one deployment: the database refuses a second', async () => {
    const client = new pg.Client(staging.url);
    await client.connect();
    try {
      const insert = () =>
        client.query(
          `INSERT INTO deployments (env, ref, trigger, github_deployment_id) VALUES ('production', 'main', 'promotion', 4242)`,
        );
      await insert();
      await expect(insert()).rejects.toMatchObject({
        code: '23505',
        constraint: 'deployments_one_per_github_deployment',
      });
    } finally {
      await client.end();
    }
  });

  it('exits 2 and names the variable when the configuration is wrong', async () => {
    const result = await runLugh(['migrate'], { ...envFor('production', staging.url) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL');
  });
});
