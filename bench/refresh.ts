// Figures for /refresh staging (#19): production's half (a temporary copy restored from a
// fresh pg_dump, anonymised, scanned, dumped, signed, dropped) and staging's (verify, its own
// backup, the dump applied in one transaction, migrations), on ROWS customers and orders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { generatePromoteKeys } from '../src/config/promote-keys.js';
import { createLogger } from '../src/logger.js';
import { parseAnonymiseRules } from '../src/refresh/anonymise-rules.js';
import { createAnonymiser } from '../src/refresh/anonymiser.js';
import { applyRefreshDump } from '../src/refresh/apply-dump.js';
import { prepareRefreshDump } from '../src/refresh/prepare-dump.js';
import { scanKept } from '../src/refresh/scan.js';
import { createLockStore } from '../src/store/locks.js';
import { runMigrations } from '../src/store/migrate.js';
import { createPool } from '../src/store/pool.js';
import { createRefreshHandoffStore } from '../src/store/refresh-handoffs.js';
import { LOCKS_TABLE } from '../tests/helpers/refresh-tables.js';
import { record } from './figures.js';

const ROWS = Number(process.env.BENCH_REFRESH_ROWS ?? 50_000);
const RULES_TEXT = `tables:
  customers: { id: keep, name: fake:name, email: fake:email, phone: fake:phone, notes: fake:text }
  orders: { id: keep, customer_id: keep, total: keep }
  locks: drop
`;
// lugh's own lock table (migrations/0001): the database a refresh replaces holds staging's
// deploy lock, which the restore's transaction takes again as its last statement.

async function run(url: string, sql: string): Promise<void> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export async function benchRefresh(adminUrl: string): Promise<void> {
  const suffix = Math.random().toString(16).slice(2, 10);
  const names = {
    prod: `bench_refresh_prod_${suffix}`,
    staging: `bench_refresh_staging_${suffix}`,
    books: `bench_refresh_books_${suffix}`,
  };
  const urlOf = (db: string) => Object.assign(new URL(adminUrl), { pathname: `/${db}` }).toString();
  for (const db of Object.values(names)) await run(adminUrl, `CREATE DATABASE ${db}`);
  const home = mkdtempSync(path.join(tmpdir(), 'lugh-bench-refresh-'));
  const logger = createLogger({ level: 'silent', secrets: [] });
  const pool = createPool(urlOf(names.books), 'bench-refresh');
  const stagingPool = createPool(urlOf(names.staging), 'bench-refresh-staging');
  try {
    await runMigrations({ databaseUrl: urlOf(names.books), logger });
    await run(
      urlOf(names.prod),
      `CREATE TABLE customers (id int PRIMARY KEY, name text, email text, phone text, notes text);
       CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers, total numeric);
       INSERT INTO customers SELECT i, 'Name ' || i, 'person' || i || '@mail.example.com',
         '+44 7700 ' || lpad(i::text, 6, '0'), 'note ' || i FROM generate_series(1, ${ROWS}) i;
       INSERT INTO orders SELECT i, i, i % 100 FROM generate_series(1, ${ROWS}) i;
       ${LOCKS_TABLE};`,
    );
    await run(
      urlOf(names.staging),
      `CREATE TABLE widgets (id int PRIMARY KEY); INSERT INTO widgets VALUES (1); ${LOCKS_TABLE};`,
    );
    const keys = generatePromoteKeys();
    const started = performance.now();
    const prepared = await prepareRefreshDump({
      databaseUrl: urlOf(names.prod),
      backupsDir: path.join(home, 'none'),
      maxBackupAgeMs: 3_600_000,
      outDir: path.join(home, 'shared'),
      rules: parseAnonymiseRules(RULES_TEXT),
      rulesText: RULES_TEXT,
      sourceCommit: 'a'.repeat(40),
      hashKey: 'bench-refresh-hash-key',
      signingKey: keys.signingKey,
      anonymise: createAnonymiser(),
      scan: scanKept,
    });
    const preparedAt = performance.now();
    const applied = await applyRefreshDump({
      databaseUrl: urlOf(names.staging),
      dumpFile: prepared.file,
      handoff: prepared.handoff,
      verifyKey: keys.verifyKey,
      handoffs: createRefreshHandoffStore(pool),
      locks: createLockStore(stagingPool),
      backupsDir: path.join(home, 'backups'),
      keepBackups: 2,
      migrate: async () => {},
    });
    const appliedAt = performance.now();
    if (applied.rows.customers !== ROWS) throw new Error('refresh bench: staging lacks the customers');
    record({
      key: 'refresh.production',
      label: `/refresh staging, production's half on ${ROWS} customers and orders (fresh pg_dump, copy, anonymise, scan, dump, drop)`,
      value: (preparedAt - started) / 1000,
      unit: 's',
      note: `dump ${Math.round(prepared.handoff.bytes / 1024)} KiB`,
    });
    record({
      key: 'refresh.staging',
      label: `/refresh staging, staging's half (verify, its own backup, the dump in one transaction)`,
      value: (appliedAt - preparedAt) / 1000,
      unit: 's',
    });
  } finally {
    await pool.end();
    await stagingPool.end();
    rmSync(home, { recursive: true, force: true });
    for (const db of Object.values(names)) await run(adminUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  }
}
