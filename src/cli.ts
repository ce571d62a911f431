#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ConversationData, VersionedState } from '@grammyjs/conversations';
import type { Queue } from 'bullmq';
import Docker from 'dockerode';
import { type Api, webhookCallback } from 'grammy';
import type { BotDeps } from './bot/context.js';
import { createBot } from './bot/create-bot.js';
import { createDeployControl } from './bot/deploys/deploy-control.js';
import { createDeployNotifier } from './bot/deploys/deploy-notifier.js';
import { withDeployNotices } from './bot/notifications/deploy-notices.js';
import {
  createNotificationApi,
  createNotifications,
  peerThroughRedis,
} from './bot/notifications/notifications.js';
import { createPromotionChat } from './bot/promotion/chat-port.js';
import { createPromotionService, type PromotionService } from './bot/promotion/promotion-service.js';
import { publishCommands } from './bot/publish-commands.js';
import { ownStatus, type PublishedStatus } from './bot/status/status-report.js';
import { createStatusService } from './bot/status/status-service.js';
import { createVersionLookup } from './bot/status/version-lookup.js';
import { startTelegramRuntime, type TelegramRuntime } from './bot/telegram-runtime.js';
import { type Config, ConfigError, createConfig, describeConfig, secretsOf } from './config.js';
import { withDeadline } from './deadline.js';
import { createContainerFacts } from './deployer/container-facts.js';
import { createDeployEngine } from './deployer/deploy-engine.js';
import { createDeployQueue, type DeployJobData } from './deployer/queue.js';
import { renderAuditText, runAudit } from './doctor/audit.js';
import { type SettingsFallback, settingsFromConfig } from './doctor/facts.js';
import { loadEnvFiles } from './env-files.js';
import { type AppEnv, ENVIRONMENTS, otherEnv } from './environments.js';
import { createForge, type Forge } from './forge/forge.js';
import { createGitHubClient } from './forge/github-client.js';
import { githubWebhookHandler } from './http/github-webhook.js';
import { checkHealth } from './http/health.js';
import { createHttpServer } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { createRedactor } from './redact.js';
import { seedSandboxRepository, startGitHubStandIn } from './sandbox/github/index.js';
import {
  fakeBotToken,
  fakeGitHubToken,
  type SandboxServices,
  startSandboxServices,
} from './sandbox/sandbox-services.js';
import { startTelegramStandIn } from './sandbox/telegram/index.js';
import { removeSandboxApps, sandboxDockerNames, startSandboxApps } from './sandbox-apps.js';
import { createAuditLog } from './store/audit-log.js';
import { createDeploymentStore, inProgress } from './store/deployments.js';
import {
  publishDeployLock,
  publishStatus,
  readDeployLock,
  readInstance,
  readStatus,
  registerInstance,
} from './store/instance-registry.js';
import { createLockStore, deployLockName } from './store/locks.js';
import { runMigrations } from './store/migrate.js';
import { createNotificationOutbox } from './store/notifications.js';
import { createPollerLease } from './store/poller-lease.js';
import { createPool, type Pool } from './store/pool.js';
import { createPromotionStore } from './store/promotions.js';
import { closeRedis, createRedis, createRedisKeyValue, keyspace, type Redis } from './store/redis.js';

const EXIT_CONFIG = 2;
const SHUTDOWN_DEADLINE_MS = 9_000;
const SANDBOX_SHUTDOWN_DEADLINE_MS = 30_000;
/** How often an instance publishes its status for the other one's /status. */
const STATUS_PUBLISH_MS = 10_000;

const USAGE = `usage: lugh [--env staging|production] [--env-path FILE]... <command>

commands:
  start        run the bot, the HTTP server (/healthz, /version, webhooks) and migrations
  migrate      apply migrations/ to this instance's database
  config       print the effective configuration (secrets redacted), or every problem
  healthcheck  exit 0 when this instance's /healthz answers 200 (used by Docker)
  deploy-run ID  run deployment ID to its end (what a deploy runner container executes)
  doctor       the isolation audit of the live Docker host: both app containers, their
               networks, ports, databases, Redis prefixes, homes, tokens, limits and
               flags; exits 1 when a check fails  [--staging-container NAME]
               [--production-container NAME] (default: the compose files' names)
               [--dir D] (where .env.staging and .env.prod are; default: here)
  sandbox      both instances on this machine with no tokens: the Telegram stand-in with a
               web chat page, the GitHub stand-in over a seeded repository, embedded
               Postgres, a local redis-server  [--port P] [--dir D] [--repo DIR]
  sandbox telegram [--port P]   the Telegram Bot API stand-in alone
  sandbox github --repo DIR [--port P]   the GitHub REST API stand-in alone

--env staging|production  read .env.staging or .env.prod from the current directory
--env-path FILE           read FILE (may be repeated)
Each file is followed by FILE.local (untracked secrets); the process environment wins over both.
(Not --env-file: Node 20 itself intercepts that flag.)`;

const ENV_FILES = { staging: '.env.staging', production: '.env.prod' } as const;

/** Raised when the other environment already drives this bot token. */
export class TokenSharedAcrossEnvironmentsError extends Error {
  override name = 'TokenSharedAcrossEnvironmentsError';
}

const PACKAGE_VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

function gitShaOf(config: Config): string | null {
  if (config.build.gitSha) return config.build.gitSha;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

/** The prefix the other environment would use with the same sub-prefix as ours. */
function otherPrefixOf(config: Config): string {
  const own = ENVIRONMENTS[config.appEnv].redisPrefix;
  return ENVIRONMENTS[otherEnv(config.appEnv)].redisPrefix + config.redisPrefix.slice(own.length);
}

export interface Instance {
  readonly port: number;
  readonly telegram: TelegramRuntime;
  /** The staging instance's promotions; undefined on production. */
  readonly promotion?: PromotionService;
  /** Stops taking updates, finishes those in flight, closes HTTP, Postgres and Redis. */
  stop(): Promise<void>;
}

export interface InstanceOptions {
  /** Octokit retries and throttling; on unless a test wants to see GitHub's answers as they are. */
  readonly resilientGitHub?: boolean;
  /** The clock of promotions (CI deadlines, button expiry); tests move it. */
  readonly now?: () => Date;
  /** The Docker engine to drive (DOCKER_HOST or the default socket unless given). */
  readonly docker?: Docker;
  /**
   * /doctor's settings of both environments, over their containers' (the sandbox, whose
   * instances run as processes). Without it: the containers', or this instance's own.
   */
  readonly doctorSettings?: SettingsFallback;
}

function forgeOf(config: Config, logger: Logger, resilient?: boolean): Forge | undefined {
  if (!config.github.token || !config.github.repo) return undefined;
  return createForge(
    createGitHubClient({ token: config.github.token, apiUrl: config.github.apiUrl, logger, resilient }),
    config.github.repo,
  );
}

/** The deploy engine and what it reports through, as `lugh start` and `lugh deploy-run` build it. */
function deployParts(
  config: Config,
  logger: Logger,
  parts: {
    docker: Docker;
    pool: Pool;
    redis: Redis;
    queue: Queue<DeployJobData>;
    forge?: Forge;
    redact: (t: string) => string;
    api: () => Api;
  },
) {
  const deployments = createDeploymentStore(parts.pool);
  const lockName = deployLockName(config.appEnv);
  // Published under this instance's prefix for the other one to read (see instance-registry).
  const publishLock = async () =>
    publishDeployLock(parts.redis, config.redisPrefix, await locks.held(lockName));
  const locks = createLockStore(parts.pool, { onChange: publishLock });
  // The deploy's own messages go to the chat that asked (or the first admin); its result
  // also to the notify chat, through the outbox, when that is another chat.
  const notifier = withDeployNotices(
    createDeployNotifier({
      api: parts.api,
      deployments,
      logger,
      redact: parts.redact,
      fallbackChatId: config.adminIds[0]!,
    }),
    {
      outbox: createNotificationOutbox(parts.pool),
      deployments,
      notifyChatId: config.notify.chatId,
      fallbackChatId: config.adminIds[0]!,
      redact: parts.redact,
      logger,
    },
  );
  const engine = createDeployEngine({
    config,
    logger,
    docker: parts.docker,
    redis: parts.redis,
    queue: parts.queue,
    deployments,
    locks,
    forge: parts.forge,
    notifier,
  });
  return { deployments, locks, publishLock, notifier, engine };
}

/** Everything `lugh start` runs, wired in one place. */
export async function startInstance(
  config: Config,
  logger: Logger,
  options: InstanceOptions = {},
): Promise<Instance> {
  const startedAt = new Date();
  // A pre-flight container is a version under test (and a runner runs one deploy): only the
  // app container follows promotions, publishes the environment's status and notifies.
  const isApp = config.deploy.role === 'app';
  mkdirSync(config.home, { recursive: true });
  await runMigrations({ databaseUrl: config.databaseUrl, logger });

  const pool = createPool(config.databaseUrl, `lugh-${config.appEnv}`);
  const redis = createRedis(config.redisUrl, { connectionName: `lugh-${config.appEnv}` });
  const queue = createDeployQueue(redis, config.redisPrefix);
  const audit = createAuditLog(pool, config.appEnv);
  const redact = createRedactor(secretsOf(config));
  const space = keyspace(config.redisPrefix);
  const forge = forgeOf(config, logger, options.resilientGitHub);
  const promotionRecords = createPromotionStore(pool, config.appEnv);
  // One Docker client for the deploy engine and /status.
  const docker = options.docker ?? new Docker();
  const otherPrefix = otherPrefixOf(config);
  const { deployments, locks, publishLock, notifier, engine } = deployParts(config, logger, {
    docker,
    pool,
    redis,
    queue,
    forge,
    redact,
    api: () => bot.api,
  });
  // Promotions are the staging bot's job: it is the one asked to /promote develop to main.
  const promotion = config.isStaging
    ? createPromotionService({
        config,
        logger,
        forge,
        promotions: promotionRecords,
        productionLock: () => readDeployLock(redis, otherPrefix),
        productionBot: async () => (await readInstance(redis, otherPrefix))?.botUsername,
        audit,
        chat: createPromotionChat(() => bot.api),
        now: options.now,
      })
    : undefined;
  const botDeps: BotDeps = {
    config,
    logger,
    audit,
    redact,
    promotion,
    status: createStatusService({
      env: config.appEnv,
      own: () => selfStatus(),
      ownContainer: config.deploy.containerName,
      ownSha: config.build.gitSha,
      other: () => readStatus<PublishedStatus>(redis, otherPrefix),
      container: createContainerFacts(docker),
      version: forge ? createVersionLookup(forge) : undefined,
      github: forge,
      promotion: config.isStaging ? () => promotionRecords.inFlight() : undefined,
    }),
    deploys: createDeployControl({
      env: config.appEnv,
      deployments,
      locks,
      audit,
      enqueue: engine.enqueue,
      containerLogs: engine.logs,
      confirmMs: 5 * 60_000,
    }),
    conversationStorage: createRedisKeyValue<VersionedState<ConversationData>>(redis, space, 'conversations'),
    doctor: {
      run: async () =>
        runAudit({
          docker,
          containers: {
            [config.appEnv]: config.deploy.containerName,
            // The other instance publishes the name of the container it runs in.
            [otherEnv(config.appEnv)]: (
              await readStatus<PublishedStatus>(redis, otherPrefix).catch(() => undefined)
            )?.container,
          },
          settings: options.doctorSettings,
          fallback: (env) =>
            env === config.appEnv
              ? { settings: settingsFromConfig(config), from: 'this instance' }
              : undefined,
        }),
    },
  };
  const { bot, commands } = createBot(botDeps);
  const gitSha = gitShaOf(config);

  const telegram = startTelegramRuntime(bot, {
    logger,
    webhook:
      config.telegram.webhookUrl && config.telegram.webhookSecret
        ? { url: config.telegram.webhookUrl, secret: config.telegram.webhookSecret }
        : undefined,
    onReady: async (me) => {
      const clash = await registerInstance(redis, config.redisPrefix, otherPrefixOf(config), {
        env: config.appEnv,
        botId: me.id,
        botUsername: me.username,
        startedAt: startedAt.toISOString(),
      });
      if (clash) {
        throw new TokenSharedAcrossEnvironmentsError(
          `TELEGRAM_BOT_TOKEN is @${clash.botUsername}, which the ${clash.env} instance uses: each environment needs its own bot`,
        );
      }
      await publishCommands(bot.api, commands, config.adminIds, logger);
      // A pre-flight container only proves its health: it neither follows promotions nor deploys.
      if (isApp) promotion?.startPolling();
      await publishLock();
      await engine.start();
    },
    isFatal: (error) => error instanceof TokenSharedAcrossEnvironmentsError,
    // The other instance's /status reads the published status: keep it current.
    onStatus: isApp ? () => setImmediate(() => void publishSelf()) : undefined,
    lease: config.telegram.webhookUrl ? undefined : createPollerLease(redis, space),
  });

  const health = () =>
    checkHealth({
      db: async () => {
        await pool.query('SELECT 1');
      },
      redis: async () => {
        await redis.ping();
      },
      telegram: () => {
        const s = telegram.status();
        // Standby is ready: the token is accepted; it polls once the old container stops.
        if (s.state === 'standby') return { ok: true, note: `standby (${s.detail})` };
        return s.state === 'ok'
          ? { ok: true }
          : { ok: false, reason: `${s.state}${s.detail ? `: ${s.detail}` : ''}` };
      },
    });
  const selfStatus = async () => {
    const [report, lock, unfinished, [last]] = await Promise.all([
      health(),
      locks.held(deployLockName(config.appEnv)),
      deployments.unfinished(config.appEnv),
      deployments.recent(config.appEnv, 1),
    ]);
    return ownStatus({
      env: config.appEnv,
      gitSha: config.build.gitSha,
      startedAt,
      container: config.deploy.containerName,
      health: report,
      lock,
      deploying: unfinished.find((d) => d.status === 'running'),
      last: last && !inProgress(last.status) ? last : undefined,
    });
  };
  const publishSelf = async () => {
    try {
      await publishStatus(redis, config.redisPrefix, await selfStatus());
    } catch (error) {
      logger.debug({ err: error }, 'could not publish the status');
    }
  };
  const statusTimer = isApp ? setInterval(() => void publishSelf(), STATUS_PUBLISH_MS).unref() : undefined;
  // Deploy results, health, failed promotions, expired locks: to NOTIFY_CHAT_ID (notifications.ts).
  const notifications = createNotifications({
    config,
    logger,
    pool,
    api: createNotificationApi(config),
    redact,
    locks,
    deployments,
    promotions: config.isStaging ? promotionRecords : undefined,
    readiness: health,
    peer: peerThroughRedis(redis, otherPrefix),
  });

  const http = createHttpServer({
    logger,
    health,
    version: () => ({
      env: config.appEnv,
      version: PACKAGE_VERSION,
      gitSha,
      buildTime: config.build.buildTime ?? null,
      startedAt: startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    }),
    telegramWebhook: config.telegram.webhookUrl
      ? webhookCallback(bot, 'http', { secretToken: config.telegram.webhookSecret })
      : undefined,
    githubWebhook: config.github.webhookSecret
      ? githubWebhookHandler(config.github.webhookSecret, logger, async (delivery) => {
          if (!(await promotionRecords.recordDelivery(delivery.id, delivery.event))) return 'duplicate';
          // Recorded first, so a redelivery is not handled twice; the polls catch what fails here.
          await promotion?.handleWebhook(delivery);
          await engine.intake
            ?.handleWebhook(delivery.event, delivery.payload)
            .catch((error: unknown) =>
              logger.warn({ err: error, delivery: delivery.id }, 'webhook: deploy intake failed'),
            );
          return 'handled';
        })
      : undefined,
  });
  const port = await http.listen(config.port);
  logger.info({ port, env: config.appEnv, gitSha }, `lugh ${config.appEnv} listening on :${port}`);
  if (isApp) notifications.start();

  let stopping: Promise<void> | undefined;
  return {
    port,
    telegram,
    promotion,
    stop: () => {
      stopping ??= (async () => {
        clearInterval(statusTimer);
        await telegram.stop();
        await promotion?.stop();
        // A deploy in flight is left to its job: BullMQ hands it to the next worker, which re-attaches.
        await withDeadline(engine.stop(), 3_000).catch(() => {});
        await notifier.flush();
        await withDeadline(notifications.stop(), 2_000).catch(() => {});
        await http.close();
        // A Redis that went away first must not hold the shutdown: BullMQ's close waits on it.
        await withDeadline(queue.close(), 1_000).catch(() => {});
        await Promise.allSettled([pool.end(), closeRedis(redis)]);
      })();
      return stopping;
    },
  };
}

function readConfig(env: Record<string, string | undefined>): Config {
  try {
    return createConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`lugh: the configuration has ${error.problems.length} problem(s):\n`);
    for (const p of error.problems) process.stderr.write(`  ✗ ${p.variable} ${p.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}

function loggerFor(config: Config): Logger {
  return createLogger({ level: config.logLevel, secrets: secretsOf(config), base: { env: config.appEnv } });
}

/**
 * Runs `stop` once on SIGTERM/SIGINT (or when `shutdown` is called), then exits. A stuck
 * dependency must not keep the process past Docker's stop grace, so a deadline forces it.
 */
function handleShutdown(logger: Logger, stop: () => Promise<void>, deadlineMs = SHUTDOWN_DEADLINE_MS) {
  let started = false;
  const shutdown = async (reason: string, code: number) => {
    if (started) return;
    started = true;
    logger.info({ reason }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting anyway');
      process.exit(code || 1);
    }, deadlineMs).unref();
    await stop();
    logger.info('stopped');
    process.exit(code);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  return shutdown;
}

/** Exits (code 2) when an instance finds its bot token already used by the other environment. */
function watchTelegram(
  instance: Instance,
  logger: Logger,
  shutdown: (reason: string, code: number) => Promise<void>,
) {
  instance.telegram.done.catch((error: unknown) => {
    if (error instanceof TokenSharedAcrossEnvironmentsError) {
      logger.fatal(error.message);
      void shutdown('configuration crosses environments', EXIT_CONFIG);
    } else {
      logger.error({ err: error }, 'the Telegram connection stopped');
    }
  });
}

async function commandStart(config: Config): Promise<void> {
  const logger = loggerFor(config);
  for (const warning of config.warnings) logger.warn(warning);
  const instance = await startInstance(config, logger);
  watchTelegram(
    instance,
    logger,
    handleShutdown(logger, () => instance.stop()),
  );
}

/** The environment of one sandbox instance: everything points at the sandbox's services. */
function sandboxInstanceEnv(
  services: SandboxServices,
  appEnv: AppEnv,
  logLevel: string,
  docker: { id: string; baseImage?: string; embedded: Readonly<Record<AppEnv, boolean>> },
): Record<string, string> {
  const names = sandboxDockerNames(docker.id);
  return {
    APP_ENV: appEnv,
    TELEGRAM_BOT_TOKEN: services.bots[appEnv].token,
    TELEGRAM_API_ROOT: services.telegram.apiRoot,
    BOT_DISPLAY_NAME: services.bots[appEnv].displayName,
    DATABASE_URL: services.databaseUrls[appEnv],
    REDIS_URL: services.redisUrl,
    LUGH_HOME: services.homes[appEnv],
    PORT: String(services.ports[appEnv]),
    ADMIN_IDS: String(services.users.admin.id),
    GITHUB_TOKEN: services.githubToken,
    GITHUB_REPO: `${services.github.repo.owner}/${services.github.repo.name}`,
    GITHUB_API_URL: services.github.apiUrl,
    GITHUB_WEBHOOK_SECRET: services.githubWebhookSecret,
    // The sandbox's CI takes seconds, not minutes: look often.
    PROMOTE_POLL_SECONDS: '5',
    // Its own names on the Docker engine: a sandbox never touches a real lugh container.
    DEPLOY_CONTAINER: names.container(appEnv),
    DEPLOY_IMAGE_REPOSITORY: names.repository,
    ...(docker.baseImage ? { DEPLOY_BASE_IMAGE: docker.baseImage } : {}),
    DEPLOY_HEALTH_SECONDS: '60',
    DEPLOY_VERIFY_SECONDS: '5',
    // pg_dump cannot dump the embedded PGlite (and would share its one session).
    ...(docker.embedded[appEnv] ? { DEPLOY_BACKUP: 'off' } : {}),
    LOG_LEVEL: logLevel,
  };
}

async function commandSandbox(
  env: Record<string, string | undefined>,
  port: number,
  dirOption?: string,
  repoDir?: string,
) {
  const dir = dirOption ?? mkdtempSync(path.join(tmpdir(), 'lugh-sandbox-'));
  const sandboxLog = createLogger({ level: 'info', secrets: [], base: { env: 'sandbox' } });
  let services: SandboxServices;
  try {
    services = await startSandboxServices({
      dir,
      telegramPort: port,
      databaseUrls: { staging: env.STAGING_DATABASE_URL, production: env.PROD_DATABASE_URL },
      redisUrl: env.REDIS_URL,
      repoDir,
    });
  } catch (error) {
    const message =
      (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? `port ${port} is in use: pass another with --port P (0 picks a free one)`
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(`lugh sandbox: ${message}\n`);
    if (!dirOption) rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }
  const instances: Instance[] = [];
  // The demo app containers the sandbox's instances deploy, under names of this run only.
  const dockerClient = new Docker();
  const demo = {
    id: randomBytes(3).toString('hex'),
    baseImage: env.LUGH_BASE_IMAGE || (await localBaseImage(dockerClient)),
    embedded: { staging: !env.STAGING_DATABASE_URL, production: !env.PROD_DATABASE_URL },
  };
  let demoApps: Promise<void> = Promise.resolve();
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    for (const instance of instances.reverse()) await instance.stop().catch(() => {});
    if (services.docker.reachable) {
      // A build still under way would create its containers after the removal: wait for it.
      await withDeadline(demoApps, 20_000).catch(() => {});
      await removeSandboxApps(dockerClient, demo.id).catch(() => {});
    }
    await services.stop();
    if (!dirOption) rmSync(dir, { recursive: true, force: true });
  };
  // No container stop grace to respect here, and the embedded databases flush on close:
  // a loaded laptop gets more time than the 9 s of a container.
  const shutdown = handleShutdown(sandboxLog, stopAll, SANDBOX_SHUTDOWN_DEADLINE_MS);
  let configs: Record<AppEnv, Config>;
  try {
    configs = {
      staging: createConfig(sandboxInstanceEnv(services, 'staging', env.LOG_LEVEL ?? 'warn', demo)),
      production: createConfig(sandboxInstanceEnv(services, 'production', env.LOG_LEVEL ?? 'warn', demo)),
    };
    // The sandbox runs its instances as processes: /doctor reads their settings from here.
    const doctorSettings: SettingsFallback = (appEnv) => ({
      settings: settingsFromConfig(configs[appEnv]),
      from: `the sandbox's ${appEnv} instance`,
    });
    for (const appEnv of ['staging', 'production'] as const) {
      const config = configs[appEnv];
      const logger = loggerFor(config);
      const instance = await startInstance(config, logger, { doctorSettings });
      instances.push(instance);
      watchTelegram(instance, logger, shutdown);
    }
  } catch (error) {
    process.stderr.write(`lugh sandbox: ${error instanceof Error ? error.message : String(error)}\n`);
    await shutdown('start-up failed', 1);
    return;
  }
  const [staging, production] = instances;
  const { admin, stranger } = services.users;
  const embedded = !env.STAGING_DATABASE_URL || !env.PROD_DATABASE_URL;
  process.stdout.write(
    [
      '',
      'lugh sandbox is running: both bots, no tokens needed.',
      '',
      `  chat page    ${services.telegram.apiRoot}/`,
      `               you are ${admin.first_name} (id ${admin.id}), an admin; switch to ${stranger.first_name} (id ${stranger.id}) to see what a stranger gets`,
      `  staging      @${services.bots.staging.username}  health http://127.0.0.1:${staging?.port}/healthz`,
      `  production   @${services.bots.production.username}  health http://127.0.0.1:${production?.port}/healthz`,
      `  GitHub       ${services.github.apiUrl} over ${services.repoDir} (develop is ahead of main: try /promote)`,
      `  Postgres     ${embedded ? `embedded (PGlite) in ${path.join(dir, 'postgres')}` : 'STAGING_DATABASE_URL / PROD_DATABASE_URL'}`,
      `  Redis        ${env.REDIS_URL ? 'REDIS_URL' : `redis-server at ${services.redisUrl} (started by the sandbox)`}`,
      `  Docker       ${services.docker.detail}${services.docker.reachable ? `; building the demo app containers ${sandboxDockerNames(demo.id).container('staging')} and …-prod-app` : ''}`,
      '',
      'Press Ctrl-C to stop everything the sandbox started.',
      '',
    ].join('\n'),
  );
  if (services.docker.reachable) {
    const forge = forgeOf(configs.staging, sandboxLog);
    demoApps = (async () => {
      try {
        const started = await startSandboxApps({
          docker: dockerClient,
          forge: forge!,
          id: demo.id,
          mainSha: await forge!.branchSha('main'),
          baseImage: demo.baseImage,
          logger: sandboxLog,
          cancelled: () => stopping,
        });
        if (started)
          process.stdout.write('Demo app containers are up: /deploy, /rollback and /promote deploy them.\n');
      } catch (error) {
        if (stopping) return;
        process.stdout.write(
          `The demo app containers could not be built (${error instanceof Error ? error.message : String(error)}); deploys will say there is no container. Everything else works.\n`,
        );
      }
    })();
    await demoApps;
  }
}

/** lugh-base:node20 when this host has it (made by deploy/make-base-image.sh), else the Dockerfile's default. */
async function localBaseImage(docker: Docker): Promise<string | undefined> {
  try {
    await withDeadline(docker.getImage('lugh-base:node20').inspect(), 2_000);
    return 'lugh-base:node20';
  } catch {
    return undefined;
  }
}

async function commandSandboxGitHub(port: number, repo: string | undefined) {
  if (!repo) {
    process.stderr.write(
      'lugh sandbox github: --repo DIR is required (a git repository; a new one is seeded if DIR does not exist)\n',
    );
    process.exit(EXIT_CONFIG);
  }
  const seeded = !existsSync(repo);
  if (seeded) await seedSandboxRepository(repo);
  const token = fakeGitHubToken();
  const github = await startGitHubStandIn({ repoDir: repo, port, token });
  process.stdout.write(
    `GitHub REST API stand-in at ${github.apiUrl}\n` +
      `  GITHUB_API_URL=${github.apiUrl}\n` +
      `  GITHUB_REPO=${github.repo.owner}/${github.repo.name} (${seeded ? 'seeded now in' : 'served from'} ${repo})\n` +
      `  GITHUB_TOKEN=${token} (made up for this run)\nPress Ctrl-C to stop.\n`,
  );
  const stop = async () => {
    await github.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

async function commandSandboxTelegram(port: number) {
  const telegram = await startTelegramStandIn({ port });
  const token = fakeBotToken();
  telegram.registerBot({ token, username: 'LughDevBot', firstName: 'Lugh Dev' });
  process.stdout.write(
    `Telegram Bot API stand-in at ${telegram.apiRoot}\n` +
      `  TELEGRAM_API_ROOT=${telegram.apiRoot}\n` +
      `  a bot is registered: @LughDevBot with TELEGRAM_BOT_TOKEN=${token} (made up for this run)\n` +
      `  chat page: ${telegram.apiRoot}/\nPress Ctrl-C to stop.\n`,
  );
  const stop = async () => {
    await telegram.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

async function commandMigrate(config: Config): Promise<void> {
  const logger = createLogger({
    level: config.logLevel,
    secrets: secretsOf(config),
    base: { env: config.appEnv },
  });
  await runMigrations({ databaseUrl: config.databaseUrl, logger });
}

/**
 * `lugh deploy-run <id>`: runs one deployment to its end and exits, reporting through
 * Postgres and the bot's chat. What the runner container executes (see runner-container.ts).
 */
async function commandDeployRun(config: Config, deploymentId: number): Promise<void> {
  const logger = loggerFor(config);
  const pool = createPool(config.databaseUrl, `lugh-${config.appEnv}-runner`);
  const redis = createRedis(config.redisUrl, { connectionName: `lugh-${config.appEnv}-runner` });
  const queue = createDeployQueue(redis, config.redisPrefix);
  const redact = createRedactor(secretsOf(config));
  // The bot only speaks here (marked as staging, retried like every message); it takes no updates.
  const { bot } = createBot({ config, logger, audit: createAuditLog(pool, config.appEnv), redact });
  const { engine, notifier } = deployParts(config, logger, {
    docker: new Docker(),
    pool,
    redis,
    queue,
    forge: forgeOf(config, logger),
    redact,
    api: () => bot.api,
  });
  let code = 0;
  try {
    const outcome = await engine.runner.run(deploymentId);
    logger.info({ deploymentId, outcome }, 'deploy runner finished');
  } catch (error) {
    logger.error({ err: error, deploymentId }, 'deploy runner failed');
    code = 1;
  } finally {
    await notifier.flush();
    await withDeadline(queue.close(), 1_000).catch(() => {});
    await Promise.allSettled([pool.end(), closeRedis(redis)]);
  }
  process.exit(code);
}

function commandConfig(config: Config): void {
  const described = describeConfig(config);
  const { flags, ...vars } = described as { flags: Record<string, string> } & Record<string, unknown>;
  const lines = Object.entries(vars).map(([k, v]) => `${k}=${String(v)}`);
  lines.push(...Object.entries(flags).map(([k, v]) => `flag ${k}: ${v}`));
  lines.push(...config.warnings.map((w) => `warning: ${w}`));
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * `lugh doctor`: the isolation audit from the Docker host. Settings come from the running
 * containers; for one that is missing, from .env.staging / .env.prod (and their .local)
 * in `dir` (the current directory unless --dir). Exits 1 when any check fails.
 */
async function commandDoctor(containers: Partial<Record<AppEnv, string>>, dir = '.'): Promise<void> {
  const report = await runAudit({
    docker: new Docker(),
    containers,
    fallback: (appEnv) => {
      const file = path.join(dir, ENV_FILES[appEnv]);
      return existsSync(file) ? { settings: loadEnvFiles([file], {}), from: file } : undefined;
    },
  });
  process.stdout.write(renderAuditText(report));
  process.exit(report.failed > 0 ? 1 : 0);
}

async function commandHealthcheck(env: Record<string, string | undefined>): Promise<void> {
  const appEnv = env.APP_ENV === 'production' ? 'production' : 'staging';
  const port = Number(env.PORT ?? ENVIRONMENTS[appEnv].defaultPort);
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3_000) });
    const body = await res.text();
    process.stdout.write(`${res.status} ${body}\n`);
    process.exit(res.status === 200 ? 0 : 1);
  } catch (error) {
    process.stdout.write(`unhealthy: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      env: { type: 'string' },
      'env-path': { type: 'string', multiple: true },
      port: { type: 'string' },
      dir: { type: 'string' },
      repo: { type: 'string' },
      'staging-container': { type: 'string' },
      'production-container': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(command || values.help ? 0 : EXIT_CONFIG);
  }
  const files = [...(values['env-path'] ?? [])];
  if (values.env !== undefined) {
    if (values.env !== 'staging' && values.env !== 'production') {
      process.stderr.write(`lugh: --env must be staging or production, got "${values.env}"\n`);
      process.exit(EXIT_CONFIG);
    }
    files.unshift(ENV_FILES[values.env]);
  }
  const env = loadEnvFiles(files);
  // Whatever escapes is printed: it must not carry a secret that came from an env file
  // (the process environment alone would not know it).
  try {
    return await dispatch(command, positionals, values, env);
  } catch (error) {
    const secrets = [
      env.TELEGRAM_BOT_TOKEN,
      env.GITHUB_TOKEN,
      env.GITHUB_WEBHOOK_SECRET,
      env.TELEGRAM_WEBHOOK_SECRET,
    ];
    for (const url of [env.DATABASE_URL, env.REDIS_URL]) {
      if (url && URL.canParse(url)) secrets.push(decodeURIComponent(new URL(url).password));
    }
    const redact = createRedactor(secrets.filter((s): s is string => Boolean(s)));
    throw new Error(redact(error instanceof Error ? (error.stack ?? error.message) : String(error)));
  }
}

async function dispatch(
  command: string,
  positionals: readonly string[],
  values: {
    port?: string;
    dir?: string;
    repo?: string;
    'staging-container'?: string;
    'production-container'?: string;
  },
  env: Record<string, string | undefined>,
): Promise<void> {
  switch (command) {
    case 'start':
      return commandStart(readConfig(env));
    case 'migrate':
      return commandMigrate(readConfig(env));
    case 'config':
      return commandConfig(readConfig(env));
    case 'healthcheck':
      return commandHealthcheck(env);
    case 'doctor':
      return commandDoctor(
        { staging: values['staging-container'], production: values['production-container'] },
        values.dir,
      );
    case 'deploy-run': {
      const id = Number(positionals[1]);
      if (!Number.isInteger(id) || id < 1) {
        process.stderr.write('lugh deploy-run: give the deployment id, e.g. lugh deploy-run 42\n');
        process.exit(EXIT_CONFIG);
      }
      return commandDeployRun(readConfig(env), id);
    }
    case 'sandbox': {
      const port = Number(values.port ?? 8080);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        process.stderr.write(`lugh sandbox: --port must be a port number, got "${values.port}"\n`);
        process.exit(EXIT_CONFIG);
      }
      if (positionals[1] === 'telegram') return commandSandboxTelegram(port);
      if (positionals[1] === 'github') return commandSandboxGitHub(port, values.repo);
      if (positionals[1] !== undefined) {
        process.stderr.write(
          `lugh sandbox: unknown part "${positionals[1]}" (try: lugh sandbox, lugh sandbox telegram, lugh sandbox github)\n`,
        );
        process.exit(EXIT_CONFIG);
      }
      return commandSandbox(env, port, values.dir, values.repo);
    }
    default:
      process.stderr.write(`lugh: unknown command "${command}"\n${USAGE}\n`);
      process.exit(EXIT_CONFIG);
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    // Secrets are unknown here if config failed to parse; the environment's values are redacted anyway.
    const redact = createRedactor(
      [process.env.TELEGRAM_BOT_TOKEN, process.env.GITHUB_TOKEN].filter((s): s is string => Boolean(s)),
    );
    process.stderr.write(`lugh: ${redact(error instanceof Error ? error.message : String(error))}\n`);
    process.exit(1);
  });
}
