// A staging instance's previews as they run, on the real engine, Postgres, Redis and Caddy,
// against the GitHub stand-in over the seeded repository: the service, its queue and one
// worker, GitHub's pull_request webhooks delivered to it as http.ts does (recorded once by
// delivery id), and a namespace of its own so parallel files never meet.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type Docker from 'dockerode';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createImageBuilder } from '../../src/deployer/image-builder.js';
import { githubWebhookHandler } from '../../src/http/github-webhook.js';
import { createCaddyProxy } from '../../src/previews/caddy-proxy.js';
import {
  type PreviewDatabases,
  type PreviewNotifier,
  type PreviewProxy,
  type PreviewRecord,
  previewNames,
} from '../../src/previews/preview.js';
import { createPreviewDatabases } from '../../src/previews/preview-database.js';
import type { HostRoom } from '../../src/previews/preview-host-room.js';
import type { PreviewSettings } from '../../src/previews/preview-jobs.js';
import { createPreviewQueue, createPreviewWorker } from '../../src/previews/preview-queue.js';
import { createPreviewRedis } from '../../src/previews/preview-redis.js';
import { createPreviewRuntime } from '../../src/previews/preview-runtime.js';
import { createPreviewService, type PreviewService } from '../../src/previews/preview-service.js';
import { runMigrations } from '../../src/store/migrate.js';
import { createPreviewStore, type PreviewRow } from '../../src/store/previews.js';
import { closeRedis } from '../../src/store/redis.js';
import { type RunningCaddy, startCaddy } from './caddy.js';
import { BASE_IMAGE, createDockerClient, ensureBaseImage, uniqueName, waitFor } from './docker.js';
import { startGuardedRedis } from './guarded-redis.js';
import { silentLogger as logger } from './logger.js';
import { startSeededGitHub } from './seeded-github.js';
import { adminDatabaseUrl, createTestDatabase, redisUrl, withAdmin } from './services.js';
import { startGitHubWebhookServer } from './webhook-server.js';

/**
 * GET `path` from 127.0.0.1:`port` with the Host header `host`, on a connection of its own,
 * or through `agent` as a browser does: a kept-alive connection the server closed as the
 * request went out (Caddy closes them when its config changes) is sent again once, on a new one.
 */
function throughProxy(port: number, host: string, path: string, agent?: http.Agent): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path, headers: { host }, agent: agent ?? false, timeout: 5_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve(new Response(Buffer.concat(chunks).toString('utf8'), { status: res.statusCode ?? 0 })),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', (error: Error & { code?: string }) => {
      if (agent && req.reusedSocket && ['ECONNRESET', 'EPIPE'].includes(error.code ?? ''))
        throughProxy(port, host, path).then(resolve, reject);
      else reject(error);
    });
  });
}

export const ROOM: HostRoom = { freeMemoryBytes: 64 * 2 ** 30, freeDiskBytes: 1024 * 2 ** 30 };

export interface PreviewWorld {
  readonly namespace: string;
  /** The instance's own database (staging's, in this world). */
  readonly databaseName: string;
  readonly docker: Docker;
  readonly service: PreviewService;
  readonly rows: ReturnType<typeof createPreviewStore>;
  readonly gh: Awaited<ReturnType<typeof startSeededGitHub>>['gh'];
  readonly forge: Awaited<ReturnType<typeof startSeededGitHub>>['forge'];
  readonly caddy: RunningCaddy;
  /** PREVIEW_REDIS_URL: a Redis whose default user needs a password (the shared one is open: previews refuse it). */
  readonly previewRedisUrl: string;
  /** The parts as the service drives them (a test makes strays with them). */
  readonly parts: { readonly databases: PreviewDatabases; readonly proxy: PreviewProxy };
  readonly failures: { record: PreviewRecord; reason: string }[];
  /** The room the host reports (a test makes it short). */
  room: HostRoom;
  /** The service's clock offset (the TTL's tests move it). */
  clockMs: number;
  /** The template's URL of a preview, and how to ask it through Caddy. */
  url(pr: number): string;
  get(pr: number, path?: string): Promise<Response>;
  /** As `get`, as a browser asks: kept-alive connections (see throughProxy). */
  browse(pr: number, path?: string): Promise<Response>;
  /** A branch off develop with one commit changing server.js's answer (or sick: /healthz fails). */
  push(branch: string, variant: string, options?: { sick?: boolean }): Promise<string>;
  /** Opens a pull request of `branch` into develop; its number. */
  open(branch: string): Promise<number>;
  close(pr: number): Promise<void>;
  /** The pull request's comments, as GitHub's REST API lists them. */
  comments(pr: number): Promise<{ id: number; body: string }[]>;
  /** The states of every status of every deployment of the preview's environment, newest first. */
  deploymentStates(pr: number): Promise<string[]>;
  row(pr: number): Promise<PreviewRow | undefined>;
  until(pr: number, what: (row: PreviewRow) => boolean, timeoutMs?: number): Promise<PreviewRow>;
  /** The preview containers of this namespace. */
  containers(pr?: number): Promise<Docker.ContainerInfo[]>;
  stop(): Promise<void>;
}

/** The seeded app's server.js answering its commit and `variant`; `sick`: /healthz fails. */
export const serverJs = (variant: string, sick = false) => `'use strict';
const http = require('node:http');
const port = Number(process.env.PORT || 8080);
const commit = process.env.COMMIT_SHA || 'unknown';
http.createServer((req, res) => {
  if (req.url === '/healthz') { res.writeHead(${sick ? 500 : 200}); res.end('${sick ? 'sick' : 'ok'}'); return; }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ commit, variant: ${JSON.stringify(variant)}, env: process.env.APP_ENV, pr: process.env.PREVIEW_PR }));
}).listen(port);
process.on('SIGTERM', () => process.exit(0));
`;

export async function startPreviewWorld(
  options: { max?: number; ttlMs?: number; notifier?: PreviewNotifier } = {},
): Promise<PreviewWorld> {
  const namespace = uniqueName('t');
  const docker = createDockerClient();
  await ensureBaseImage(docker);
  const database = await createTestDatabase('previews');
  await runMigrations({ databaseUrl: database.url, logger });
  await withAdmin((c) => c.query(`REVOKE CONNECT, TEMPORARY ON DATABASE "${database.name}" FROM PUBLIC`));
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const caddy = await startCaddy();
  const previewRedis = await startGuardedRedis();
  const urlTemplate = `http://pr-{n}.${namespace}.localhost:${caddy.port}/`;
  const secret = 'preview-world-webhook-secret';
  let service: PreviewService | undefined;
  const seen = new Set<string>();
  const hook = await startGitHubWebhookServer(
    logger,
    githubWebhookHandler(secret, logger, async (delivery) => {
      // As http.ts: a delivery is recorded once by its id, then handed on.
      if (seen.has(delivery.id)) return 'duplicate';
      seen.add(delivery.id);
      await service?.handleWebhook(delivery);
      return 'handled';
    }) as (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  );
  const { gh, forge } = await startSeededGitHub(undefined, { url: hook.url, secret });
  const rows = createPreviewStore(pool, namespace);
  const prefix = `${namespace}:`;
  const queueName = `previews-${namespace}`;
  const queue = createPreviewQueue(redis, prefix, queueName);
  const failures: PreviewWorld['failures'] = [];
  const settings: PreviewSettings = {
    urlTemplate,
    max: options.max ?? 3,
    ttlMs: options.ttlMs ?? 72 * 3_600_000,
    port: 8080,
    memoryBytes: 128 * 2 ** 20,
    nanoCpus: 0.5e9,
    minFreeMemoryBytes: 512 * 2 ** 20,
    minFreeDiskBytes: 1024 * 2 ** 20,
  };
  const api = async (path: string): Promise<unknown> => {
    const res = await fetch(`${gh.apiUrl}/repos/${gh.repo.owner}/${gh.repo.name}${path}`, {
      headers: { authorization: 'token ghs_seededGitHubTestToken' },
    });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const browser = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const world: PreviewWorld = {
    namespace,
    databaseName: database.name,
    docker,
    get service() {
      return service!;
    },
    rows,
    gh,
    forge,
    caddy,
    previewRedisUrl: previewRedis.url,
    get parts() {
      return { databases, proxy };
    },
    failures,
    room: ROOM,
    clockMs: 0,
    url: (pr) => urlTemplate.replace('{n}', String(pr)),
    // fetch() may not set Host: ask Caddy as a browser resolving *.localhost would.
    get: (pr, path = '/') => throughProxy(caddy.port, `pr-${pr}.${namespace}.localhost:${caddy.port}`, path),
    browse: (pr, path = '/') =>
      throughProxy(caddy.port, `pr-${pr}.${namespace}.localhost:${caddy.port}`, path, browser),
    async push(branch, variant, pushOptions = {}) {
      return gh.pushCommit(branch, {
        message: `${variant}${pushOptions.sick ? ' (sick)' : ''}`,
        files: { 'server.js': serverJs(variant, pushOptions.sick ?? false) },
      });
    },
    async open(branch) {
      const pull = await forge.openOrReusePull('develop', branch, `preview ${branch}`, 'a preview, please');
      return pull.pull.number;
    },
    close: (pr) => gh.closePull(pr),
    comments: (pr) => api(`/issues/${pr}/comments?per_page=100`) as Promise<{ id: number; body: string }[]>,
    async deploymentStates(pr) {
      const list = (await api(`/deployments?environment=${encodeURIComponent(`preview/pr-${pr}`)}`)) as {
        id: number;
      }[];
      const states: string[] = [];
      for (const d of list)
        for (const s of (await api(`/deployments/${d.id}/statuses`)) as { state: string }[])
          states.push(s.state);
      return states;
    },
    row: (pr) => rows.get(pr),
    until: (pr, what, timeoutMs = 90_000) =>
      waitFor(
        `preview #${pr}`,
        async () => {
          const row = await rows.get(pr);
          return row && what(row) ? row : undefined;
        },
        timeoutMs,
      ),
    containers: async (pr) =>
      docker.listContainers({
        all: true,
        filters: {
          label: [`lugh.preview=${namespace}`, ...(pr === undefined ? [] : [`lugh.preview.pr=${pr}`])],
        },
      }),
    async stop() {
      browser.destroy();
      await worker.close().catch(() => {});
      await queue.close().catch(() => {});
      for (const c of await world.containers())
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
      for (const n of await docker.listNetworks({ filters: { label: [`lugh.preview=${namespace}`] } }))
        await docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => {});
      for (const pr of await databases.list())
        await databases.drop(previewNames(pr, namespace)).catch(() => {});
      const images = await docker.listImages({ filters: { reference: [`${namespace}:*`] } });
      for (const image of images)
        for (const tag of image.RepoTags ?? [])
          await docker
            .getImage(tag)
            .remove({ noprune: true })
            .catch(() => {});
      await hook.server.close().catch(() => {});
      await caddy.close().catch(() => {});
      await gh.close().catch(() => {});
      await pool.end().catch(() => {});
      await closeRedis(redis).catch(() => {});
      await previewRedis.stop().catch(() => {});
      await database.drop().catch(() => {});
    },
  };
  const databases = createPreviewDatabases({ adminUrl: adminDatabaseUrl(), namespace, logger });
  const proxy = createCaddyProxy({ adminUrl: caddy.adminUrl, urlTemplate, namespace, logger });
  const runtime = createPreviewRuntime({ docker, logger, namespace, imageRepository: namespace });
  service = createPreviewService({
    settings,
    namespace,
    store: rows,
    forge,
    runtime,
    databases,
    redis: createPreviewRedis({ url: previewRedis.url, logger }),
    builder: createImageBuilder({ docker, logger, repository: namespace }),
    imageRepository: namespace,
    buildArgs: { BASE_IMAGE },
    notifier: options.notifier ?? {
      failed: async (record, reason) => {
        failures.push({ record, reason });
      },
    },
    hostRoom: async () => world.room,
    logger,
    redact: (t) => t,
    healthDeadlineMs: 45_000,
    migrateTimeoutMs: 60_000,
    proxy,
    queue,
    base: 'develop',
    now: () => new Date(Date.now() + world.clockMs),
  });
  const worker = createPreviewWorker(redis, prefix, (data) => service!.handle(data), logger, queueName);
  return world;
}
