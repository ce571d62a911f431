import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { BackupFailedError, RestoreFailedError } from './errors.js';

export interface BackupOptions {
  /** The database to dump; its password goes to pg_dump through PGPASSWORD, never argv. */
  readonly databaseUrl: string;
  /** Where dumps are kept: LUGH_HOME/backups. */
  readonly dir: string;
  /** How many dumps to keep (the newest). */
  readonly keep: number;
  readonly pgDump?: string;
}

/** A pre-deploy backup, or the one a restore takes of the state it replaces. */
export type BackupKind = 'deploy' | 'pre-restore';

/** `<env>-<time>-<sha7>.dump` before a deploy, `<env>-pre-restore-<time>-<sha7>.dump` before a restore. */
export const BACKUP_FILE = /^([a-z]+)-(pre-restore-)?(\d{8}T\d{6}Z)-([0-9a-f]{7})\.dump$/;

/** The file name's parts, or undefined for a file that is no backup. */
export function parseBackupFile(
  file: string,
): { env: string; kind: BackupKind; takenAt: Date; sha7: string } | undefined {
  const m = BACKUP_FILE.exec(file);
  if (!m) return undefined;
  const [, env = '', pre, stamp = '', sha7 = ''] = m;
  const takenAt = new Date(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
  );
  return { env, kind: pre ? 'pre-restore' : 'deploy', takenAt, sha7 };
}

/**
 * `pg_dump -Fc` of the environment's database into `<dir>/<env>-<time>-<sha7>.dump`,
 * written under a temporary name and renamed when complete, so a dump that exists is
 * whole. Older dumps beyond `keep` are removed afterwards, never before.
 */
export async function backupDatabase(
  options: BackupOptions,
  label: { env: string; sha: string; at?: Date; kind?: BackupKind },
): Promise<{ file: string; bytes: number }> {
  const kind = label.kind ?? 'deploy';
  const prefix = kind === 'deploy' ? label.env : `${label.env}-pre-restore`;
  mkdirSync(options.dir, { recursive: true });
  const stamp = (label.at ?? new Date())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const file = path.join(options.dir, `${prefix}-${stamp}-${label.sha.slice(0, 7)}.dump`);
  const partial = `${file}.partial`;
  const { code, lines } = await runPgTool(options.pgDump ?? 'pg_dump', options.databaseUrl, [
    '-Fc',
    '--no-owner',
    '--file',
    partial,
  ]);
  if (code !== 0) {
    rmSync(partial, { force: true });
    throw new BackupFailedError(
      `the backup failed (${typeof code === 'string' ? code : `pg_dump exited with ${code}`}); nothing was changed`,
      lines,
    );
  }
  renameSync(partial, file);
  // Each kind keeps its own newest `keep`: restores never push out the pre-deploy backups.
  const dumps = readdirSync(options.dir)
    .filter((f) => {
      const parsed = parseBackupFile(f);
      return parsed?.env === label.env && parsed.kind === kind;
    })
    .sort()
    .reverse();
  for (const old of dumps.slice(options.keep)) rmSync(path.join(options.dir, old), { force: true });
  return { file, bytes: statSync(file).size };
}

/**
 * Runs a Postgres client tool against `databaseUrl`, its password through PGPASSWORD,
 * never argv; the exit code (or why it did not run) and the last lines of its stderr.
 */
export async function runPgTool(
  bin: string,
  databaseUrl: string | undefined,
  args: readonly string[],
): Promise<{ code: number | string; lines: string[] }> {
  const url = databaseUrl === undefined ? undefined : new URL(databaseUrl);
  const password = url ? decodeURIComponent(url.password) : '';
  if (url) url.password = '';
  const stderr: string[] = [];
  const code = await new Promise<number | string>((resolve) => {
    const child = spawn(bin, url ? [...args, '--dbname', url.toString()] : [...args], {
      env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (d: Buffer) => stderr.push(d.toString('utf8')));
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve(
        error.code === 'ENOENT' ? `${path.basename(bin)} is not installed in this image` : error.message,
      ),
    );
    child.once('exit', (c) => resolve(c ?? 'killed'));
  });
  const lines = stderr
    .join('')
    .split('\n')
    .filter((l) => l.trim());
  return { code, lines: lines.slice(-20) };
}

/**
 * Reads a dump's table of contents (`pg_restore --list`) without touching any database:
 * proves pg_restore runs here and the file is a whole `-Fc` dump, before anything is dropped.
 */
export async function checkDump(options: {
  readonly file: string;
  readonly pgRestore?: string;
}): Promise<void> {
  const { code, lines } = await runPgTool(options.pgRestore ?? 'pg_restore', undefined, [
    '--list',
    options.file,
  ]);
  if (code !== 0)
    throw new RestoreFailedError(
      `${path.basename(options.file)} cannot be read as a backup (${typeof code === 'string' ? code : `pg_restore --list exited with ${code}`}); nothing was changed`,
      lines,
    );
}

/**
 * `pg_restore` of a `-Fc` dump into the database, in one transaction (`--single-transaction`,
 * which stops at the first error and changes nothing then), with `--clean --if-exists` so
 * every object of the dump replaces its current version. Objects the dump does not have
 * are the caller's to remove first (restore-control empties the schema).
 */
export async function restoreDatabase(options: {
  readonly databaseUrl: string;
  readonly file: string;
  readonly pgRestore?: string;
}): Promise<void> {
  const { code, lines } = await runPgTool(options.pgRestore ?? 'pg_restore', options.databaseUrl, [
    '--clean',
    '--if-exists',
    '--no-owner',
    '--single-transaction',
    '--exit-on-error',
    options.file,
  ]);
  if (code !== 0)
    throw new RestoreFailedError(
      `the restore failed (${typeof code === 'string' ? code : `pg_restore exited with ${code}`})`,
      lines,
    );
}
