// A preview's database and role on the real Postgres server: the role reaches its own
// database and nothing else, ensure is idempotent, drop leaves nothing, and a name that is
// not lugh's is refused before any SQL.
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { derivedPassword } from '../../../src/previews/derived-password.js';
import { previewNames } from '../../../src/previews/preview.js';
import { createPreviewDatabases, PreviewNameError } from '../../../src/previews/preview-database.js';
import { uniqueName } from '../../helpers/docker.js';
import { adminDatabaseUrl, createTestDatabase, withAdmin, withDatabase } from '../../helpers/services.js';

const namespace = uniqueName('t');
const databases = createPreviewDatabases({ adminUrl: adminDatabaseUrl(), namespace });
const seven = previewNames(7, namespace);
const eight = previewNames(8, namespace);

/** Runs `sql` as whoever `url` logs in as; the rows, or the refusal thrown. */
async function asUser(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const roleRow = (role: string) =>
  withAdmin(async (c) => (await c.query('select * from pg_roles where rolname = $1', [role])).rows[0]);

describe('preview databases', () => {
  afterAll(async () => {
    await databases.drop(seven);
    await databases.drop(eight);
  });

  it('gives the preview a role that creates tables in its own database, and the same URL twice', async () => {
    const { url } = await databases.ensure(seven);
    expect(new URL(url).username).toBe(seven.role);
    expect(new URL(url).pathname).toBe(`/${seven.database}`);
    await asUser(url, 'create table notes (id int primary key, body text)');
    await asUser(url, "insert into notes values (1, 'kept')");
    expect(await databases.ensure(seven)).toEqual({ url });
    // The second ensure changed nothing: the table and its row are still there.
    expect(await asUser(url, 'select body from notes')).toEqual([{ body: 'kept' }]);
    const role = await roleRow(seven.role);
    expect(role).toMatchObject({
      rolcanlogin: true,
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolinherit: false,
      rolreplication: false,
      rolbypassrls: false,
    });
  });

  it('sends Postgres a SCRAM verifier, never the role’s password (a statement log would show it)', async () => {
    const sent: string[] = [];
    const query = pg.Client.prototype.query;
    const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (
      this: pg.Client,
      ...args: unknown[]
    ) {
      const text = args[0];
      sent.push(typeof text === 'string' ? text : String((text as { text?: string })?.text ?? ''));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as never);
    let url: string;
    try {
      ({ url } = await databases.ensure(seven));
    } finally {
      spy.mockRestore();
    }
    const password = derivedPassword(adminDatabaseUrl(), seven.role);
    expect(sent.some((q) => /role/i.test(q) && /SCRAM-SHA-256\$/.test(q))).toBe(true);
    for (const q of sent) expect(q).not.toContain(password);
    // And the preview logs in with it.
    expect(await asUser(url, 'select current_user as me')).toEqual([{ me: seven.role }]);
  });

  it('keeps the role out of another preview’s database and out of staging’s tables', async () => {
    const { url: sevenUrl } = await databases.ensure(seven);
    const { url: eightUrl } = await databases.ensure(eight);
    await asUser(eightUrl, 'create table secrets (v text)');
    // Not even a connection: CONNECT is revoked from PUBLIC on each preview database.
    await expect(asUser(withDatabase(sevenUrl, eight.database), 'select 1')).rejects.toThrow(
      /permission denied for database/,
    );
    const staging = await createTestDatabase('staging_lugh');
    try {
      await asUser(staging.url, 'create table chats (id int); insert into chats values (42)');
      // Staging's own database as lugh's init makes it: no CONNECT for PUBLIC.
      await withAdmin((c) => c.query(`revoke connect on database "${staging.name}" from public`));
      await expect(asUser(withDatabase(sevenUrl, staging.name), 'select * from chats')).rejects.toThrow(
        /permission denied for database/,
      );
      // Even where PUBLIC may connect, the tables are not the preview's to read.
      await withAdmin((c) => c.query(`grant connect on database "${staging.name}" to public`));
      await expect(asUser(withDatabase(sevenUrl, staging.name), 'select * from chats')).rejects.toThrow(
        /permission denied for table chats/,
      );
      await expect(asUser(withDatabase(sevenUrl, staging.name), 'create table mine (v int)')).rejects.toThrow(
        /permission denied for schema public/,
      );
    } finally {
      await staging.drop();
    }
  });

  it('lists this namespace’s previews only', async () => {
    await databases.ensure(seven);
    await databases.ensure(eight);
    const other = createPreviewDatabases({ adminUrl: adminDatabaseUrl(), namespace: uniqueName('t') });
    expect(await databases.list()).toEqual([7, 8]);
    expect(await other.list()).toEqual([]);
  });

  it('drops the database and the role, even with the preview connected, and again without error', async () => {
    const { url } = await databases.ensure(eight);
    const held = new pg.Client({ connectionString: url });
    held.on('error', () => {});
    await held.connect();
    try {
      await databases.drop(eight);
    } finally {
      await held.end().catch(() => {});
    }
    await databases.drop(eight);
    expect(await roleRow(eight.role)).toBeUndefined();
    const left = await withAdmin((c) =>
      c.query('select 1 from pg_database where datname = $1', [eight.database]),
    );
    expect(left.rowCount).toBe(0);
    expect(await databases.list()).toEqual([7]);
    await expect(asUser(url, 'select 1')).rejects.toThrow();
  });

  it('refuses a name that is not a plain Postgres name before running any SQL', async () => {
    const bad = { ...seven, role: 'x"; drop database postgres; --', database: 'x"y' };
    await expect(databases.ensure(bad)).rejects.toThrow(PreviewNameError);
    await expect(databases.ensure(bad)).rejects.toThrow(/not a plain Postgres name/);
    await expect(databases.drop(bad)).rejects.toThrow(PreviewNameError);
    expect(await roleRow(bad.role)).toBeUndefined();
  });

  it('refuses a role of the preview’s name that has more rights than a preview may', async () => {
    const nine = previewNames(9, namespace);
    await withAdmin((c) => c.query(`create role "${nine.role}" login superuser`));
    try {
      await expect(databases.ensure(nine)).rejects.toThrow(/rights a preview must not have.*drop it/);
    } finally {
      await databases.drop(nine);
    }
    expect(await roleRow(nine.role)).toBeUndefined();
  });

  it('puts PREVIEW_DATABASE_HOST in the URL, and never the admin password in an error', async () => {
    const onHost = createPreviewDatabases({
      adminUrl: adminDatabaseUrl(),
      namespace,
      host: 'db.internal:6543',
    });
    const { url } = await onHost.ensure(seven);
    expect(new URL(url).host).toBe('db.internal:6543');
    const wrong = new URL(adminDatabaseUrl());
    wrong.password = 'not-the-password-s3cret';
    const refused = createPreviewDatabases({ adminUrl: wrong.toString(), namespace });
    const error = await refused.list().catch((e: Error) => e);
    expect(String(error)).toMatch(/PREVIEW_DATABASE_ADMIN_URL/);
    expect(String(error)).not.toContain('s3cret');
  });
});

describe('preview databases made by an admin that is no superuser (CREATEDB CREATEROLE, as README asks)', () => {
  const ns = uniqueName('t');
  const admin = `${ns.replaceAll('-', '_')}_admin`;
  const adminUrl = (() => {
    const url = new URL(adminDatabaseUrl());
    url.username = admin;
    url.password = 'admin-pw';
    return url.toString();
  })();
  const parts = createPreviewDatabases({ adminUrl, namespace: ns });
  const three = previewNames(3, ns);

  afterAll(async () => {
    await parts.drop(three).catch(() => {});
    await withAdmin((c) => c.query(`drop role if exists "${admin}"`));
  });

  it('makes, lists and drops a preview database', async () => {
    await withAdmin((c) => c.query(`create role "${admin}" login createdb createrole password 'admin-pw'`));
    const { url } = await parts.ensure(three);
    await asUser(url, 'create table t (v int)');
    expect(await parts.ensure(three)).toEqual({ url });
    expect(await parts.list()).toEqual([3]);
    await parts.drop(three);
    expect(await roleRow(three.role)).toBeUndefined();
    expect(await parts.list()).toEqual([]);
  });
});
