// The doctor's live measurements: what a container can resolve and reach on the network
// (run inside it with `docker exec`), and whether one database role can open another's
// database (tried from here, with the real server's answer as the evidence).
import { lookup } from 'node:dns/promises';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import pg from 'pg';
import { Unchecked } from './unchecked.js';

export interface NameLookup {
  readonly name: string;
  /** The address it resolved to, or undefined when it did not resolve. */
  readonly address?: string;
  readonly error?: string;
}

export interface ConnectAttempt {
  readonly address: string;
  /** True when something answered: a connection, or a refusal (the host is routable). */
  readonly reached: boolean;
  readonly error?: string;
}

export interface ReachResult {
  readonly names: readonly NameLookup[];
  readonly addresses: readonly ConnectAttempt[];
}

// Runs inside the probed container with nothing but node: no lugh code need be there.
// argv[1] is JSON [names, [host, port][]]; prints the ReachResult as JSON.
const REACH_SCRIPT = `
const dns = require('node:dns'), net = require('node:net');
const [names, targets] = JSON.parse(process.argv[1]);
const look = (name) => new Promise((done) =>
  dns.lookup(name, (e, address) => done(e ? { name, error: e.code } : { name, address })));
const connect = ([host, port]) => new Promise((done) => {
  const socket = net.connect({ host, port });
  const end = (r) => { socket.destroy(); done({ address: host + ':' + port, ...r }); };
  socket.setTimeout(1500, () => end({ reached: false, error: 'timeout' }));
  socket.on('connect', () => end({ reached: true }));
  socket.on('error', (e) => end({ reached: e.code === 'ECONNREFUSED', error: e.code }));
});
Promise.all([Promise.all(names.map(look)), Promise.all(targets.map(connect))])
  .then(([n, a]) => process.stdout.write(JSON.stringify({ names: n, addresses: a })));
`;

/** Runs a command in a running container; its stdout, stderr and exit code. */
async function execIn(
  docker: Docker,
  container: string,
  cmd: readonly string[],
  timeoutMs = 10_000,
): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
  const exec = await docker.getContainer(container).exec({
    Cmd: [...cmd],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on('data', (b: Buffer) => out.push(b));
  const stderr = new PassThrough().on('data', (b: Buffer) => err.push(b));
  docker.modem.demuxStream(stream, stdout, stderr);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`the command in ${container} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    stream.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  const { ExitCode } = await exec.inspect();
  return {
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    exitCode: ExitCode,
  };
}

/** From inside `from`: which of `names` resolve, and which of `targets` answer. */
export async function probeReach(
  docker: Docker,
  from: string,
  names: readonly string[],
  targets: ReadonlyArray<readonly [string, number]>,
): Promise<ReachResult> {
  const result = await execIn(docker, from, ['node', '-e', REACH_SCRIPT, JSON.stringify([names, targets])]);
  if (result.exitCode !== 0) {
    const why = result.stderr.trim().split('\n').pop() || `exit code ${result.exitCode}`;
    throw new Unchecked(
      `could not run the network probe in ${from}: ${why}`,
      `the probe runs \`node\` inside the app container: use lugh's image (it has node), or check the container's logs`,
    );
  }
  return JSON.parse(result.stdout) as ReachResult;
}

export type LoginOutcome =
  | { readonly opened: true }
  | { readonly opened: false; readonly refused: true; readonly code: string; readonly message: string }
  | { readonly opened: false; readonly refused: false; readonly message: string };

/** Postgres refusing the login itself (auth, privilege, no such database or role). */
const REFUSALS = new Set(['28000', '28P01', '42501', '3D000', '42704']);

/**
 * Tries to log in as `user` to `database` on `host:port`, and closes at once. A refusal by
 * the server is an answer; a server that cannot be reached is not (`refused: false`).
 * When `host` does not resolve here (a name on a Docker network), `resolveHost` may give
 * an address that does (the container's, which the Docker host can route to).
 */
export async function tryLogin(input: {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  resolveHost?: (host: string) => Promise<string | undefined>;
  timeoutMs?: number;
}): Promise<LoginOutcome> {
  let host = input.host;
  const resolvable = await lookup(host).then(
    () => true,
    () => false,
  );
  if (!resolvable) {
    const address = await input.resolveHost?.(host);
    if (!address)
      return { opened: false, refused: false, message: `the database host ${host} does not resolve here` };
    host = address;
  }
  const client = new pg.Client({
    host,
    port: input.port,
    user: input.user,
    password: input.password,
    database: input.database,
    connectionTimeoutMillis: input.timeoutMs ?? 4_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return { opened: true };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code && REFUSALS.has(code)) return { opened: false, refused: true, code, message };
    return {
      opened: false,
      refused: false,
      message: `could not reach ${input.host}:${input.port}: ${message}`,
    };
  } finally {
    await client.end().catch(() => {});
  }
}
