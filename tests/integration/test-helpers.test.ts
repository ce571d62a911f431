// The test infrastructure itself: the servers from the global setup and the helpers.
import { createConnection } from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { adminDatabaseUrl, createTestDatabase, createTestRole, redisUrl } from '../helpers/services.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('test services', () => {
  it('provides a superuser URL to the postgres database', async () => {
    const [row] = await query<{ db: string; su: boolean }>(
      adminDatabaseUrl(),
      "select current_database() as db, current_setting('is_superuser') = 'on' as su",
    );
    expect(row).toEqual({ db: 'postgres', su: true });
  });

  it('creates and drops a uniquely named database', async () => {
    const a = await createTestDatabase('staging_lugh');
    const b = await createTestDatabase('staging_lugh');
    try {
      expect(a.name).toMatch(/^t_[0-9a-f]{8}_staging_lugh$/);
      expect(a.name).not.toBe(b.name);
      const [row] = await query<{ db: string }>(a.url, 'select current_database() as db');
      expect(row?.db).toBe(a.name);
    } finally {
      await a.drop();
      await b.drop();
    }
    const rows = await query(adminDatabaseUrl(), `select 1 from pg_database where datname = '${a.name}'`);
    expect(rows).toHaveLength(0);
  });

  it('drops a database that still has connections', async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {});
    await client.connect();
    await db.drop();
    await client.end().catch(() => {});
  });

  it('authenticates roles by password on 127.0.0.1', async () => {
    const role = await createTestRole('app');
    try {
      const [row] = await query<{ me: string }>(role.url(), 'select current_user as me');
      expect(row?.me).toBe(role.name);
      const wrong = new URL(role.url());
      wrong.password = 'wrong';
      await expect(query(wrong.toString(), 'select 1')).rejects.toThrow(/password/);
    } finally {
      await role.drop();
    }
  });

  it('provides a Redis server that answers PING', async () => {
    const url = new URL(redisUrl());
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: url.hostname, port: Number(url.port) });
      socket.once('error', reject);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (chunk) => {
        socket.destroy();
        resolve(chunk.toString());
      });
    });
    expect(reply).toBe('+PONG\r\n');
  });
});
