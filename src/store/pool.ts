import pg from 'pg';

export type Pool = pg.Pool;

/** The Postgres pool of one instance; every query of lugh goes through it. */
export function createPool(databaseUrl: string, applicationName: string): Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    application_name: applicationName,
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}
