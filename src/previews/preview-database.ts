// A preview's database on staging's Postgres server (PREVIEW_DATABASE_ADMIN_URL): the
// database `preview_pr_<n>` owned by the role of the same name, which may log in, create
// tables in its own database and nothing else (no superuser, no CREATEDB, no CREATEROLE,
// no inherited rights), and whose database no other role may connect to (CONNECT revoked
// from PUBLIC). The role's password is derived (derived-password.ts), never stored.
import pg from 'pg';
import type { Logger } from '../logger.js';
import { derivedPassword, scramVerifier } from './derived-password.js';
import { type PreviewDatabases, type PreviewNames, previewUnderscorePrefix } from './preview.js';

/** What Postgres takes unquoted and lugh's names are made of; anything else is refused before any SQL. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The preview database or role name is not one lugh makes (a quote, a capital, too long). */
export class PreviewNameError extends Error {
  override name = 'PreviewNameError';
}

function identifier(name: string, what: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new PreviewNameError(
      `the preview ${what} name ${JSON.stringify(name)} is not a plain Postgres name (lower-case letters, digits and _, at most 63): use previewNames(pr, namespace), whose namespace keeps to those`,
    );
  }
  return `"${name}"`;
}

/** The admin URL without its password, for messages. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return '(an unreadable PREVIEW_DATABASE_ADMIN_URL)';
  }
}

/** A failure of the admin connection, said without its password. */
export class PreviewDatabaseError extends Error {
  override name = 'PreviewDatabaseError';
}

export interface PreviewDatabaseOptions {
  /** PREVIEW_DATABASE_ADMIN_URL: a role that may create databases and roles on staging's server. */
  readonly adminUrl: string;
  /** PREVIEW_DATABASE_HOST: where a preview reaches the server (host or host:port), when not the admin URL's. */
  readonly host?: string;
  /** previewNames' namespace: '' for lugh's own previews. */
  readonly namespace?: string;
  readonly logger?: Logger;
}

/** The URL a preview connects with: its role, its derived password, its database, on `host` when given. */
export function previewDatabaseUrl(options: PreviewDatabaseOptions, names: PreviewNames): string {
  const url = new URL(options.adminUrl);
  if (options.host) {
    const at = options.host.lastIndexOf(':');
    const hasPort = at > 0 && /^\d+$/.test(options.host.slice(at + 1));
    url.hostname = hasPort ? options.host.slice(0, at) : options.host;
    if (hasPort) url.port = options.host.slice(at + 1);
  }
  url.username = names.role;
  url.password = derivedPassword(options.adminUrl, names.role);
  url.pathname = `/${names.database}`;
  return url.toString();
}

export function createPreviewDatabases(options: PreviewDatabaseOptions): PreviewDatabases {
  const namespace = options.namespace ?? '';
  const prefix = previewUnderscorePrefix(namespace);

  async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>, database?: string): Promise<T> {
    const url = new URL(options.adminUrl);
    if (database) url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    // A server that drops the connection later says so through the query that fails.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      throw new PreviewDatabaseError(
        `could not connect to the preview database server at ${shown(options.adminUrl)} (${(error as Error).message}): check PREVIEW_DATABASE_ADMIN_URL and that Postgres runs`,
      );
    }
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  }

  const roleExists = async (client: pg.Client, role: string) =>
    (await client.query('select 1 from pg_roles where rolname = $1', [role])).rowCount === 1;
  const databaseExists = async (client: pg.Client, database: string) =>
    (await client.query('select 1 from pg_database where datname = $1', [database])).rowCount === 1;

  return {
    async ensure(names) {
      const role = identifier(names.role, 'role');
      const database = identifier(names.database, 'database');
      // Its SCRAM verifier, never the password (a statement log would show it); base64 and
      // `$:` only, so the literal needs no escaping.
      const verifier = scramVerifier(derivedPassword(options.adminUrl, names.role));
      await withAdmin(async (client) => {
        const attributes = `login nocreatedb nocreaterole noinherit password '${verifier}'`;
        if (await roleExists(client, names.role)) {
          // Only a superuser may even name the superuser, replication and bypassrls attributes
          // in ALTER ROLE: they are checked below instead.
          await client.query(`alter role ${role} ${attributes}`);
        } else {
          await client.query(`create role ${role} ${attributes} nosuperuser noreplication nobypassrls`);
        }
        const { rows: granted } = await client.query<{
          rolsuper: boolean;
          rolreplication: boolean;
          rolbypassrls: boolean;
        }>('select rolsuper, rolreplication, rolbypassrls from pg_roles where rolname = $1', [names.role]);
        const extra = granted[0];
        if (extra?.rolsuper || extra?.rolreplication || extra?.rolbypassrls) {
          throw new PreviewDatabaseError(
            `the role ${names.role} exists with rights a preview must not have (superuser, replication or bypassrls): drop it (DROP ROLE ${names.role}) and let lugh make it again`,
          );
        }
        if (!(await databaseExists(client, names.database))) {
          // A CREATEROLE admin that is no superuser may give a database only to a role it is a member of.
          const { rows } = await client.query<{ rolsuper: boolean }>(
            'select rolsuper from pg_roles where rolname = current_user',
          );
          if (!rows[0]?.rolsuper) await client.query(`grant ${role} to current_user`);
          await client.query(`create database ${database} owner ${role}`);
          options.logger?.info({ pr: names.pr, database: names.database }, 'preview database created');
        }
        await client.query(`revoke connect, temporary on database ${database} from public`);
        await client.query(`grant connect, temporary on database ${database} to ${role}`);
      });
      // Its schema `public` belongs to pg_database_owner (Postgres 15), whose rights the owner
      // has only by inheriting them, which this role does not: that owner grants them to it.
      // A CREATEROLE admin may act as pg_database_owner here, through its membership in the
      // role that owns the database (SET ROLE follows membership, not inheritance).
      await withAdmin(async (client) => {
        await client.query('set role pg_database_owner');
        await client.query(`grant usage, create on schema public to ${role}`);
        await client.query('reset role');
      }, names.database);
      return { url: previewDatabaseUrl(options, names) };
    },

    async drop(names) {
      const role = identifier(names.role, 'role');
      const database = identifier(names.database, 'database');
      await withAdmin(async (client) => {
        if (await databaseExists(client, names.database)) {
          // No new connection while the old ones are ended, then none left (FORCE).
          await client.query(`revoke connect on database ${database} from ${role}`).catch(() => {});
          await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [
            names.database,
          ]);
          await client.query(`drop database if exists ${database} with (force)`);
        }
        if (await roleExists(client, names.role)) {
          // Grants on objects elsewhere (none are given, but an admin may have) go with it.
          await client.query(`drop owned by ${role}`);
          await client.query(`drop role if exists ${role}`);
        }
      });
      options.logger?.info({ pr: names.pr, database: names.database }, 'preview database dropped');
    },

    async list() {
      const { rows } = await withAdmin((client) =>
        client.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1)', [
          prefix,
        ]),
      );
      return rows
        .map((r) => r.datname.slice(prefix.length))
        .filter((n) => /^[1-9]\d*$/.test(n))
        .map(Number)
        .sort((a, b) => a - b);
    },
  };
}
