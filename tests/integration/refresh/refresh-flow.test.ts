// /refresh staging's two halves on real Postgres: production's anonymised, signed dump and
// staging's checked, locked, atomic apply, handed over through a shared directory alone.
// Production and staging each have their own role and database; production's role has
// CREATEDB (the temporary copy is its own). Like lugh's own database, each has a `locks`
// table (staging's deploy lock lives in the database a refresh replaces; the rules drop
// production's). The anonymiser and the scan are J3's (src/refresh/anonymiser.ts, scan.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import { backupDatabase } from '../../../src/deployer/backup.js';
import { createDeploymentLock } from '../../../src/deployer/deploy-lock.js';
import { LockedError } from '../../../src/deployer/errors.js';
import type { AnonymiseRules } from '../../../src/refresh/anonymise.js';
import { parseAnonymiseRules } from '../../../src/refresh/anonymise-rules.js';
import { createAnonymiser } from '../../../src/refresh/anonymiser.js';
import {
  APPLY_STEPS,
  type ApplyOptions,
  applyRefreshDump,
  replaceDatabase,
} from '../../../src/refresh/apply-dump.js';
import { RefreshRefusedError } from '../../../src/refresh/errors.js';
import { mailboxFile, sweepLeftoverFiles, writeAtomic } from '../../../src/refresh/mailbox.js';
import { PREPARE_STEPS, type PrepareOptions, prepareRefreshDump } from '../../../src/refresh/prepare-dump.js';
import { scanKept } from '../../../src/refresh/scan.js';
import { createRefreshMailbox } from '../../../src/refresh/staging-mailbox.js';
import {
  NO_PICKUP,
  REFRESH_LOCK,
  type RefreshProgress,
  refreshStaging,
} from '../../../src/refresh/staging-refresh.js';
import {
  createTemporaryDatabase,
  listTemporaryDatabases,
  sweepLeftovers,
} from '../../../src/refresh/temporary-database.js';
import type { DeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore, deployLockName, deploymentOwner } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool } from '../../../src/store/pool.js';
import { createRefreshHandoffStore } from '../../../src/store/refresh-handoffs.js';
import { silentLogger } from '../../helpers/logger.js';
import { dropTemporaryDatabases, LOCKS_TABLE, STAGING_BEFORE } from '../../helpers/refresh-tables.js';
import {
  createTestDatabase,
  createTestRole,
  oneFileAtATime,
  type TestDatabase,
  type TestRole,
  withAdmin,
} from '../../helpers/services.js';

const SOURCE = 'a'.repeat(40);
const PEOPLE = [
  { name: 'Aoife Byrne', email: 'aoife.byrne@mail.ie', phone: '+353861234567' },
  { name: 'Cian Walsh', email: 'cian@walsh.example.com', phone: '+353871112223' },
];

const RULES_TEXT = `tables:
  customers:
    id: keep
    name: fake:name
    email: fake:email
    phone: fake:phone
    loyalty_code: hash
  orders:
    id: keep
    customer_id: keep
    total: keep
  locks: drop
`;
const RULES: AnonymiseRules = parseAnonymiseRules(RULES_TEXT);

let prodRole: TestRole;
let stagingRole: TestRole;
let prod: TestDatabase;
let staging: TestDatabase;
let books: TestDatabase;
let pool: pg.Pool;
let stagingPool: pg.Pool;
let home: string;
const keys = generatePromoteKeys();

async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

async function stagingContent(): Promise<unknown> {
  const { rows } = await sql(staging.url, 'SELECT id, label FROM widgets ORDER BY id');
  const tables = await sql(
    staging.url,
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'locks' ORDER BY 1`,
  );
  return { rows, tables: tables.rows.map((r) => r.table_name) };
}

function prepareOptions(over: Partial<PrepareOptions> = {}): PrepareOptions {
  return {
    databaseUrl: prod.url,
    backupsDir: path.join(home, 'prod-backups'),
    maxBackupAgeMs: 24 * 3600_000,
    outDir: path.join(home, 'handoff'),
    rules: RULES,
    rulesText: RULES_TEXT,
    sourceCommit: SOURCE,
    hashKey: 'refresh-hash-key-for-tests',
    signingKey: keys.signingKey,
    anonymise: createAnonymiser(),
    scan: scanKept,
    ...over,
  };
}

function applyOptions(dumpFile: string, handoff: unknown, over: Partial<ApplyOptions> = {}): ApplyOptions {
  return {
    databaseUrl: staging.url,
    dumpFile,
    handoff,
    verifyKey: keys.verifyKey,
    handoffs: createRefreshHandoffStore(pool),
    locks: createLockStore(stagingPool),
    backupsDir: path.join(home, 'staging-backups'),
    keepBackups: 3,
    migrate: async (url) => {
      await sql(url, 'CREATE TABLE IF NOT EXISTS staging_marker (at timestamptz DEFAULT now())');
    },
    ...over,
  };
}

// Refreshes make lugh_refresh_* databases on the shared server, which the refresh files look
// at and clean up server-wide: those files run one at a time.
oneFileAtATime('lugh-refresh-temporary-databases');

beforeAll(async () => {
  prodRole = await createTestRole('prod');
  stagingRole = await createTestRole('staging');
  await withAdmin((c) => c.query(`ALTER ROLE "${prodRole.name}" CREATEDB`));
  prod = await createTestDatabase('prod_app', { owner: prodRole });
  staging = await createTestDatabase('staging_app', { owner: stagingRole });
  books = await createTestDatabase('staging_lugh');
  await runMigrations({ databaseUrl: books.url, logger: silentLogger });
  pool = createPool(books.url, 'refresh-test');
  stagingPool = createPool(staging.url, 'refresh-test-staging');
  home = mkdtempSync(path.join(tmpdir(), 'lugh-refresh-test-'));
  await sql(
    prod.url,
    `CREATE TABLE customers (id int PRIMARY KEY, name text, email text, phone text, loyalty_code text);
     CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers, total numeric);
     INSERT INTO customers VALUES
       (1, '${PEOPLE[0]?.name}', '${PEOPLE[0]?.email}', '${PEOPLE[0]?.phone}', 'LC-1'),
       (2, '${PEOPLE[1]?.name}', '${PEOPLE[1]?.email}', '${PEOPLE[1]?.phone}', 'LC-2');
     INSERT INTO orders VALUES (10, 1, 12.5), (11, 2, 3), (12, 2, 7);
     ${LOCKS_TABLE};
     INSERT INTO locks (name, owner, reason, expires_at) VALUES ('deploy:production', 'deployment:1', 'deploy', now() + interval '1 hour');`,
  );
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await stagingPool?.end();
  if (prod) await dropTemporaryDatabases(prod.url);
  await prod?.drop();
  await staging?.drop();
  await books?.drop();
  await prodRole?.drop();
  await stagingRole?.drop();
  if (home) rmSync(home, { recursive: true, force: true });
});

beforeEach(async () => {
  // Staging's own content before each refresh: what an interrupted one must leave.
  await sql(staging.url, STAGING_BEFORE);
  await pool.query('DELETE FROM locks');
});

describe('/refresh staging: production prepares, staging applies', () => {
  it('refuses a column the rules do not mention, naming it, and leaves no temporary database', async () => {
    await sql(prod.url, 'ALTER TABLE customers ADD COLUMN passport text');
    try {
      await expect(prepareRefreshDump(prepareOptions())).rejects.toThrow(
        /customers\.passport.*add it to lugh\.anonymise\.yml/,
      );
    } finally {
      await sql(prod.url, 'ALTER TABLE customers DROP COLUMN passport');
    }
    expect(await listTemporaryDatabases(prod.url)).toEqual([]);
    expect(readdirSync(path.join(home, 'handoff'))).toEqual([]);
  });

  it('refuses personal values surviving in a keep column', async () => {
    const rules = parseAnonymiseRules(RULES_TEXT.replace('email: fake:email', 'email: keep'));
    const error = await prepareRefreshDump(prepareOptions({ rules })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefreshRefusedError);
    expect(String(error)).toContain('customers.email (2 emails)');
    expect(await listTemporaryDatabases(prod.url)).toEqual([]);
  });

  it('refreshes staging with anonymised data: no original personal value in any text column', async () => {
    const prepared = await prepareRefreshDump(prepareOptions());
    expect(prepared.source).toBe('a fresh pg_dump');
    expect(await listTemporaryDatabases(prod.url)).toEqual([]);
    const applied = await applyRefreshDump(applyOptions(prepared.file, prepared.handoff));
    expect(applied.rows).toMatchObject({ customers: 2, orders: 3 });
    expect(applied.backup).toMatch(/^staging-pre-restore-\d{8}T\d{6}Z-aaaaaaa\.dump$/);
    expect(readdirSync(path.join(home, 'staging-backups'))).toContain(applied.backup);

    // Every text-like column of every table of staging's database, against every original value.
    const originals = PEOPLE.flatMap((p) => [p.name, p.email, p.phone]).concat(['LC-1', 'LC-2']);
    const cols = await sql(
      staging.url,
      `SELECT table_schema AS s, table_name AS t, column_name AS c FROM information_schema.columns
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
          AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')`,
    );
    expect(cols.rows.length).toBeGreaterThanOrEqual(4);
    for (const { s, t, c } of cols.rows) {
      const { rows } = await sql(staging.url, `SELECT "${c}"::text AS v FROM "${s}"."${t}"`);
      for (const { v } of rows) for (const o of originals) expect(String(v ?? '')).not.toContain(o);
    }
    const totals = await sql(staging.url, 'SELECT sum(total)::text AS s FROM orders');
    expect(totals.rows[0]?.s).toBe('22.5');
    // Staging's own tables are gone, its migrations ran on the restored data.
    const tables = await sql(
      staging.url,
      `SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
    );
    expect(tables.rows).toEqual(
      ['customers', 'locks', 'orders', 'staging_marker'].map((t) => ({
        tablename: t,
        tableowner: stagingRole.name,
      })),
    );
    // Production's locks were dropped by the rules; staging's deploy lock is free again.
    expect((await sql(staging.url, 'SELECT name, owner FROM locks')).rows).toEqual([]);

    // The same handoff again: a replay.
    await expect(applyRefreshDump(applyOptions(prepared.file, prepared.handoff))).rejects.toThrow(/replay/);
  });

  it('keeps every handoff once-only when staging’s records live in the database refreshed', async () => {
    // lugh deploys itself: staging's refresh_handoffs is in the database the dump replaces.
    const own = createPool(staging.url, 'refresh-own-records');
    try {
      const create =
        'CREATE TABLE IF NOT EXISTS refresh_handoffs (nonce text PRIMARY KEY, sha256 text NOT NULL, source_commit text NOT NULL, received_at timestamptz NOT NULL DEFAULT now())';
      await sql(staging.url, create);
      const shared = {
        handoffs: createRefreshHandoffStore(own),
        migrate: (url: string) => sql(url, create).then(() => {}),
      };
      const first = await prepareRefreshDump(prepareOptions());
      const firstCopy = path.join(home, 'first-copy.dump');
      writeFileSync(firstCopy, readFileSync(first.file));
      await applyRefreshDump(applyOptions(first.file, first.handoff, shared));
      const second = await prepareRefreshDump(prepareOptions());
      await applyRefreshDump(applyOptions(second.file, second.handoff, shared));
      await expect(applyRefreshDump(applyOptions(firstCopy, first.handoff, shared))).rejects.toThrow(
        /replay/,
      );
      const { rows } = await sql(staging.url, 'SELECT nonce FROM refresh_handoffs ORDER BY nonce');
      expect(rows.map((r) => r.nonce).sort()).toEqual([first.handoff.nonce, second.handoff.nonce].sort());
    } finally {
      await own.end();
    }
  });

  it('refuses a tampered handoff: a changed byte, a changed claim, the wrong key', async () => {
    const prepared = await prepareRefreshDump(prepareOptions());
    const before = await stagingContent();
    const bytes = readFileSync(prepared.file);
    const changed = Buffer.from(bytes);
    changed[Math.floor(changed.length / 2)] = (changed[Math.floor(changed.length / 2)] ?? 0) ^ 1;
    const tampered = path.join(home, 'tampered.dump');
    writeFileSync(tampered, changed);
    await expect(applyRefreshDump(applyOptions(tampered, prepared.handoff))).rejects.toThrow(
      /not the one production signed/,
    );
    await expect(
      applyRefreshDump(applyOptions(prepared.file, { ...prepared.handoff, sourceCommit: 'b'.repeat(40) })),
    ).rejects.toThrow(/does not verify with REFRESH_VERIFY_KEY/);
    await expect(
      applyRefreshDump(
        applyOptions(prepared.file, prepared.handoff, { verifyKey: generatePromoteKeys().verifyKey }),
      ),
    ).rejects.toThrow(/does not verify/);
    await expect(
      applyRefreshDump(applyOptions(prepared.file, prepared.handoff, { verifyKey: undefined })),
    ).rejects.toThrow(/no REFRESH_VERIFY_KEY/);
    expect(await stagingContent()).toEqual(before);
  });

  it('is refused while a staging deploy holds the lock, and holds it against deploys while it runs', async () => {
    const prepared = await prepareRefreshDump(prepareOptions());
    const locks = createLockStore(stagingPool);
    await locks.acquire({
      name: deployLockName('staging'),
      owner: deploymentOwner(7),
      reason: 'deploy',
      ttlMs: 60_000,
    });
    await expect(applyRefreshDump(applyOptions(prepared.file, prepared.handoff))).rejects.toThrow(
      /staging is locked by deployment:7/,
    );
    await locks.release(deployLockName('staging'), deploymentOwner(7));

    const again = await prepareRefreshDump(prepareOptions());
    let deployDuringRestore: unknown;
    let deployRefusal: unknown;
    await applyRefreshDump(
      applyOptions(again.file, again.handoff, {
        onStep: async (step) => {
          if (step !== 'restore') return;
          deployDuringRestore = await locks.acquire({
            name: deployLockName('staging'),
            owner: deploymentOwner(8),
            reason: 'deploy',
            ttlMs: 60_000,
          });
          // What a staging deploy does first (deploy-lock.ts): refused, saying a refresh holds it.
          deployRefusal = await createDeploymentLock({
            locks,
            deployments: {} as DeploymentStore,
            env: 'staging',
            deploymentId: 9,
            reason: 'deploy',
            ttlMs: 1_000,
          })
            .take()
            .catch((e: unknown) => e);
        },
      }),
    );
    expect(deployRefusal).toBeInstanceOf(LockedError);
    expect(String(deployRefusal)).toMatch(
      /staging is locked by refresh:[0-9a-f]{12} \(a refresh from production’s data/,
    );
    expect(deployDuringRestore).toMatchObject({
      acquired: false,
      holder: { owner: expect.stringMatching(/^refresh:/) },
    });
    expect(await locks.held(deployLockName('staging'))).toBeUndefined();
  });

  it.each(PREPARE_STEPS)(
    'an interruption at production step %s leaves no temporary database and staging as it was',
    async (at) => {
      const before = await stagingContent();
      await expect(
        prepareRefreshDump(
          prepareOptions({
            onStep: async (step) => {
              if (step === at) throw new Error(`killed at ${step}`);
            },
          }),
        ),
      ).rejects.toThrow(`killed at ${at}`);
      expect(await listTemporaryDatabases(prod.url)).toEqual([]);
      expect(
        readdirSync(path.join(home, 'handoff')).filter(
          (f) => !f.startsWith('refresh-') || f.endsWith('.partial'),
        ),
      ).toEqual([]);
      expect(await stagingContent()).toEqual(before);
    },
  );

  it.each(APPLY_STEPS.filter((s) => s !== 'count'))(
    'an interruption at staging step %s leaves staging as it was and its lock free',
    async (at) => {
      const prepared = await prepareRefreshDump(prepareOptions());
      const before = await stagingContent();
      await expect(
        applyRefreshDump(
          applyOptions(prepared.file, prepared.handoff, {
            onStep: async (step) => {
              if (step === at) throw new Error(`killed at ${step}`);
            },
          }),
        ),
      ).rejects.toThrow(`killed at ${at}`);
      expect(await stagingContent()).toEqual(before);
      expect(await createLockStore(stagingPool).held(deployLockName('staging'))).toBeUndefined();
    },
  );

  it('a restore whose session is killed mid-transaction leaves staging as it was', async () => {
    // A dump big enough that its COPY is still running when the test kills the session:
    // what a kill -9 of the restoring process comes to on the server.
    const big = await createTestDatabase('refresh_big');
    try {
      await sql(
        big.url,
        'CREATE TABLE bulk (id int, v text); INSERT INTO bulk SELECT i, md5(i::text) FROM generate_series(1, 400000) i',
      );
      const dump = await backupDatabase(
        { databaseUrl: big.url, dir: path.join(home, 'big'), keep: 1 },
        { env: 'big', sha: SOURCE },
      );
      const before = await stagingContent();
      const restoring = replaceDatabase(staging.url, dump.file).catch((e: unknown) => e);
      let killed = false;
      for (let i = 0; i < 600 && !killed; i++) {
        const { rows } = await sql(
          staging.url,
          `SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'psql' AND query LIKE 'COPY%'`,
        );
        killed = rows.some((r) => r.t === true);
        if (!killed) await new Promise((r) => setTimeout(r, 20));
      }
      expect(killed).toBe(true);
      expect(String(await restoring)).toMatch(/the restore failed/);
      expect(await stagingContent()).toEqual(before);
    } finally {
      await big.drop();
    }
  });

  it('a failing migration puts staging back from its pre-refresh backup, and says so', async () => {
    const prepared = await prepareRefreshDump(prepareOptions());
    const before = await stagingContent();
    await expect(
      applyRefreshDump(
        applyOptions(prepared.file, prepared.handoff, {
          migrate: async () => {
            throw new Error('migration 0042 failed');
          },
        }),
      ),
    ).rejects.toThrow(
      /^staging's migrations failed on production's data \(migration 0042 failed\); staging's own data was put back from \S+, as it was before the refresh$/,
    );
    expect(await stagingContent()).toEqual(before);
  });

  it('sweeps temporary databases a killed refresh left, older than an hour, and only those', async () => {
    const old = await createTemporaryDatabase(prod.url, new Date(Date.now() - 2 * 3600_000));
    const young = await createTemporaryDatabase(prod.url);
    expect(await sweepLeftovers(prod.url)).toEqual([old.name]);
    // And the files a killed refresh left in the shared directory.
    const dir = mkdtempSync(path.join(home, 'leftovers-'));
    const stale = `refresh-${'1'.repeat(32)}.dump`;
    const fresh = `refresh-${'2'.repeat(32)}.dump`;
    writeFileSync(path.join(dir, stale), 'x');
    writeFileSync(path.join(dir, fresh), 'x');
    writeFileSync(path.join(dir, 'unrelated.txt'), 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(path.join(dir, stale), twoHoursAgo, twoHoursAgo);
    utimesSync(path.join(dir, 'unrelated.txt'), twoHoursAgo, twoHoursAgo);
    expect(sweepLeftoverFiles(dir, new Date())).toEqual([stale]);
    expect(readdirSync(dir).sort()).toEqual([fresh, 'unrelated.txt']);
    expect(await listTemporaryDatabases(prod.url)).toEqual([young.name]);
    await sql(prod.url, `DROP DATABASE "${young.name}"`);
  });

  describe('through the shared directory alone', () => {
    async function world(over: { verifyKey?: string; mailbox?: boolean } = {}) {
      const reports: string[] = [];
      const dir = mkdtempSync(path.join(home, 'shared-'));
      const mailbox = createRefreshMailbox({
        dir,
        verifyKey: 'verifyKey' in over ? over.verifyKey : keys.verifyKey,
        apply: (({ dumpFile: _d, handoff: _h, verifyKey: _v, ...rest }) => rest)(applyOptions('', undefined)),
        report: async (html) => {
          reports.push(html);
        },
        pollMs: 50,
      });
      if (over.mailbox !== false) mailbox.start();
      const { outDir: _o, onStep: _s, ...prepare } = prepareOptions();
      return {
        reports,
        dir,
        mailbox,
        close: () => mailbox.stop(),
        options: { prepare, dir, locks: createLockStore(pool), pollMs: 50 },
      };
    }

    it('refreshes staging end to end, following staging’s steps, and leaves nothing in the shared directory', async () => {
      const w = await world();
      try {
        const progress: RefreshProgress[] = [];
        const result = await refreshStaging(w.options, 'Aoife', async (p) => {
          progress.push(p);
        });
        expect(result.status.rows).toMatchObject({ customers: 2, orders: 3 });
        expect(progress.filter((p) => p.side === 'production').map((p) => p.step)).toEqual([
          ...PREPARE_STEPS,
        ]);
        expect(progress.filter((p) => p.side === 'staging').map((p) => p.step)).toContain('restore');
        expect(w.reports).toEqual([
          expect.stringMatching(/^✅ staging now holds production’s anonymised data/),
        ]);
        expect(readdirSync(w.dir)).toEqual([]);
        expect(await createLockStore(pool).held(REFRESH_LOCK)).toBeUndefined();
        expect(await createLockStore(stagingPool).held(deployLockName('staging'))).toBeUndefined();
        const emails = await sql(staging.url, 'SELECT email FROM customers');
        expect(emails.rows.every((r) => String(r.email).endsWith('@example.invalid'))).toBe(true);
      } finally {
        await w.close();
      }
    });

    it('no staging picks the handoff up: production says so after the wait and removes its files', async () => {
      const w = await world({ mailbox: false });
      const before = await stagingContent();
      await expect(refreshStaging({ ...w.options, pickupMs: 300 }, 'Aoife')).rejects.toThrow(NO_PICKUP);
      expect(NO_PICKUP).toBe(
        'staging did not pick up the refresh within 2 min: is FEATURE_STAGING_REFRESH on there, and does it mount the same REFRESH_DIR?',
      );
      expect(readdirSync(w.dir)).toEqual([]);
      expect(await stagingContent()).toEqual(before);
      expect(await listTemporaryDatabases(prod.url)).toEqual([]);
      expect(await createLockStore(pool).held(REFRESH_LOCK)).toBeUndefined();
    });

    it('a handoff staging cannot verify is answered in its status file; production’s error says why', async () => {
      const w = await world({ verifyKey: generatePromoteKeys().verifyKey });
      try {
        const before = await stagingContent();
        await expect(refreshStaging(w.options, 'Aoife')).rejects.toThrow(
          'staging: refused the refresh: the signature does not verify with REFRESH_VERIFY_KEY; staging was not changed',
        );
        expect(await stagingContent()).toEqual(before);
        expect(readdirSync(w.dir)).toEqual([]);
        expect(w.reports).toEqual([expect.stringMatching(/^❌ The refresh from production failed: refused/)]);
      } finally {
        await w.close();
      }
    });

    it('a tampered handoff or dump dropped in the directory is refused in the status file; staging unchanged', async () => {
      const w = await world({ mailbox: false });
      const prepared = await prepareRefreshDump({ ...prepareOptions(), outDir: w.dir });
      const before = await stagingContent();
      const nonce = prepared.handoff.nonce;
      writeAtomic(
        w.dir,
        mailboxFile.handoff(nonce),
        JSON.stringify({ ...prepared.handoff, sourceCommit: 'b'.repeat(40) }),
      );
      await w.mailbox.poll();
      expect(JSON.parse(readFileSync(path.join(w.dir, mailboxFile.status(nonce)), 'utf8'))).toEqual({
        state: 'failed',
        message:
          'refused the refresh: the signature does not verify with REFRESH_VERIFY_KEY; staging was not changed',
      });
      // Claimed once: another poll does not answer it again.
      await w.mailbox.poll();
      expect(w.reports).toHaveLength(1);
      expect(await stagingContent()).toEqual(before);
    });

    it('a staging without REFRESH_VERIFY_KEY answers in the status file saying what to set', async () => {
      const w = await world({ verifyKey: undefined });
      try {
        const before = await stagingContent();
        await expect(refreshStaging(w.options, 'Aoife')).rejects.toThrow(
          'staging: REFRESH_VERIFY_KEY is not set on staging: `lugh keys` prints a pair; put its line in .env.staging.local. Staging was not changed',
        );
        expect(await stagingContent()).toEqual(before);
        expect(readdirSync(w.dir)).toEqual([]);
      } finally {
        await w.close();
      }
    });

    it('a malformed status file is a clear error in production, never a crash', async () => {
      const w = await world({ mailbox: false });
      const refreshing = refreshStaging(w.options, 'Aoife').catch((e: unknown) => e);
      let nonce: string | undefined;
      for (let i = 0; i < 600 && !nonce; i++) {
        nonce = readdirSync(w.dir)
          .map((f) => /^refresh-([0-9a-f]{32})\.handoff\.json$/.exec(f)?.[1])
          .find(Boolean);
        if (!nonce) await new Promise((r) => setTimeout(r, 50));
      }
      expect(nonce).toBeDefined();
      writeAtomic(w.dir, mailboxFile.status(nonce!), '{"state":"running","step":"teleport"}');
      const error = await refreshing;
      expect(error).toBeInstanceOf(RefreshRefusedError);
      expect(String(error)).toMatch(
        /staging’s refresh-[0-9a-f]{32}\.status\.json in REFRESH_DIR is not a status lugh writes \(step: .*\); are both instances on the same lugh version\?/,
      );
      expect(readdirSync(w.dir)).toEqual([]);
    });

    it('refuses a second refresh while one runs', async () => {
      const w = await world();
      try {
        const locks = createLockStore(pool);
        await locks.acquire({
          name: REFRESH_LOCK,
          owner: 'refresh:other',
          reason: '/refresh staging by Cian',
          ttlMs: 60_000,
        });
        await expect(refreshStaging(w.options, 'Aoife')).rejects.toThrow(
          /a refresh of staging is running already \(\/refresh staging by Cian/,
        );
        await locks.release(REFRESH_LOCK, 'refresh:other');
      } finally {
        await w.close();
      }
    });
  });
});
