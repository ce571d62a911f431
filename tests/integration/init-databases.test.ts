// deploy/init-databases.sh against a real server: roles, ownership, and that each
// environment's role can connect only to its own database.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/docker.js';
import { adminDatabaseUrl, withAdmin, withDatabase } from '../helpers/services.js';

const execFileAsync = promisify(execFile);
const psqlAvailable = await execFileAsync('psql', ['--version']).then(
  () => true,
  () => false,
);

const id = randomBytes(4).toString('hex');
const names = {
  STAGING_DB_NAME: `t_${id}_staging_lugh`,
  STAGING_DB_ROLE: `r_${id}_lugh_staging`,
  PROD_DB_NAME: `t_${id}_prod_lugh`,
  PROD_DB_ROLE: `r_${id}_lugh_prod`,
};
const passwords = { STAGING_DB_PASSWORD: `s-${id}-pw'"$x`, PROD_DB_PASSWORD: `p-${id}-pw` };

function runInit(env: Record<string, string> = {}) {
  return execFileAsync('bash', ['deploy/init-databases.sh', adminDatabaseUrl()], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, ...names, ...passwords, ...env },
  });
}

function urlFor(role: string, password: string, database: string): string {
  const url = new URL(withDatabase(adminDatabaseUrl(), database));
  url.username = role;
  url.password = encodeURIComponent(password);
  return url.toString();
}

async function connectAs(role: string, password: string, database: string): Promise<string> {
  const client = new pg.Client({ connectionString: urlFor(role, password, database) });
  await client.connect();
  try {
    const { rows } = await client.query<{ db: string }>('select current_database() as db');
    return rows[0]!.db;
  } finally {
    await client.end();
  }
}

describe.skipIf(!psqlAvailable)('deploy/init-databases.sh (needs psql)', () => {
  beforeAll(async () => {
    await runInit();
  });

  afterAll(async () => {
    await withAdmin(async (client) => {
      for (const db of [names.STAGING_DB_NAME, names.PROD_DB_NAME]) {
        await client.query(`drop database if exists "${db}" with (force)`);
      }
      for (const role of [names.STAGING_DB_ROLE, names.PROD_DB_ROLE]) {
        await client.query(`drop role if exists "${role}"`);
      }
    });
  });

  it('creates each database owned by its role', async () => {
    const rows = await withAdmin(async (client) => {
      const result = await client.query<{ datname: string; owner: string }>(
        `select datname, pg_get_userbyid(datdba) as owner from pg_database
         where datname = any($1) order by datname`,
        [[names.STAGING_DB_NAME, names.PROD_DB_NAME]],
      );
      return result.rows;
    });
    expect(rows).toEqual([
      { datname: names.PROD_DB_NAME, owner: names.PROD_DB_ROLE },
      { datname: names.STAGING_DB_NAME, owner: names.STAGING_DB_ROLE },
    ]);
  });

  it('lets each role into its own database with its password', async () => {
    await expect(
      connectAs(names.STAGING_DB_ROLE, passwords.STAGING_DB_PASSWORD, names.STAGING_DB_NAME),
    ).resolves.toBe(names.STAGING_DB_NAME);
    await expect(connectAs(names.PROD_DB_ROLE, passwords.PROD_DB_PASSWORD, names.PROD_DB_NAME)).resolves.toBe(
      names.PROD_DB_NAME,
    );
  });

  it("keeps staging's role out of the production database and the reverse", async () => {
    await expect(
      connectAs(names.STAGING_DB_ROLE, passwords.STAGING_DB_PASSWORD, names.PROD_DB_NAME),
    ).rejects.toThrow(/permission denied for database/);
    await expect(
      connectAs(names.PROD_DB_ROLE, passwords.PROD_DB_PASSWORD, names.STAGING_DB_NAME),
    ).rejects.toThrow(/permission denied for database/);
  });

  it('is idempotent and sets a changed password', async () => {
    await runInit({ PROD_DB_PASSWORD: 'rotated-password' });
    await expect(connectAs(names.PROD_DB_ROLE, 'rotated-password', names.PROD_DB_NAME)).resolves.toBe(
      names.PROD_DB_NAME,
    );
    await expect(
      connectAs(names.PROD_DB_ROLE, passwords.PROD_DB_PASSWORD, names.PROD_DB_NAME),
    ).rejects.toThrow(/password authentication failed/);
  });

  it('refuses placeholder passwords', async () => {
    await expect(runInit({ STAGING_DB_PASSWORD: '__SET_IN_.env.infra.local__' })).rejects.toThrow(
      /placeholder/,
    );
  });
});
