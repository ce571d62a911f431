import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Env } from '../../commands/command.js';
import { withDeadline } from '../../deadline.js';
import { caddyOnPath, type LocalCaddy, startLocalCaddy } from '../caddy-server.js';
import { type LocalPostgres, postgresBinDir, startLocalPostgres } from '../local-postgres.js';
import { type LocalRedis, startLocalRedis } from '../redis-server.js';

/** What the sandbox gives staging's previews, and how to stop it. */
export interface SandboxPreviews {
  /** PREVIEW_* and FEATURE_PREVIEWS for staging's instance; empty when previews are off. */
  readonly env: Readonly<Record<string, string>>;
  /** The namespace of every name a preview of this sandbox carries (`lugh-sandbox-<id>-preview-pr-<n>`, …). */
  readonly namespace: string;
  /** The banner's lines on previews. */
  readonly banner: readonly string[];
  stop(): Promise<void>;
}

/** The namespace of one sandbox run's previews: their containers fall under the run's `lugh-sandbox-<id>-` names. */
export function sandboxPreviewNamespace(id: string): string {
  return `lugh-sandbox-${id}`;
}

/**
 * Starts what staging's previews need in the sandbox, each when it can:
 *
 * - Caddy from PATH (admin API and HTTP server on free loopback ports): each preview at
 *   `http://pr-<n>.preview.localhost:<port>/`; without caddy, each preview's port is
 *   published on 127.0.0.1 and that is its URL.
 * - A private Postgres server (initdb from PATH or Debian's postgresql) for the previews'
 *   databases and roles: the embedded PGlite cannot hold them (it has one database, which
 *   every database name reaches, and checks no password). Without the server tools previews
 *   run with no database. PREVIEW_DATABASE_ADMIN_URL in the environment is used instead.
 * - A redis-server with a password for the previews' prefixes (staging's own Redis stays on
 *   loopback with no password). PREVIEW_REDIS_URL in the environment is used instead.
 *
 * Preview containers reach Postgres and Redis at the Docker bridge's gateway; without a
 * Docker engine there are no previews at all.
 */
export async function startSandboxPreviews(options: {
  docker: Docker;
  dockerReachable: boolean;
  id: string;
  dir: string;
  env: Env;
}): Promise<SandboxPreviews> {
  const namespace = sandboxPreviewNamespace(options.id);
  if (!options.dockerReachable)
    return { env: {}, namespace, banner: ['off: previews need a Docker engine'], stop: async () => {} };
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const gateway = await bridgeGateway(options.docker);
    const [proxy, database, redis] = await Promise.all([
      startProxy(options.dir, stops),
      startDatabase(options.env, gateway, stops),
      startRedis(options.env, gateway, stops),
    ]);
    const env = {
      FEATURE_PREVIEWS: 'true',
      PREVIEW_URL_TEMPLATE: proxy.template,
      ...proxy.env,
      ...database.env,
      ...redis.env,
      // The sandbox's demo app is tiny: a small share of this machine is enough.
      PREVIEW_MAX: '3',
      PREVIEW_MIN_FREE_MEMORY_MB: '64',
      PREVIEW_MIN_FREE_DISK_MB: '256',
    };
    return { env, namespace, banner: [proxy.line, database.line, redis.line], stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The Docker bridge's gateway: an address of this host that containers on any bridge network
 * reach. Its IPAM config names it, except when the engine left it out (seen with Debian's
 * docker.io, whose default bridge lists only its subnet): then it is the subnet's first
 * address, which Docker gives the bridge by default. (The host's docker0 interface is no
 * help: while no container is attached it has no carrier, and node does not list it.)
 */
async function bridgeGateway(docker: Docker): Promise<string | undefined> {
  try {
    const bridge = (await withDeadline(docker.getNetwork('bridge').inspect(), 5_000)) as {
      IPAM?: { Config?: Array<{ Gateway?: string; Subnet?: string }> };
    };
    const v4 = (bridge.IPAM?.Config ?? []).filter(
      (c) => !c.Subnet?.includes(':') && !c.Gateway?.includes(':'),
    );
    return v4.find((c) => c.Gateway)?.Gateway ?? v4.map((c) => firstHostOf(c.Subnet)).find(Boolean);
  } catch {
    return undefined;
  }
}

/** `172.17.0.0/16` → `172.17.0.1`: the first address after an IPv4 subnet's own. */
export function firstHostOf(subnet: string | undefined): string | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(subnet ?? '');
  if (!match) return undefined;
  const bits = Number(match[5]);
  if (bits > 30) return undefined;
  const address = match.slice(1, 5).reduce((n, octet) => n * 256 + Number(octet), 0);
  const network = bits === 0 ? 0 : address - (address % 2 ** (32 - bits));
  const first = network + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(first / 2 ** shift) % 256).join('.');
}

type Part = { env: Record<string, string>; line: string };

async function startProxy(
  dir: string,
  stops: Array<() => Promise<void>>,
): Promise<Part & { template: string }> {
  const published = {
    env: {},
    // The template turns previews on; with no proxy the published port is the URL.
    template: 'http://pr-{n}.preview.localhost/',
  };
  if (!(await caddyOnPath()))
    return {
      ...published,
      line: 'URL      no caddy on PATH: each preview is published on a port of 127.0.0.1 (install caddy for http://pr-<n>.preview.localhost:<port>/)',
    };
  let caddy: LocalCaddy;
  try {
    caddy = await startLocalCaddy(path.join(dir, 'caddy'));
  } catch (error) {
    return {
      ...published,
      line: `URL      caddy did not start (${error instanceof Error ? error.message : String(error)}): each preview is published on a port of 127.0.0.1`,
    };
  }
  stops.push(() => caddy.stop());
  return {
    env: { PREVIEW_PROXY_ADMIN_URL: caddy.adminUrl },
    template: `http://pr-{n}.preview.localhost:${caddy.httpPort}/`,
    line: `URL      http://pr-<n>.preview.localhost:${caddy.httpPort}/ through caddy (admin API ${caddy.adminUrl}, started by the sandbox)`,
  };
}

async function startDatabase(
  env: Env,
  gateway: string | undefined,
  stops: Array<() => Promise<void>>,
): Promise<Part> {
  if (env.PREVIEW_DATABASE_ADMIN_URL)
    return {
      env: {
        PREVIEW_DATABASE_ADMIN_URL: env.PREVIEW_DATABASE_ADMIN_URL,
        ...(env.PREVIEW_DATABASE_HOST ? { PREVIEW_DATABASE_HOST: env.PREVIEW_DATABASE_HOST } : {}),
      },
      line: 'database PREVIEW_DATABASE_ADMIN_URL',
    };
  const none = 'database none: previews run without one';
  if (!gateway)
    return { env: {}, line: `${none} (the Docker engine has no bridge network to reach one through)` };
  const binDir = await postgresBinDir();
  if (binDir === undefined)
    return {
      env: {},
      line: `${none} (the embedded PGlite cannot hold them; install PostgreSQL's server, e.g. apt-get install postgresql, or set PREVIEW_DATABASE_ADMIN_URL)`,
    };
  let pg: LocalPostgres;
  try {
    pg = await startLocalPostgres({ binDir, extraAddresses: [gateway] });
  } catch (error) {
    return {
      env: {},
      line: `${none} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    };
  }
  stops.push(() => pg.stop());
  return {
    env: { PREVIEW_DATABASE_ADMIN_URL: pg.adminUrl, PREVIEW_DATABASE_HOST: `${gateway}:${pg.port}` },
    line: `database preview_pr_<n> each, with its own role, on a Postgres server the sandbox started (127.0.0.1:${pg.port}; containers reach it at ${gateway})`,
  };
}

async function startRedis(
  env: Env,
  gateway: string | undefined,
  stops: Array<() => Promise<void>>,
): Promise<Part> {
  if (env.PREVIEW_REDIS_URL)
    return { env: { PREVIEW_REDIS_URL: env.PREVIEW_REDIS_URL }, line: 'Redis    PREVIEW_REDIS_URL' };
  if (!gateway)
    return {
      env: {},
      line: 'Redis    none: previews run without one (the Docker engine has no bridge network)',
    };
  const password = randomBytes(12).toString('base64url');
  let redis: LocalRedis;
  try {
    redis = await startLocalRedis({ bind: [gateway], password });
  } catch (error) {
    return {
      env: {},
      line: `Redis    none: previews run without one (${error instanceof Error ? error.message : String(error)})`,
    };
  }
  stops.push(() => redis.stop());
  const port = new URL(redis.url).port;
  return {
    env: { PREVIEW_REDIS_URL: `redis://:${password}@${gateway}:${port}` },
    line: `Redis    prefix preview:…:pr<n>: each, on a redis-server the sandbox started (port ${port}, a password; containers reach it at ${gateway})`,
  };
}
