// A staging killed (real SIGKILL of the process applying the refresh) at each step of the
// apply, and a staging started again over the same REFRESH_DIR: the restarted staging ends
// the refresh honestly from the files and the database alone (recover-refresh.ts), staging's
// data is either fully as it was or fully production's and migrated, its deploy lock is
// free, and production, still following the status file, reports the outcome.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import { parseAnonymiseRules } from '../../../src/refresh/anonymise-rules.js';
import { createAnonymiser } from '../../../src/refresh/anonymiser.js';
import { restoreSessionName } from '../../../src/refresh/apply-steps.js';
import { scanKept } from '../../../src/refresh/scan.js';
import { createRefreshMailbox } from '../../../src/refresh/staging-mailbox.js';
import { refreshStaging } from '../../../src/refresh/staging-refresh.js';
import { createLockStore, deployLockName } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool } from '../../../src/store/pool.js';
import { createRefreshHandoffStore } from '../../../src/store/refresh-handoffs.js';
import { silentLogger } from '../../helpers/logger.js';
import type { ChildJob } from '../../helpers/refresh-staging-child.js';
import { dropTemporaryDatabases, LOCKS_TABLE, STAGING_BEFORE } from '../../helpers/refresh-tables.js';
import { createTestDatabase, oneFileAtATime, type TestDatabase } from '../../helpers/services.js';

const CHILD = path.join(import.meta.dirname, '../../helpers/refresh-staging-child.ts');
const RULES_TEXT = `tables:
  customers: { id: keep, email: fake:email }
  locks: drop
`;
const MIGRATION = 'CREATE TABLE IF NOT EXISTS staging_marker (at timestamptz DEFAULT now())';
const keys = generatePromoteKeys();

let prod: TestDatabase;
let staging: TestDatabase;
let books: TestDatabase;
let pool: pg.Pool;
let stagingPool: pg.Pool;
let home: string;

async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}

/** Staging's data: fully old (widgets, no marker), or fully new and migrated (customers and the marker). */
async function stagingState(): Promise<'old' | 'new and migrated' | string> {
  const { rows } = await sql(
    staging.url,
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
  );
  const tables = rows.map((r) => r.t).join(',');
  if (tables === 'locks,widgets') {
    const w = await sql(staging.url, 'SELECT count(*)::int AS n FROM widgets');
    return w.rows[0]?.n === 2 ? 'old' : `old tables, ${w.rows[0]?.n} widgets`;
  }
  if (tables === 'customers,locks,staging_marker') {
    const c = await sql(staging.url, 'SELECT count(*)::int AS n FROM customers');
    return c.rows[0]?.n === 3 ? 'new and migrated' : `new tables, ${c.rows[0]?.n} customers`;
  }
  return `mixed: ${tables}`;
}

async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Refreshes make lugh_refresh_* databases on the shared server, which the refresh files look
// at and clean up server-wide: those files run one at a time.
oneFileAtATime('lugh-refresh-temporary-databases');

beforeAll(async () => {
  prod = await createTestDatabase('prod_restart');
  staging = await createTestDatabase('staging_restart');
  books = await createTestDatabase('books_restart');
  await runMigrations({ databaseUrl: books.url, logger: silentLogger });
  pool = createPool(books.url, 'refresh-restart-test');
  stagingPool = createPool(staging.url, 'refresh-restart-staging');
  home = mkdtempSync(path.join(tmpdir(), 'lugh-refresh-restart-'));
  await sql(
    prod.url,
    `CREATE TABLE customers (id int PRIMARY KEY, email text);
     INSERT INTO customers VALUES (1, 'a@mail.ie'), (2, 'b@mail.ie'), (3, 'c@mail.ie');
     ${LOCKS_TABLE};`,
  );
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await stagingPool?.end();
  if (prod) await dropTemporaryDatabases(prod.url);
  await prod?.drop();
  await staging?.drop();
  await books?.drop();
  if (home) rmSync(home, { recursive: true, force: true });
});

beforeEach(async () => {
  await sql(staging.url, STAGING_BEFORE);
});

function world() {
  const dir = mkdtempSync(path.join(home, 'shared-'));
  const apply = {
    databaseUrl: staging.url,
    handoffs: createRefreshHandoffStore(pool),
    locks: createLockStore(stagingPool),
    backupsDir: path.join(home, 'staging-backups'),
    keepBackups: 3,
    migrate: async (url: string) => {
      await sql(url, MIGRATION);
    },
  };
  const production = refreshStaging(
    {
      prepare: {
        databaseUrl: prod.url,
        backupsDir: path.join(home, 'prod-backups'),
        maxBackupAgeMs: 3_600_000,
        rules: parseAnonymiseRules(RULES_TEXT),
        rulesText: RULES_TEXT,
        sourceCommit: 'a'.repeat(40),
        hashKey: 'refresh-hash-key-for-tests',
        signingKey: keys.signingKey,
        anonymise: createAnonymiser(),
        scan: scanKept,
      },
      dir,
      locks: createLockStore(pool),
      pollMs: 50,
    },
    'Aoife',
  ).then(
    (r) => ({ ok: true as const, rows: r.status.rows }),
    (e: unknown) => ({ ok: false as const, message: String(e) }),
  );
  return { dir, apply, production };
}

function startChild(dir: string, pauseAt: string): { child: ChildProcess; pauseFile: string } {
  const pauseFile = path.join(home, `paused-${pauseAt}-${Date.now()}`);
  const job: ChildJob = {
    dir,
    databaseUrl: staging.url,
    booksUrl: books.url,
    verifyKey: keys.verifyKey,
    backupsDir: path.join(home, 'staging-backups'),
    pauseAt,
    pauseFile,
    migration: MIGRATION,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, LUGH_REFRESH_CHILD: JSON.stringify(job) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return { child, pauseFile };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** The staging started again: a mailbox over the same directory, ending the orphaned refresh. */
async function restartStaging(w: ReturnType<typeof world>) {
  const mailbox = createRefreshMailbox({
    dir: w.dir,
    verifyKey: keys.verifyKey,
    apply: w.apply,
    pollMs: 50,
    staleMs: 0,
  });
  mailbox.start();
  try {
    return await w.production;
  } finally {
    await mailbox.stop();
  }
}

async function expectEndState(w: ReturnType<typeof world>) {
  expect(await createLockStore(stagingPool).held(deployLockName('staging'))).toBeUndefined();
  expect(await until('production to remove its files', () => readdirSync(w.dir).length === 0)).toBe(true);
}

describe('/refresh staging: a staging killed mid-apply and started again', () => {
  it.each([
    ['before the restore', 'restore', 'old'],
    ['after the restore committed, before the migrations', 'migrate', 'new and migrated'],
    ['during the migrations (a migration’s transaction open)', 'migrating', 'new and migrated'],
  ] as const)(
    'killed %s: the restarted staging ends it honestly',
    async (_when, pauseAt, expected) => {
      const w = world();
      const { child, pauseFile } = startChild(w.dir, pauseAt);
      try {
        await until(`the child to reach ${pauseAt}`, () => existsSync(pauseFile), 120_000);
      } finally {
        await kill(child);
      }
      const outcome = await restartStaging(w);
      expect(await stagingState()).toBe(expected);
      if (expected === 'old')
        expect(outcome).toEqual({
          ok: false,
          message: expect.stringMatching(
            /staging: staging restarted during its restore step, before the restore committed: staging’s data is as it was before the refresh/,
          ),
        });
      else expect(outcome).toEqual({ ok: true, rows: expect.objectContaining({ customers: 3 }) });
      await expectEndState(w);
    },
    180_000,
  );

  it.each([
    ['ended by the restarted staging before it can commit', false],
    // Orphaned, psql runs on: it may commit, or die at its next write to the killed process's
    // stderr pipe (SIGPIPE, rolled back). Either way the verdict must match the data.
    ['left to run on until it ends, before the restarted staging looks', true],
  ] as const)(
    'killed while psql restores, the surviving psql session %s',
    async (_what, letCommit) => {
      // A reader of staging's table holds the restore's DROP back, so psql is mid-transaction when killed.
      const blocker = new pg.Client({ connectionString: staging.url });
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE widgets IN ACCESS SHARE MODE');
      let released = false;
      const release = async () => {
        if (released) return;
        released = true;
        await blocker.query('COMMIT');
        await blocker.end();
      };
      try {
        const w = world();
        const { child } = startChild(w.dir, 'none');
        let session: string | undefined;
        try {
          session = await until(
            'psql to wait in the restore',
            async () => {
              const { rows } = await sql(
                staging.url,
                `SELECT application_name AS a FROM pg_stat_activity WHERE application_name LIKE 'lugh-refresh-%' AND wait_event_type = 'Lock'`,
              );
              return rows[0]?.a as string | undefined;
            },
            120_000,
          );
        } finally {
          await kill(child);
        }
        const alive = async () =>
          (await sql(staging.url, 'SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [session]))
            .rowCount;
        expect(await alive()).toBe(1); // psql outlived the process that started it
        if (letCommit) {
          await release();
          await until('the orphaned psql to end', async () => (await alive()) === 0);
        }
        const outcome = await restartStaging(w);
        await release();
        expect(await alive()).toBe(0);
        expect(session).toMatch(
          new RegExp(`^${restoreSessionName('0'.repeat(12)).replace(/0+$/, '')}[0-9a-f]{12}$`),
        );
        const state = await stagingState();
        if (!letCommit) expect(state).toBe('old');
        expect(['old', 'new and migrated']).toContain(state);
        if (state === 'old')
          expect(outcome).toEqual({
            ok: false,
            message: expect.stringContaining(
              'staging restarted during its restore step, before the restore committed',
            ),
          });
        else expect(outcome).toEqual({ ok: true, rows: expect.objectContaining({ customers: 3 }) });
        await expectEndState(w);
      } finally {
        await release().catch(() => {});
      }
    },
    180_000,
  );
  it('a restarted staging that cannot yet tell what happened (its database away) retries, keeps the lock, and after three tries says what to do', async () => {
    const w = world();
    const { child, pauseFile } = startChild(w.dir, 'restore');
    try {
      await until('the child to reach restore', () => existsSync(pauseFile), 120_000);
    } finally {
      await kill(child);
    }
    const held = await createLockStore(stagingPool).held(deployLockName('staging'));
    // Nothing listens on port 9 of loopback: every look at staging's database fails.
    const away = { ...w.apply, databaseUrl: 'postgres://lugh@127.0.0.1:9/staging' };
    const mailbox = createRefreshMailbox({
      dir: w.dir,
      verifyKey: keys.verifyKey,
      apply: away,
      pollMs: 50,
      staleMs: 0,
    });
    mailbox.start();
    try {
      const outcome = await w.production;
      expect(outcome).toEqual({
        ok: false,
        message: expect.stringContaining(
          'staging restarted mid-refresh and could not tell after 3 tries whether the restore committed',
        ),
      });
      expect(outcome.ok ? '' : outcome.message).toContain('ask /refresh staging again');
    } finally {
      await mailbox.stop();
    }
    // The lock the killed staging took is still held: a psql that might commit is never raced.
    expect((await createLockStore(stagingPool).held(deployLockName('staging')))?.owner).toBe(held?.owner);
    expect(await stagingState()).toBe('old');
    await createLockStore(stagingPool).release(deployLockName('staging'), held!.owner);
  }, 180_000);
});
