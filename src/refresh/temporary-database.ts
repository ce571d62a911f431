// Production's temporary copies: `lugh_refresh_<unix seconds>_<random>`, created by the
// role of production's own DATABASE_URL (it needs CREATEDB; `lugh doctor` checks), so the
// copy is owned by that role and dropped by it. The time in the name lets a later refresh
// sweep the copies a killed one left behind.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEMPORARY_PREFIX = 'lugh_refresh_';
const TEMPORARY_NAME = /^lugh_refresh_(\d{10})_[0-9a-f]{12}$/;

/** A copy older than this is a leftover of a refresh that died: the next refresh drops it. */
export const LEFTOVER_AFTER_MS = 60 * 60 * 1000;

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** One short-lived connection to `url` for `run` (refresh's own catalog and session work). */
export async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  // A dropped connection must not become an uncaught error in the bot.
  client.on('error', () => {});
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates an empty temporary database (connecting through `url`); its name and URL. */
export async function createTemporaryDatabase(
  url: string,
  now = new Date(),
): Promise<{ name: string; url: string }> {
  const name = `${TEMPORARY_PREFIX}${Math.floor(now.getTime() / 1000)}_${randomBytes(6).toString('hex')}`;
  await withClient(url, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`));
  return { name, url: withDatabase(url, name) };
}

/** Drops one temporary database, its sessions too; refuses any other name. */
export async function dropTemporaryDatabase(url: string, name: string): Promise<void> {
  if (!TEMPORARY_NAME.test(name)) throw new Error(`${name} is not a refresh's temporary database`);
  await withClient(url, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

/** The temporary databases on the server, newest name last. */
export async function listTemporaryDatabases(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'lugh\\_refresh\\_%' ORDER BY datname`,
    );
    return rows.map((r) => r.datname).filter((n) => TEMPORARY_NAME.test(n));
  });
}

/** Drops the copies older than LEFTOVER_AFTER_MS (a refresh killed with -9 left them); their names. */
export async function sweepLeftovers(url: string, now = new Date()): Promise<string[]> {
  const swept: string[] = [];
  for (const name of await listTemporaryDatabases(url)) {
    const created = Number(TEMPORARY_NAME.exec(name)?.[1]) * 1000;
    if (now.getTime() - created < LEFTOVER_AFTER_MS) continue;
    await dropTemporaryDatabase(url, name);
    swept.push(name);
  }
  return swept;
}
