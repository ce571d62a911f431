import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** The role lugh makes previews' databases and roles as (CREATEDB CREATEROLE, no superuser). */
export const ADMIN_ROLE = 'lugh_previews';

export interface LocalPostgres {
  /** postgres://lugh_previews:<password>@127.0.0.1:<port>/postgres: CREATEDB CREATEROLE, for lugh on this host. */
  readonly adminUrl: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Where initdb and pg_ctl are: PG_BIN, Debian's /usr/lib/postgresql/<newest>/bin, or PATH; undefined when nowhere. */
export async function postgresBinDir(): Promise<string | undefined> {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const newest = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a))[0];
    if (newest) return path.join(root, newest, 'bin');
  }
  try {
    await run('initdb', ['--version']);
    return '';
  } catch {
    return undefined;
  }
}

/**
 * A private Postgres server in a temporary directory of its own (the `postgres` user must
 * reach it: the sandbox's directory is private to its user) made with initdb, started with
 * pg_ctl, stopped and removed with the sandbox: what the
 * sandbox's previews get their databases and roles on, since the embedded PGlite holds one
 * database and checks no password. It listens on loopback and on `extraAddresses` (the Docker
 * bridge's gateway, where preview containers reach it), and asks every client for a password.
 * initdb refuses root: as root, the tools run as the `postgres` user.
 */
export async function startLocalPostgres(options: {
  binDir: string;
  extraAddresses?: readonly string[];
}): Promise<LocalPostgres> {
  const { binDir } = options;
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-sandbox-previews-pg-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    return await start(dir, binDir, options.extraAddresses ?? [], remove);
  } catch (error) {
    remove();
    throw error;
  }
}

async function start(
  dir: string,
  binDir: string,
  extraAddresses: readonly string[],
  remove: () => void,
): Promise<LocalPostgres> {
  const as = postgresUser();
  const dataDir = path.join(dir, 'data');
  const pwFile = path.join(dir, 'pwfile');
  const password = randomBytes(12).toString('base64url');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  as.own(dir);
  as.own(pwFile);
  await as
    .run(path.join(binDir, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      `--pwfile=${pwFile}`,
      '--auth-local=scram-sha-256',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ])
    .catch((error: unknown) => {
      throw new Error(`initdb failed for the previews' Postgres: ${detail(error)}`);
    });
  // Preview containers connect from their own networks' addresses: a password, always.
  appendFileSync(path.join(dataDir, 'pg_hba.conf'), 'host all all 0.0.0.0/0 scram-sha-256\n');
  const port = await freePort();
  const listen = ['127.0.0.1', ...extraAddresses].join(',');
  const logFile = path.join(dir, 'postgres.log');
  const serverOptions = [
    `-p ${port}`,
    `-c listen_addresses='${listen}'`,
    `-c unix_socket_directories='${dir}'`,
    '-c fsync=off',
    '-c synchronous_commit=off',
  ].join(' ');
  // A sandbox killed without its Ctrl-C must not leave the server running.
  const killOnExit = () => {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGQUIT');
    remove();
  };
  const onExit = () => {
    try {
      killOnExit();
    } catch {
      // not running
    }
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    await as
      .run(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '15', 'stop'])
      .catch(() => {});
  };
  try {
    await as.run(path.join(binDir, 'pg_ctl'), [
      '-D',
      dataDir,
      '-l',
      logFile,
      '-w',
      '-t',
      '30',
      '-o',
      serverOptions,
      'start',
    ]);
  } catch (error) {
    if (existsSync(path.join(dataDir, 'postmaster.pid'))) await stop();
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-1000) : '';
    throw new Error(`the previews' Postgres did not start: ${detail(error)}\n${log}`);
  }
  // lugh gets what an operator gives it (README): a role that may create databases and roles, no superuser.
  const adminPassword = randomBytes(12).toString('base64url');
  const superuser = new pg.Client({
    connectionString: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
  });
  try {
    await superuser.connect();
    await superuser.query(`create role ${ADMIN_ROLE} login createdb createrole password '${adminPassword}'`);
  } catch (error) {
    await stop();
    throw new Error(`the previews' Postgres could not make its role ${ADMIN_ROLE}: ${detail(error)}`);
  } finally {
    await superuser.end().catch(() => {});
  }
  return {
    adminUrl: `postgres://${ADMIN_ROLE}:${adminPassword}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await stop();
      remove();
    },
  };
}

function postgresUser() {
  if (process.getuid?.() !== 0)
    return { own: (_: string) => {}, run: (file: string, args: string[]) => run(file, args) };
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'postgres');
  if (!entry)
    throw new Error(
      'running as root, and there is no `postgres` user to run initdb as (initdb refuses root)',
    );
  const [uid, gid] = [Number(entry[2]), Number(entry[3])];
  return {
    own: (p: string) => chownSync(p, uid, gid),
    run: (file: string, args: string[]) =>
      run('runuser', ['-u', 'postgres', '--', file, ...args], { timeout: 60_000 }),
  };
}

function detail(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(error)).trim().slice(0, 500);
}
