// Vitest global setup: one Postgres server and one Redis server for the whole run, and
// lugh's CLI bundled once for the tests that run `lugh <command>` (buildCli).
//
// TEST_DATABASE_URL / TEST_REDIS_URL, when set, are used as they are. Otherwise this
// starts throwaway servers on random ports in temp dirs and removes them afterwards.
// Tests read the URLs with `inject('databaseUrl')` / `inject('redisUrl')` (see
// provided-context.d.ts and services.ts).
//
// The throwaway Postgres trusts local socket connections and asks for a password
// (scram-sha-256) on 127.0.0.1, so roles created by tests authenticate for real.
// The superuser is `postgres` with password `postgres`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { bundle } from '../../deploy/bundle.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

const execFileAsync = promisify(execFile);

const SUPERUSER = 'postgres';
const SUPERUSER_PASSWORD = 'postgres';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cleanups: Array<() => Promise<void>> = [];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => console.error('[global-setup] teardown:', error));
    }
  };

  try {
    const [databaseUrl, redisUrl, lughCli] = await Promise.all([
      process.env.TEST_DATABASE_URL || startPostgres(cleanups),
      process.env.TEST_REDIS_URL || startRedis(cleanups),
      buildCli(cleanups),
    ]);
    project.provide('databaseUrl', databaseUrl);
    project.provide('redisUrl', redisUrl);
    project.provide('lughCli', lughCli);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

// ---------------------------------------------------------------------------- lugh's CLI

/**
 * Bundles lugh as its image does (deploy/bundle.ts) into a folder of this run beside dist/
 * (the code finds migrations/ and package.json above its own folder), and returns its
 * cli.js. A `lugh <command>` a test runs starts from it as plain node: through tsx each
 * start cost ~1 s more of CPU (its loader hooks see every module loaded), and the suite
 * starts lugh a few hundred times. The sandbox is not in it (nor in the image): a test of
 * `lugh sandbox` runs the sources (lugh-process.ts). Types are checked before (npm test).
 */
async function buildCli(cleanups: Array<() => Promise<void>>): Promise<string> {
  const outDir = mkdtempSync(join(PACKAGE_ROOT, '.test-dist-'));
  cleanups.push(async () => rmSync(outDir, { recursive: true, force: true }));
  return bundle(outDir);
}

// ---------------------------------------------------------------------------- Postgres

async function startPostgres(cleanups: Array<() => Promise<void>>): Promise<string> {
  const binDir = findPostgresBinDir();
  const asPostgres = postgresUserRunner();

  const baseDir = mkdtempSync(join(tmpdir(), 'lugh-test-pg-'));
  const dataDir = join(baseDir, 'data');
  const logFile = join(baseDir, 'postgres.log');
  const pwFile = join(baseDir, 'pwfile');
  writeFileSync(pwFile, `${SUPERUSER_PASSWORD}\n`, { mode: 0o600 });
  asPostgres.own(baseDir);
  asPostgres.own(pwFile);

  const removeDir = () => rmSync(baseDir, { recursive: true, force: true });
  const onExit = () => {
    // Last resort when the run dies without teardown: stop the postmaster, drop the files.
    const pid = postmasterPid(dataDir);
    if (pid) tryKill(pid, 'SIGQUIT');
    removeDir();
  };
  process.once('exit', onExit);
  cleanups.push(async () => {
    process.off('exit', onExit);
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      await asPostgres
        .run(join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '10', 'stop'])
        .catch(() => {
          const pid = postmasterPid(dataDir);
          if (pid) tryKill(pid, 'SIGKILL');
        });
    }
    removeDir();
  });

  await asPostgres
    .run(join(binDir, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      SUPERUSER,
      `--pwfile=${pwFile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ])
    .catch((error: unknown) => {
      throw new Error(`initdb failed: ${describeExecError(error)}`);
    });

  // A free port can be taken between probing and binding: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${baseDir}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    try {
      await asPostgres.run(join(binDir, 'pg_ctl'), [
        '-D',
        dataDir,
        '-l',
        logFile,
        '-w',
        '-t',
        '30',
        '-o',
        options,
        'start',
      ]);
      const url = `postgres://${SUPERUSER}:${SUPERUSER_PASSWORD}@127.0.0.1:${port}/postgres`;
      await waitForPostgres(url);
      return url;
    } catch (error) {
      lastError = error;
    }
  }
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '(no log)';
  throw new Error(`Postgres did not start: ${describeExecError(lastError)}\n${log}`);
}

function findPostgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  // Homebrew and friends put initdb/pg_ctl on PATH; join('', 'initdb') is just 'initdb'.
  return '';
}

/** initdb refuses to run as root: when we are root, run the Postgres tools as `postgres`. */
function postgresUserRunner() {
  const isRoot = process.getuid?.() === 0;
  let uid = 0;
  let gid = 0;
  if (isRoot) {
    const entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => fields[0] === 'postgres');
    if (!entry) throw new Error('running as root but there is no `postgres` user to run initdb as');
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  return {
    own(path: string) {
      if (isRoot) chownSync(path, uid, gid);
    },
    run(command: string, args: string[]) {
      const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
      return execFileAsync(file, argv, { timeout: 60_000 });
    },
  };
}

async function waitForPostgres(url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    } finally {
      await client.end().catch(() => {});
    }
  }
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------- Redis

async function startRedis(cleanups: Array<() => Promise<void>>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lugh-test-redis-'));
  chmodSync(dir, 0o700);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    // No persistence at all: no RDB snapshots, no AOF.
    const child = spawn(
      process.env.REDIS_SERVER || 'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));

    try {
      await Promise.race([
        waitForRedis(port),
        spawnFailed,
        exited.then(() => {
          throw new Error(`redis-server exited early:\n${output}`);
        }),
      ]);
    } catch (error) {
      lastError = error;
      await stopChild(child, exited);
      continue;
    }

    const onExit = () => {
      tryKill(child.pid, 'SIGKILL');
      removeDir();
    };
    process.once('exit', onExit);
    cleanups.push(async () => {
      process.off('exit', onExit);
      await stopChild(child, exited);
      removeDir();
    });
    return `redis://127.0.0.1:${port}`;
  }
  removeDir();
  throw new Error(`Redis did not start: ${String(lastError)}`);
}

/** Ready means it answers PING; a listening socket alone can still answer -LOADING. */
async function waitForRedis(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await redisAnswersPing(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} never answered PING`);
    await sleep(50);
  }
}

function redisAnswersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

// ----------------------------------------------------------------------------- helpers

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function tryKill(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function describeExecError(error: unknown): string {
  if (error && typeof error === 'object' && 'stderr' in error) {
    const { message, stderr } = error as { message: string; stderr: string };
    return `${message}\n${stderr}`;
  }
  return String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
