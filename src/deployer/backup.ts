import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { BackupFailedError } from './errors.js';

export interface BackupOptions {
  /** The database to dump; its password goes to pg_dump through PGPASSWORD, never argv. */
  readonly databaseUrl: string;
  /** Where dumps are kept: LUGH_HOME/backups. */
  readonly dir: string;
  /** How many dumps to keep (the newest). */
  readonly keep: number;
  readonly pgDump?: string;
}

const DUMP = /^[a-z]+-\d{8}T\d{6}Z-[0-9a-f]{7}\.dump$/;

/**
 * `pg_dump -Fc` of the environment's database into `<dir>/<env>-<time>-<sha7>.dump`,
 * written under a temporary name and renamed when complete, so a dump that exists is
 * whole. Older dumps beyond `keep` are removed afterwards, never before.
 */
export async function backupDatabase(
  options: BackupOptions,
  label: { env: string; sha: string; at?: Date },
): Promise<{ file: string; bytes: number }> {
  mkdirSync(options.dir, { recursive: true });
  const stamp = (label.at ?? new Date())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const file = path.join(options.dir, `${label.env}-${stamp}-${label.sha.slice(0, 7)}.dump`);
  const partial = `${file}.partial`;
  const url = new URL(options.databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const stderr: string[] = [];
  const code = await new Promise<number | string>((resolve) => {
    const child = spawn(
      options.pgDump ?? 'pg_dump',
      ['-Fc', '--no-owner', '--file', partial, '--dbname', url.toString()],
      {
        env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr.on('data', (d: Buffer) => stderr.push(d.toString('utf8')));
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ENOENT' ? 'pg_dump is not installed in this image' : error.message),
    );
    child.once('exit', (c) => resolve(c ?? 'killed'));
  });
  if (code !== 0) {
    rmSync(partial, { force: true });
    const lines = stderr
      .join('')
      .split('\n')
      .filter((l) => l.trim());
    throw new BackupFailedError(
      `the backup failed (${typeof code === 'string' ? code : `pg_dump exited with ${code}`}); nothing was changed`,
      lines.slice(-20),
    );
  }
  renameSync(partial, file);
  const dumps = readdirSync(options.dir)
    .filter((f) => DUMP.test(f) && f.startsWith(`${label.env}-`))
    .sort()
    .reverse();
  for (const old of dumps.slice(options.keep)) rmSync(path.join(options.dir, old), { force: true });
  return { file, bytes: statSync(file).size };
}
