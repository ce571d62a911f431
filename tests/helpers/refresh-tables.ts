// What the refresh tests and the bench give their small stand-in databases of lugh's own:
// the `locks` table a restore re-takes staging's deploy lock in (as lugh's migrations make
// it), staging's content before a refresh, and the clean-up of the temporary databases.
import { dropTemporaryDatabase, listTemporaryDatabases } from '../../src/refresh/temporary-database.js';

/** lugh's `locks` table, as its migrations make it: a dump of lugh's database always holds it. */
export const LOCKS_TABLE = `CREATE TABLE locks (name text PRIMARY KEY, owner text NOT NULL, reason text NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL, CHECK (expires_at > acquired_at))`;

/** Staging's own content before a refresh: what an interrupted one must leave. */
export const STAGING_BEFORE = `DROP SCHEMA public CASCADE; CREATE SCHEMA public;
     CREATE TABLE widgets (id int PRIMARY KEY, label text);
     INSERT INTO widgets VALUES (1, 'staging one'), (2, 'staging two');
     ${LOCKS_TABLE};`;

/** Drops every temporary database (`lugh_refresh_*`) left on the server `url` reaches. */
export async function dropTemporaryDatabases(url: string): Promise<void> {
  for (const name of await listTemporaryDatabases(url)) await dropTemporaryDatabase(url, name);
}
