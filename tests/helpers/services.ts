// Real Postgres and Redis for tests: the servers come from the global setup
// (global-setup.ts); each test file makes its own databases and roles on them.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';

/** Superuser URL to the `postgres` database of the test server. */
export function adminDatabaseUrl(): string {
  return inject('databaseUrl');
}

/** URL of the test Redis server. Share it safely by giving every test its own prefix or queue name. */
export function redisUrl(): string {
  return inject('redisUrl');
}

export interface TestDatabase {
  name: string;
  /** Superuser URL to this database (or the owner's URL when `owner` was given). */
  url: string;
  drop(): Promise<void>;
}

export interface TestRole {
  name: string;
  password: string;
  /** URL that logs in as this role to `database` (default `postgres`). */
  url(database?: string): string;
  drop(): Promise<void>;
}

/**
 * A fresh database named `t_<random>_<label>`: the label comes last so a name can end in
 * `staging_lugh` or `prod_lugh` when the code under test looks at the suffix.
 */
export async function createTestDatabase(
  label = 'db',
  options: { owner?: TestRole } = {},
): Promise<TestDatabase> {
  const name = uniqueIdentifier('t', label);
  await withAdmin((client) =>
    client.query(
      `create database ${quoteIdent(name)}${options.owner ? ` owner ${quoteIdent(options.owner.name)}` : ''}`,
    ),
  );
  const url = options.owner ? options.owner.url(name) : withDatabase(adminDatabaseUrl(), name);
  let dropped = false;
  return {
    name,
    url,
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdmin(async (client) => {
        // A pool whose end() is still under way when the database is dropped by force has
        // its ending connection terminated (57P01), an uncaught error in the test process:
        // give connections up to 2 s to close by themselves, then force what is left.
        for (let i = 0; i < 40; i++) {
          const { rows } = await client.query<{ n: number }>(
            'select count(*)::int as n from pg_stat_activity where datname = $1',
            [name],
          );
          if (rows[0]?.n === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await client.query(`drop database if exists ${quoteIdent(name)} with (force)`);
      });
    },
  };
}

/** A login role `r_<random>_<label>` with a random password. Drop its databases before the role. */
export async function createTestRole(label = 'role'): Promise<TestRole> {
  const name = uniqueIdentifier('r', label);
  const password = randomBytes(12).toString('hex');
  await withAdmin((client) =>
    client.query(`create role ${quoteIdent(name)} login password ${quoteLiteral(password)}`),
  );
  const admin = new URL(adminDatabaseUrl());
  return {
    name,
    password,
    url(database = 'postgres') {
      const url = new URL(admin);
      url.username = encodeURIComponent(name);
      url.password = encodeURIComponent(password);
      url.pathname = `/${encodeURIComponent(database)}`;
      return url.toString();
    },
    async drop() {
      await withAdmin((client) => client.query(`drop role if exists ${quoteIdent(name)}`));
    },
  };
}

/** Run `fn` with a superuser client connected to the `postgres` database. */
export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `url` with its database (path) replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

function uniqueIdentifier(kind: string, label: string): string {
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 40);
  return `${kind}_${randomBytes(4).toString('hex')}_${clean || kind}`;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Test files that read or change server-wide state of the shared Postgres server (every
 * `lugh_refresh_*` database, say: one file's "none left" would see another's at work, and its
 * clean-up would drop them) run one at a time: each holds a session advisory lock named `key`
 * from its first hook to its last. Call it at the top level of the file, before its own hooks.
 */
export function oneFileAtATime(key: string, waitMs = 900_000): void {
  let client: pg.Client | undefined;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: adminDatabaseUrl() });
    await client.connect();
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
  }, waitMs);
  afterAll(async () => {
    await client?.end();
  });
}
