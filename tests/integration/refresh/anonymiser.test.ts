// The anonymiser on real Postgres: a seeded copy of a production-like database (customers
// with names, e-mails, phones, a note holding an e-mail, a token; orders referring to them;
// a table marked drop; a second schema). Unmentioned columns and rules that do not fit are
// refused before anything changes; full rules leave no original personal value anywhere.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnonymiseRules } from '../../../src/refresh/anonymise.js';
import { parseAnonymiseRules } from '../../../src/refresh/anonymise-rules.js';
import {
  createAnonymiser,
  NotARefreshDatabaseError,
  REFRESH_DATABASE_PREFIX,
  RulesMismatchError,
  UnmentionedError,
} from '../../../src/refresh/anonymiser.js';
import { refusingHandoff, scanForPersonalValues, scanKept } from '../../../src/refresh/scan.js';
import {
  adminDatabaseUrl,
  createTestDatabase,
  createTestRole,
  withAdmin,
  withDatabase,
} from '../../helpers/services.js';

const anonymise = createAnonymiser();
const KEY = 'test-hash-key';
const made: string[] = [];

const SEED = `
create table customers (
  id serial primary key, name text not null, email text not null unique, phone varchar(40),
  notes text, api_token text, external_ref text unique, created_at timestamptz not null default now(),
  email_lower text generated always as (lower(email)) stored);
create table orders (
  id serial primary key, customer_id int not null references customers(id), customer_ref text,
  total numeric not null, shipping_note text);
create table sessions (id serial primary key, customer_id int references customers(id), token text);
create schema billing;
create table billing.invoices (id serial primary key, order_id int references orders(id), billing_email text);
`;

const CUSTOMERS = [1, 2, 3].map((i) => ({
  name: `Ada Lovelace${i}`,
  email: `ada${i}@lovelace.example.com`,
  phone: `+44 7700 90012${i}`,
  notes: `write to her at friend${i}@mail.example.org`,
  token: `ghp_${randomBytes(18).toString('hex')}`,
  ref: `CRM-${randomBytes(6).toString('hex')}`,
}));

const ORIGINALS = CUSTOMERS.flatMap((c) => [
  c.name,
  c.email,
  c.phone,
  c.notes,
  c.token,
  c.ref,
  'friend1@mail',
]);

const FULL = `
tables:
  customers:
    id: keep
    name: fake:name
    email: fake:email
    phone: fake:phone
    notes: fake:text
    api_token: "null"
    external_ref: hash
    created_at: keep
    email_lower: keep
  orders:
    id: keep
    customer_id: keep
    customer_ref: hash
    total: keep
    shipping_note: keep
  sessions: drop
  billing.invoices:
    id: keep
    order_id: keep
    billing_email: fake:email
`;

async function seededCopy(name = `${REFRESH_DATABASE_PREFIX}${randomBytes(5).toString('hex')}`) {
  await withAdmin((c) => c.query(`create database "${name}"`));
  made.push(name);
  const url = withDatabase(adminDatabaseUrl(), name);
  await withClient(url, async (c) => {
    await c.query(SEED);
    for (const x of CUSTOMERS) {
      const { rows } = await c.query<{ id: number }>(
        'insert into customers (name, email, phone, notes, api_token, external_ref) values ($1,$2,$3,$4,$5,$6) returning id',
        [x.name, x.email, x.phone, x.notes, x.token, x.ref],
      );
      const id = rows[0]!.id;
      const order = await c.query<{ id: number }>(
        'insert into orders (customer_id, customer_ref, total, shipping_note) values ($1, $2, 10, $3) returning id',
        [id, x.ref, 'leave at the door'],
      );
      await c.query('insert into sessions (customer_id, token) values ($1, $2)', [id, x.token]);
      await c.query('insert into billing.invoices (order_id, billing_email) values ($1, $2)', [
        order.rows[0]!.id,
        x.email,
      ]);
    }
  });
  return url;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Every text value of every column of every table, as text (the whole database's contents). */
const everything = (url: string) =>
  withClient(url, async (c) => {
    const { rows: tables } = await c.query<{ s: string; t: string }>(
      `select table_schema as s, table_name as t from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
    );
    const all: string[] = [];
    for (const { s, t } of tables) {
      const { rows } = await c.query(`select * from "${s}"."${t}" order by 1`);
      all.push(`${s}.${t}: ${JSON.stringify(rows)}`);
    }
    return all.sort().join('\n');
  });

afterEach(async () => {
  for (const name of made.splice(0))
    await withAdmin((c) => c.query(`drop database if exists "${name}" with (force)`));
});

describe('the anonymiser', () => {
  it('refuses a database not named as a refresh copy, changing nothing', async () => {
    const db = await createTestDatabase('prod_lugh');
    try {
      await withClient(db.url, (c) =>
        c.query(
          'create table customers (id int, email text); insert into customers values (1, $$a@b.example.com$$)',
        ),
      );
      const rules: AnonymiseRules = { tables: { 'public.customers': { id: 'keep', email: 'fake:email' } } };
      await expect(anonymise(db.url, rules, KEY)).rejects.toThrow(NotARefreshDatabaseError);
      await expect(anonymise(db.url, rules, KEY)).rejects.toThrow(
        /only a temporary refresh copy \(named lugh_refresh_…\)/,
      );
      const { rows } = await withClient(db.url, (c) => c.query('select email from customers'));
      expect(rows).toEqual([{ email: 'a@b.example.com' }]);
    } finally {
      await db.drop();
    }
  });

  it('refuses a new column the rules do not mention, naming it, before changing anything', async () => {
    const url = await seededCopy();
    await withClient(url, (c) => c.query('alter table customers add column date_of_birth text'));
    const before = await everything(url);
    const error = await anonymise(url, parseAnonymiseRules(FULL), KEY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnmentionedError);
    expect((error as UnmentionedError).unmentioned).toEqual([
      { table: 'public.customers', column: 'date_of_birth' },
    ]);
    expect((error as Error).message).toMatch(/customers\.date_of_birth.*add it to lugh\.anonymise\.yml/);
    expect(await everything(url)).toBe(before);
  });

  it('refuses a table the rules do not mention, and a null rule on a NOT NULL column, changing nothing', async () => {
    const url = await seededCopy();
    await withClient(url, (c) => c.query('create table audit (id int, who text)'));
    const before = await everything(url);
    await expect(anonymise(url, parseAnonymiseRules(FULL), KEY)).rejects.toThrow(/public\.audit \(table\)/);
    const nulled = parseAnonymiseRules(FULL.replace('name: fake:name', 'name: "null"'));
    await withClient(url, (c) => c.query('drop table audit'));
    const error = await anonymise(url, nulled, KEY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RulesMismatchError);
    expect((error as Error).message).toMatch(
      /public\.customers\.name is NOT NULL, so its rule cannot be `null`/,
    );
    expect(await everything(url)).toBe(before.replace(/\npublic\.audit: \[\]/, ''));
  });

  it('leaves no original personal value anywhere; unique columns stay unique, keys and hashes still join, dropped tables stay but empty', async () => {
    const url = await seededCopy();
    const report = await anonymise(url, parseAnonymiseRules(FULL), KEY);
    expect(report).toEqual({ tables: 4, rowsRewritten: 3 + 3 + 3, droppedTables: ['public.sessions'] });
    const contents = await everything(url);
    for (const original of ORIGINALS) expect(contents).not.toContain(original);
    await withClient(url, async (c) => {
      const customers = (await c.query('select * from customers order by id')).rows;
      expect(customers.map((r) => r.email)).toEqual([1, 2, 3].map((n) => `user-${n}@example.invalid`));
      expect(new Set(customers.map((r) => r.external_ref)).size).toBe(3);
      expect(customers.every((r) => r.api_token === null && /^Person \d$/.test(r.name))).toBe(true);
      // The hashed reference in orders still names its customer's hashed reference.
      const joined = await c.query(
        'select count(*)::int as n from orders o join customers c on c.id = o.customer_id and c.external_ref = o.customer_ref',
      );
      expect(joined.rows[0].n).toBe(3);
      const invoices = await c.query(
        'select count(*)::int as n from billing.invoices i join orders o on o.id = i.order_id join customers c on c.id = o.customer_id',
      );
      expect(invoices.rows[0].n).toBe(3);
      expect((await c.query('select count(*)::int as n from sessions')).rows[0].n).toBe(0);
    });
    // Repeatable: the same key makes the same hash of the same value on another copy.
    const again = await seededCopy();
    await anonymise(again, parseAnonymiseRules(FULL), KEY);
    const refs = (u: string) =>
      withClient(u, async (c) => (await c.query('select external_ref from customers order by id')).rows);
    expect(await refs(again)).toEqual(await refs(url));
    // Nothing the scan finds survives in a kept column.
    expect(refusingHandoff(await scanForPersonalValues(url, parseAnonymiseRules(FULL)))).toEqual([]);
  });

  it('fires none of the copy’s own triggers while rewriting (an audit trigger would copy the originals), and leaves them as they were', async () => {
    const url = await seededCopy();
    await withClient(url, (c) =>
      c.query(`
        create table customer_history (id serial primary key, old_email text);
        create function remember() returns trigger language plpgsql as $$
          begin insert into customer_history (old_email) values (old.email); return new; end $$;
        create trigger remember_email after update on customers for each row execute function remember();
        create trigger off_already after update on customers for each row execute function remember();
        alter table customers disable trigger off_already;`),
    );
    const rules = parseAnonymiseRules(`${FULL}  customer_history:\n    id: keep\n    old_email: keep\n`);
    await anonymise(url, rules, KEY);
    const contents = await everything(url);
    for (const original of ORIGINALS) expect(contents).not.toContain(original);
    const triggers = await withClient(
      url,
      async (c) =>
        (await c.query('select tgname, tgenabled from pg_trigger where not tgisinternal order by tgname'))
          .rows,
    );
    expect(triggers).toEqual([
      { tgname: 'off_already', tgenabled: 'D' },
      { tgname: 'remember_email', tgenabled: 'O' },
    ]);
  });

  it('rewrites a partitioned table through its parent (its partitions need no entry of their own)', async () => {
    const url = await seededCopy();
    await withClient(url, (c) =>
      c.query(`
        create table events (id int not null, email text) partition by range (id);
        create table events_low partition of events for values from (0) to (100);
        create table events_high partition of events for values from (100) to (1000);
        insert into events select i * 60, 'ada1@lovelace.example.com' from generate_series(0, 5) i;`),
    );
    const rules = parseAnonymiseRules(`${FULL}  events:\n    id: keep\n    email: fake:email\n`);
    await anonymise(url, rules, KEY);
    const contents = await everything(url);
    for (const original of ORIGINALS) expect(contents).not.toContain(original);
  });

  it('refuses a copy with tables its role cannot see, naming them, before changing anything', async () => {
    const url = await seededCopy();
    const role = await createTestRole('anon');
    try {
      const before = await everything(url);
      const asRole = role.url(new URL(url).pathname.slice(1));
      await expect(anonymise(asRole, parseAnonymiseRules(FULL), KEY)).rejects.toThrow(
        /public\.customers, .*cannot be seen by the role the anonymiser connects as/,
      );
      expect(await everything(url)).toBe(before);
    } finally {
      await role.drop();
    }
  });

  it('refuses a rewritten table with a rewrite rule (DO ALSO copying the old e-mail elsewhere), naming table and rule, before changing anything', async () => {
    const url = await seededCopy();
    await withClient(url, (c) =>
      c.query(`
        create table email_log (id serial primary key, old_email text);
        create rule keep_old_email as on update to customers do also insert into email_log (old_email) values (old.email);
        create view customer_emails as select id, email from customers;`),
    );
    const rules = parseAnonymiseRules(`${FULL}  email_log:\n    id: keep\n    old_email: keep\n`);
    const before = await everything(url);
    const error = await anonymise(url, rules, KEY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RulesMismatchError);
    // The view's own _RETURN rule is not one; the DO ALSO rule is.
    expect((error as Error).message).toMatch(
      /public\.customers has the rewrite rule keep_old_email \(ON UPDATE\), .*DROP RULE keep_old_email ON public\.customers/,
    );
    expect((error as Error).message).not.toMatch(/_RETURN/);
    expect(await everything(url)).toBe(before);
  });

  it('refuses a rewritten table whose row-level security policy would hide rows from its role; the owner (no FORCE) rewrites every row', async () => {
    const url = await seededCopy();
    const role = await createTestRole('rls');
    try {
      await withClient(url, (c) =>
        c.query(`
          grant all on all tables in schema public, billing to ${role.name};
          grant usage on schema billing to ${role.name};
          alter table customers enable row level security;
          create policy only_some on customers using (id <> 2);
          create policy all_orders on orders using (true);`),
      );
      const before = await everything(url);
      const asRole = role.url(new URL(url).pathname.slice(1));
      await expect(anonymise(asRole, parseAnonymiseRules(FULL), KEY)).rejects.toThrow(
        /public\.customers has row-level security .*\(its policies could hide rows from the rewrite, leaving their originals\)/,
      );
      expect(await everything(url)).toBe(before);
      // A table's owner is not held to its policies unless they are forced: every row is rewritten.
      await withClient(url, (c) => c.query(`alter table customers owner to ${role.name}`));
      await anonymise(asRole, parseAnonymiseRules(FULL), KEY);
      const contents = await everything(url);
      for (const original of ORIGINALS) expect(contents).not.toContain(original);
    } finally {
      await withClient(url, (c) => c.query(`drop owned by ${role.name} cascade`));
      await role.drop();
    }
  });

  it('quotes a schema whose name holds a dot (written "a.b".table in the rules)', async () => {
    const url = await seededCopy();
    await withClient(url, (c) =>
      c.query(`
        create schema "a.b";
        create table "a.b".people (id serial primary key, email text);
        insert into "a.b".people (email) values ('ada1@lovelace.example.com');`),
    );
    const rules = parseAnonymiseRules(`${FULL}  '"a.b".people':\n    id: keep\n    email: fake:email\n`);
    await anonymise(url, rules, KEY);
    const contents = await everything(url);
    for (const original of ORIGINALS) expect(contents).not.toContain(original);
    const unmentioned = await anonymise(url, parseAnonymiseRules(FULL), KEY).catch((e: unknown) => e);
    expect((unmentioned as UnmentionedError).unmentioned).toEqual([{ table: '"a.b".people' }]);
  });

  it('the scan reports e-mails and tokens left in kept columns with their counts, never the values', async () => {
    const url = await seededCopy();
    await withClient(url, (c) =>
      c.query(
        `update orders set shipping_note = 'ring ' || (select email from customers where id = customer_id) where id <= 2;
         update orders set shipping_note = 'ghp_' || repeat('aB3', 14) where id = 3`,
      ),
    );
    const rules = parseAnonymiseRules(FULL);
    await anonymise(url, rules, KEY);
    const found = await scanForPersonalValues(url, rules);
    expect(refusingHandoff(found)).toEqual([
      { table: 'public.orders', column: 'shipping_note', kind: 'email', rows: 2, rule: 'keep' },
      { table: 'public.orders', column: 'shipping_note', kind: 'token', rows: 1, rule: 'keep' },
    ]);
    expect(JSON.stringify(found)).not.toMatch(/@|ghp_/);
    expect(await scanKept(url, rules)).toEqual(refusingHandoff(found));
  });
});
