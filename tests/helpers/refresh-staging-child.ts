// Staging's side of /refresh staging in a process of its own, for a test to kill -9 at an
// apply step: node --import tsx tests/helpers/refresh-staging-child.ts, with LUGH_REFRESH_CHILD
// (JSON: see ChildJob) in its environment. At `pauseAt` it writes `pauseFile` and waits
// forever: a step name of the mailbox, or `migrating` (inside a migration's open transaction).
import { appendFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { createRefreshMailbox } from '../../src/refresh/staging-mailbox.js';
import { createLockStore } from '../../src/store/locks.js';
import { createPool } from '../../src/store/pool.js';
import { createRefreshHandoffStore } from '../../src/store/refresh-handoffs.js';

export interface ChildJob {
  readonly dir: string;
  /** Staging's database: its data and its `locks` table (lugh's own DATABASE_URL). */
  readonly databaseUrl: string;
  /** Where staging records the nonces it has seen. */
  readonly booksUrl: string;
  readonly verifyKey: string;
  readonly backupsDir: string;
  readonly pauseAt: string;
  readonly pauseFile: string;
  /** The migration: run in one transaction. */
  readonly migration: string;
}

const job = JSON.parse(process.env.LUGH_REFRESH_CHILD ?? '{}') as ChildJob;
const forever = () => new Promise<never>(() => {});
const pause = async () => {
  writeFileSync(job.pauseFile, 'paused');
  return forever();
};

const mailbox = createRefreshMailbox({
  dir: job.dir,
  verifyKey: job.verifyKey,
  pollMs: 50,
  apply: {
    databaseUrl: job.databaseUrl,
    handoffs: createRefreshHandoffStore(createPool(job.booksUrl, 'refresh-child-books')),
    locks: createLockStore(createPool(job.databaseUrl, 'refresh-child-locks')),
    backupsDir: job.backupsDir,
    keepBackups: 3,
    migrate: async (url) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('BEGIN');
      await client.query(job.migration);
      if (job.pauseAt === 'migrating') await pause();
      await client.query('COMMIT');
      await client.end();
    },
  },
  afterStep: async (_nonce, step) => {
    appendFileSync(`${job.pauseFile}.log`, `${step}\n`);
    if (step === job.pauseAt) await pause();
  },
  report: async (html) => appendFileSync(`${job.pauseFile}.log`, `${html}\n`),
  logger: {
    warn: (o: unknown, m: string) => appendFileSync(`${job.pauseFile}.log`, `${m} ${JSON.stringify(o)}\n`),
  } as never,
});
mailbox.start();
// The mailbox's timer does not hold the process open; this does, until the test kills it.
setInterval(() => {}, 60_000);
