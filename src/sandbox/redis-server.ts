import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './free-port.js';

export class RedisServerMissingError extends Error {
  override name = 'RedisServerMissingError';
  constructor() {
    super(
      'redis-server was not found on PATH. Install it (Debian/Ubuntu: sudo apt-get install redis-server; ' +
        'macOS: brew install redis) or point REDIS_URL at a running Redis.',
    );
  }
}

export interface LocalRedis {
  readonly url: string;
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts a private, non-persistent redis-server from PATH on a free loopback port; with
 * `bind`, on those addresses too, and then only with `password` (for the default user).
 */
export async function startLocalRedis(
  options: { bind?: readonly string[]; password?: string } = {},
): Promise<LocalRedis> {
  if (options.bind?.length && !options.password)
    throw new Error('a redis-server beyond loopback needs a password');
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      ...(options.bind ?? []),
      ...(options.password ? ['--requirepass', options.password] : []),
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    // Its own process group: Ctrl-C in a terminal signals the sandbox's group, and Redis
    // must outlive the instances that close their connections to it; the sandbox stops it last.
    { stdio: 'ignore', detached: true },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new RedisServerMissingError() : error),
    );
    child.once('exit', (code) => reject(new Error(`redis-server exited at start (code ${code})`)));
  });
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      if (await accepts(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server did not accept connections on port ${port} within 5 s`);
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  failed.catch(() => {});
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        process.off('exit', killOnExit);
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
