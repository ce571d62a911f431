import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** A postgres:// URL any client (pg, node-pg-migrate, psql) can use. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * One PGlite database behind the Postgres wire protocol, so the product connects to it
 * exactly as to a real server. One per database: PGlite holds a single database.
 * `dataDir` keeps it on disk; without it the database lives in memory.
 */
export async function startEmbeddedPostgres(options: {
  databaseName: string;
  dataDir?: string;
  port?: number;
}): Promise<EmbeddedPostgres> {
  const db = await PGlite.create(options.dataDir);
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port ?? 0,
    // pglite-socket multiplexes client connections onto the one database.
    maxConnections: 20,
  });
  await server.start();
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  return {
    // PGlite ignores the database name; the URL carries it so lugh's config checks see
    // which environment the database belongs to. It checks no password either: a random one
    // keeps the redactor (which hides every database password) off the role's name, postgres.
    url: `postgres://postgres:${randomBytes(9).toString('base64url')}@127.0.0.1:${port}/${encodeURIComponent(options.databaseName)}`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
