import { readFile, statfs } from 'node:fs/promises';
import type { Queue } from 'bullmq';
import type Docker from 'dockerode';
import { ENVIRONMENTS } from '../config/environments.js';
import type { Config } from '../config/index.js';
import type { Forge } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import type { PreviewNotifier, PreviewRuntime } from '../previews/preview.js';
import { type HostRoom, memAvailable } from '../previews/preview-host-room.js';
import type { createPreviewQueue, PreviewJobData } from '../previews/preview-queue.js';
import type { PreviewService } from '../previews/preview-service.js';
import { createPreviewStore } from '../store/previews.js';
import type { Connections } from './connections.js';

/** A new container's health deadline and a migration's, per preview. */
const HEALTH_DEADLINE_MS = 120_000;
const MIGRATE_TIMEOUT_MS = 300_000;

/**
 * What the host has free: MemAvailable of /proc/meminfo, and the disk under the first of
 * `dirs` this process can see (Docker's data root, where images and containers grow, when
 * lugh runs on the host; else LUGH_HOME).
 */
export async function hostRoomOf(dirs: readonly string[]): Promise<HostRoom> {
  const meminfo = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  let fs: Awaited<ReturnType<typeof statfs>> | undefined;
  for (const dir of dirs) {
    fs = await statfs(dir).catch(() => undefined);
    if (fs) break;
  }
  return {
    // Not Linux, or nothing readable: that check passes rather than refuse every preview.
    freeMemoryBytes: memAvailable(meminfo) ?? Number.MAX_SAFE_INTEGER,
    freeDiskBytes: fs ? Number(fs.bavail) * Number(fs.bsize) : Number.MAX_SAFE_INTEGER,
  };
}

export interface PreviewsPart {
  /** The service; each call waits for its parts to load (BullMQ, dockerode, the builder). */
  readonly service: PreviewService;
  /** Loads the parts and starts the worker (with the other background work). */
  start(): Promise<void>;
  /** Stops the worker (a job in flight is BullMQ's to hand on) and closes the queue. */
  stop(): Promise<void>;
  /** The queue `previews` for /metrics, once the parts are loaded (undefined before). */
  jobs(): Pick<Queue, 'getJobCounts' | 'getJobs'> | undefined;
}

export interface PreviewsDeps {
  readonly connections: Connections;
  readonly docker: () => Promise<Docker>;
  readonly forge?: Forge;
  readonly redact: (text: string) => string;
  /** How the chat hears a preview fail (the bot's notifications); none: only the PR comment says. */
  readonly notifier?: PreviewNotifier;
  /** The namespace of every preview name (tests, the sandbox); `''` for a real lugh. */
  readonly namespace?: string;
  /** The Docker side; preview-runtime.ts over the Docker client unless given. */
  readonly runtime?: (docker: Docker) => PreviewRuntime | Promise<PreviewRuntime>;
  readonly hostRoom?: () => Promise<HostRoom>;
}

/**
 * Previews run only on the staging instance, with the flag `previews` on: undefined
 * otherwise. The store is made at once; the queue, the worker, the Docker side and the
 * image builder when first needed (BullMQ and dockerode are not loaded before updates are
 * taken, as the deploy engine's).
 */
export function buildPreviews(config: Config, logger: Logger, deps: PreviewsDeps): PreviewsPart | undefined {
  if (!config.isStaging || !config.flags.previews) return undefined;
  const { redis } = deps.connections;
  const settings = config.previews;
  const namespace = deps.namespace ?? '';
  const store = createPreviewStore(deps.connections.pool, namespace);
  let stopWorker: (() => Promise<void>) | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let queue: ReturnType<typeof createPreviewQueue> | undefined;

  const load = async (): Promise<PreviewService> => {
    const [{ createPreviewService }, queues, builders, databases, redisParts, caddy, runtimes, docker] =
      await Promise.all([
        import('../previews/preview-service.js'),
        import('../previews/preview-queue.js'),
        import('../deployer/image-builder.js'),
        import('../previews/preview-database.js'),
        import('../previews/preview-redis.js'),
        import('../previews/caddy-proxy.js'),
        import('../previews/preview-runtime.js'),
        deps.docker(),
      ]);
    const proxied = Boolean(settings.proxyAdminUrl && settings.urlTemplate);
    queue = queues.createPreviewQueue(redis, config.redisPrefix);
    return createPreviewService({
      settings,
      namespace,
      store,
      forge: deps.forge,
      runtime: deps.runtime
        ? await deps.runtime(docker)
        : runtimes.createPreviewRuntime({
            docker,
            logger,
            namespace,
            proxyContainer: settings.proxyContainer,
            // Without Caddy a preview's port is published on 127.0.0.1, and that is its URL.
            publish: !proxied,
            imageRepository: config.deploy.imageRepository,
          }),
      databases: settings.databaseAdminUrl
        ? databases.createPreviewDatabases({
            adminUrl: settings.databaseAdminUrl,
            host: settings.databaseHost,
            namespace,
            logger,
          })
        : undefined,
      redis: settings.redisUrl
        ? redisParts.createPreviewRedis({ url: settings.redisUrl, logger })
        : undefined,
      proxy:
        proxied && settings.proxyAdminUrl && settings.urlTemplate
          ? caddy.createCaddyProxy({
              adminUrl: settings.proxyAdminUrl,
              urlTemplate: settings.urlTemplate,
              namespace,
              logger,
            })
          : undefined,
      // The deploys' builder and cache: a preview of a commit staging already built reuses its image.
      builder: builders.createImageBuilder({ docker, logger, repository: config.deploy.imageRepository }),
      imageRepository: config.deploy.imageRepository,
      buildArgs: config.deploy.baseImage ? { BASE_IMAGE: config.deploy.baseImage } : undefined,
      notifier: deps.notifier,
      hostRoom:
        deps.hostRoom ??
        (async () => {
          const root = await docker
            .info()
            .then((info: { DockerRootDir?: string }) => info.DockerRootDir)
            .catch(() => undefined);
          return hostRoomOf(root ? [root, config.home] : [config.home]);
        }),
      logger,
      redact: deps.redact,
      healthDeadlineMs: HEALTH_DEADLINE_MS,
      migrateTimeoutMs: MIGRATE_TIMEOUT_MS,
      queue: { add: (data: PreviewJobData) => queue!.add(data), close: () => queue!.close() },
      base: ENVIRONMENTS.staging.branch,
    });
  };
  let loaded: Promise<PreviewService> | undefined;
  const loadedService = () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
  const via =
    <K extends keyof PreviewService>(key: K) =>
    async (...args: Parameters<PreviewService[K]>): Promise<Awaited<ReturnType<PreviewService[K]>>> => {
      const service = await loadedService();
      return (service[key] as (...a: typeof args) => Promise<Awaited<ReturnType<PreviewService[K]>>>)(
        ...args,
      );
    };
  const service: PreviewService = {
    handleWebhook: via('handleWebhook'),
    reconcile: via('reconcile'),
    handle: via('handle'),
    list: via('list'),
    start: via('start'),
    redeploy: via('redeploy'),
    tearDown: via('tearDown'),
    logs: via('logs'),
    counts: via('counts'),
  };
  return {
    service,
    /**
     * Loads the parts and starts the worker; a failure (Docker not answering yet) is logged
     * and tried again with backoff until stop, as the deploy engine's start.
     */
    async start() {
      stopped = false;
      const attempt = async (delayMs: number): Promise<void> => {
        if (stopped || stopWorker) return;
        try {
          const loadedNow = await loadedService();
          const { createPreviewWorker } = await import('../previews/preview-queue.js');
          if (stopped || stopWorker) return;
          const worker = createPreviewWorker(
            redis,
            config.redisPrefix,
            (data) => loadedNow.handle(data),
            logger,
          );
          stopWorker = () => worker.close();
        } catch (error) {
          logger.warn({ err: error }, 'could not start previews; trying again');
          retry = setTimeout(() => void attempt(Math.min(delayMs * 2, 30_000)), delayMs);
          retry.unref();
        }
      };
      await attempt(1_000);
    },
    jobs: () => queue?.jobs,
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await stopWorker?.().catch(() => {});
      stopWorker = undefined;
      await queue?.close().catch(() => {});
    },
  };
}
