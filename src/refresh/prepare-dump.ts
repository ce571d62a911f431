// Production's half of /refresh staging: a temporary copy of production's database,
// anonymised by the rules, scanned, dumped and signed. Production's own database is only
// ever read (its latest backup, or a fresh pg_dump); the copy is dropped whatever happens.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { backupDatabase, parseBackupFile, restoreDatabase } from '../deployer/backup.js';
import type { Anonymise, AnonymiseReport, AnonymiseRules, SurvivingValue } from './anonymise.js';
import { RefreshRefusedError } from './errors.js';
import { mailboxFile, publishFile, sweepLeftoverFiles } from './mailbox.js';
import { type RefreshHandoff, signRefresh } from './refresh-handoff.js';
import { createTemporaryDatabase, dropTemporaryDatabase, sweepLeftovers } from './temporary-database.js';

/** The steps production announces, in order. */
export const PREPARE_STEPS = ['copy', 'restore', 'anonymise', 'scan', 'dump', 'sign'] as const;
export type PrepareStep = (typeof PREPARE_STEPS)[number];

/** Values that look personal left in `keep` columns of the anonymised copy (J3's scan). */
export type ScanKept = (databaseUrl: string, rules: AnonymiseRules) => Promise<readonly SurvivingValue[]>;

export interface PrepareOptions {
  /** Production's database (the one deploys back up); read only, and the role that creates the copy. */
  readonly databaseUrl: string;
  /** LUGH_HOME/backups: the latest `production-*.dump` is the source when young enough. */
  readonly backupsDir: string;
  /** A backup older than this is not used: a fresh pg_dump is taken instead. */
  readonly maxBackupAgeMs: number;
  /** Where the anonymised dump is written (the directory staging reads). */
  readonly outDir: string;
  readonly rules: AnonymiseRules;
  /** The rules file's bytes at the running commit: their SHA-256 is signed. */
  readonly rulesText: string;
  readonly sourceCommit: string;
  readonly hashKey: string;
  readonly signingKey: string;
  readonly anonymise: Anonymise;
  readonly scan: ScanKept;
  /** Called as each step starts (the live message; fault tests throw here). */
  readonly onStep?: (step: PrepareStep, detail?: string) => Promise<void>;
  readonly now?: () => Date;
}

export interface PreparedDump {
  readonly file: string;
  readonly handoff: RefreshHandoff;
  /** Which backup was copied, or `a fresh pg_dump`. */
  readonly source: string;
  readonly report: AnonymiseReport;
}

/** The newest pre-deploy backup of production, if any is younger than `maxAgeMs`. */
export function latestUsableBackup(dir: string, maxAgeMs: number, now: Date): string | undefined {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return undefined;
  }
  const newest = files
    .map((f) => ({ f, parsed: parseBackupFile(f) }))
    .filter((x) => x.parsed?.env === 'production' && x.parsed.kind === 'deploy')
    .sort((a, b) => (a.parsed?.takenAt.getTime() ?? 0) - (b.parsed?.takenAt.getTime() ?? 0))
    .pop();
  if (!newest?.parsed || now.getTime() - newest.parsed.takenAt.getTime() > maxAgeMs) return undefined;
  return path.join(dir, newest.f);
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Runs production's steps and returns the signed dump. Throws RefreshRefusedError for a
 * refusal (unmentioned table or column: the anonymiser's own message; survivors in `keep`
 * columns), the tool's error otherwise. The temporary database is dropped in every case,
 * and leftovers of killed refreshes are swept first.
 */
export async function prepareRefreshDump(options: PrepareOptions): Promise<PreparedDump> {
  const now = options.now ?? (() => new Date());
  const step = options.onStep ?? (async () => {});
  const nonce = randomBytes(16).toString('hex');
  mkdirSync(options.outDir, { recursive: true });
  await sweepLeftovers(options.databaseUrl, now());
  // Leftovers of refreshes a restart interrupted (dumps, handoffs, statuses), older than an hour.
  sweepLeftoverFiles(options.outDir, now());

  await step('copy');
  const temp = await createTemporaryDatabase(options.databaseUrl, now());
  const scratch = path.join(options.outDir, `.refresh-${nonce}`);
  const file = path.join(options.outDir, mailboxFile.dump(nonce));
  let done = false;
  try {
    let sourceFile = latestUsableBackup(options.backupsDir, options.maxBackupAgeMs, now());
    const source = sourceFile ? path.basename(sourceFile) : 'a fresh pg_dump';
    await step('restore', source);
    if (!sourceFile) {
      sourceFile = (
        await backupDatabase(
          { databaseUrl: options.databaseUrl, dir: scratch, keep: 1 },
          { env: 'production', sha: options.sourceCommit, at: now() },
        )
      ).file;
    }
    await restoreDatabase({ databaseUrl: temp.url, file: sourceFile });

    await step('anonymise');
    const report = await options.anonymise(temp.url, options.rules, options.hashKey);

    await step('scan');
    const survivors = await options.scan(temp.url, options.rules);
    if (survivors.length > 0)
      throw new RefreshRefusedError(
        `personal-looking values survive in columns marked keep: ${survivors
          .map((s) => `${s.table}.${s.column} (${s.rows} ${s.kind}${s.rows === 1 ? '' : 's'})`)
          .join(
            ', ',
          )}. Give those columns a rule other than keep in lugh.anonymise.yml; nothing was handed to staging`,
      );

    await step('dump');
    const dumped = await backupDatabase(
      { databaseUrl: temp.url, dir: scratch, keep: 2 },
      { env: 'refresh', sha: options.sourceCommit, at: now() },
    );
    publishFile(dumped.file, options.outDir, mailboxFile.dump(nonce));

    await step('sign');
    const handoff = signRefresh(
      {
        sha256: await sha256OfFile(file),
        bytes: statSync(file).size,
        sourceCommit: options.sourceCommit,
        rulesHash: createHash('sha256').update(options.rulesText, 'utf8').digest('hex'),
        issuedAt: now().toISOString(),
        nonce,
      },
      options.signingKey,
    );
    done = true;
    return { file, handoff, source, report };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (!done) rmSync(file, { force: true });
    await dropTemporaryDatabase(options.databaseUrl, temp.name);
  }
}
