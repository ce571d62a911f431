// Figures for the anonymiser (#19): a copy of ROWS customers (name, e-mail, phone, a note, a
// token, a hashed reference) and as many orders, on the real Postgres server.
// - rewrite: the catalog comparison and every table's rewrite (fakes, hashes, nulls, a drop);
// - scan: every text column searched for e-mails, phones and tokens afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseAnonymiseRules } from '../src/refresh/anonymise-rules.js';
import { createAnonymiser, REFRESH_DATABASE_PREFIX } from '../src/refresh/anonymiser.js';
import { scanForPersonalValues } from '../src/refresh/scan.js';
import { record } from './figures.js';

const ROWS = Number(process.env.BENCH_ANONYMISE_ROWS ?? 100_000);

const SEED = `
create table customers (id serial primary key, name text not null, email text not null unique,
  phone text, notes text, api_token text, external_ref text unique);
create table orders (id serial primary key, customer_id int not null references customers(id),
  customer_ref text, shipping_note text);
create table sessions (id serial primary key, token text);
insert into customers (name, email, phone, notes, api_token, external_ref)
  select 'Name ' || i, 'person' || i || '@mail.example.com', '+44 7700 ' || lpad(i::text, 6, '0'),
         'call me at person' || i || '@mail.example.com', 'ghp_' || md5(i::text) || 'abcd', 'CRM-' || i
    from generate_series(1, $ROWS) i;
insert into orders (customer_id, customer_ref, shipping_note)
  select i, 'CRM-' || i, 'leave at the door' from generate_series(1, $ROWS) i;
insert into sessions (token) select md5(i::text) from generate_series(1, $ROWS) i;
`;

const RULES = parseAnonymiseRules(`
tables:
  customers: { id: keep, name: fake:name, email: fake:email, phone: fake:phone, notes: fake:text, api_token: "null", external_ref: hash }
  orders: { id: keep, customer_id: keep, customer_ref: hash, shipping_note: keep }
  sessions: drop
`);

export async function benchAnonymise(databaseUrl: string): Promise<void> {
  const name = `${REFRESH_DATABASE_PREFIX}bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client(databaseUrl);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  try {
    const seed = new pg.Client(url.toString());
    await seed.connect();
    await seed.query(SEED.replaceAll('$ROWS', String(ROWS)));
    await seed.query('VACUUM ANALYZE');
    await seed.end();

    const started = performance.now();
    const report = await createAnonymiser()(url.toString(), RULES, 'bench-hash-key');
    const rewritten = performance.now();
    const found = await scanForPersonalValues(url.toString(), RULES);
    const scanned = performance.now();
    if (found.some((f) => f.rule === 'keep' || f.rule === undefined))
      throw new Error('anonymise bench: personal values survived the rewrite');
    record({
      key: 'anonymise.rewrite',
      label: `anonymise a copy of ${ROWS} customers and ${ROWS} orders (catalog check, rewrite, drop)`,
      value: (rewritten - started) / 1000,
      unit: 's',
      note: `${report.rowsRewritten} rows rewritten`,
    });
    record({
      key: 'anonymise.scan',
      label: `scan every text column of that copy for e-mails, phones and tokens`,
      value: (scanned - rewritten) / 1000,
      unit: 's',
    });
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
