import { mkdirSync } from 'node:fs';
import type { ConversationData, VersionedState } from '@grammyjs/conversations';
import type Docker from 'dockerode';
import { createBot } from '../bot/create-bot.js';
import { chatProbe } from '../bot/notifications/chat-probe.js';
import { createNotificationTexts } from '../bot/notifications/render.js';
import { createNotificationChat } from '../bot/notifications/telegram-notification-chat.js';
import { publishAdminMenu } from '../bot/publish-commands.js';
import type { TelegramRuntime } from '../bot/telegram-runtime.js';
import { type Config, secretsSeen } from '../config/index.js';
import { withDeadline } from '../deadline.js';
import type { ExpectedFailures } from '../doctor/audit.js';
import type { SettingsFallback } from '../doctor/facts.js';
import type { Logger } from '../logger.js';
import { createChatMigrations } from '../notifications/chat-migrations.js';
import { createChatReach } from '../notifications/chat-reach.js';
import { createNotifications, peerThroughRedis } from '../notifications/notifications.js';
import type { PreviewService } from '../previews/preview-service.js';
import type { PromotionService } from '../promotion/promotion-service.js';
import { createRedactor } from '../redact.js';
import { createAuditLog } from '../store/audit-log.js';
import { createChatMigrationStore } from '../store/chat-migrations.js';
import { createConversationStates } from '../store/conversation-states.js';
import { createNotificationOutbox } from '../store/notifications.js';
import { createPromotionStore } from '../store/promotions.js';
import { keyspace } from '../store/redis.js';
import { buildBotDeps } from './bot-deps.js';
import { gitShaOf } from './build-info.js';
import { openConnections, otherPrefixOf } from './connections.js';
import { buildDeployParts } from './deploy-parts.js';
import { forgeOf } from './forge.js';
import { buildHealth } from './health.js';
import { buildHttp } from './http.js';
import { buildMetrics, watchSources } from './metrics.js';
import { migrateIfBehind } from './migration-check.js';
import { buildPreviewNotifier } from './preview-chat.js';
import { buildPreviews } from './previews.js';
import { buildPromotion } from './promotion.js';
import { countingPromotions } from './promotion-metrics.js';
import { buildRefreshMailbox } from './refresh.js';
import { buildSelfStatus, buildUsageSampler } from './status.js';
import { announceBot, buildTelegram } from './telegram.js';

/** How long into the first long poll the deploy engine is loaded when no update was waiting. */
const BACKGROUND_AFTER_MS = 1_000;

export interface Instance {
  readonly port: number;
  readonly telegram: TelegramRuntime;
  /** The staging instance's promotions; undefined on production. */
  readonly promotion?: PromotionService;
  /** The staging instance's previews (flag `previews`); undefined otherwise. */
  readonly previews?: PreviewService;
  /** Stops taking updates, finishes those in flight, closes HTTP, Postgres and Redis. */
  stop(): Promise<void>;
}

export interface InstanceOptions {
  /** Octokit retries and throttling; on unless a test wants to see GitHub's answers as they are. */
  readonly resilientGitHub?: boolean;
  /** The GitHub client's deadline per request and retry pace (tests shorten both). */
  readonly gitHubClient?: { readonly timeoutMs?: number; readonly retryBaseMs?: number };
  /** The clock of promotions (CI deadlines, button expiry); tests move it. */
  readonly now?: () => Date;
  /** The Docker engine to drive (DOCKER_HOST or the default socket unless given). */
  readonly docker?: Docker;
  /**
   * /doctor's settings of both environments, over their containers' (the sandbox, whose
   * instances run as processes). Without it: the containers', or this instance's own.
   */
  readonly doctorSettings?: SettingsFallback;
  /** /doctor's failures this setting expects, and why (the sandbox's, which /doctor says are expected). */
  readonly doctorExpected?: ExpectedFailures;
  /** The namespace of every preview's names (the sandbox's run, tests); none for a real lugh. */
  readonly previewNamespace?: string;
}

/** Everything `lugh start` runs: migrations, stores, services, the bot, HTTP and the deploy worker. */
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
  // The migration check runs while the rest is built and the Bot API accepts the token:
  // nothing reads the schema before it is done (onReady, HTTP and the publishers wait for it).
  const connections = openConnections(config);
  const { pool, redis } = connections;
  const migrated = migrateIfBehind(pool, config.databaseUrl, logger);
  migrated.catch(() => {}); // awaited below; a failure must not be an unhandled rejection meanwhile
  const gitShaRead = gitShaOf(config); // never rejects: null when it cannot be read

  const audit = createAuditLog(pool, config.appEnv);
  const redact = createRedactor(secretsSeen(config));
  // One registry per instance (/metrics); the parts that count get its small interface.
  const metrics = buildMetrics(config);
  const forge = forgeOf(
    config,
    logger,
    { resilient: options.resilientGitHub, ...options.gitHubClient, metrics: metrics.metrics },
    redact,
  );
  const promotions = createPromotionStore(pool, config.appEnv);
  const chatMigrations = createChatMigrations({ store: createChatMigrationStore(pool), config, logger });
  // One Docker client for the deploy engine, /status and /doctor, made on first use:
  // dockerode (with its BuildKit gRPC and SSH clients) is not loaded before updates are taken.
  let dockerClient: Promise<Docker> | undefined;
  const docker = () =>
    (dockerClient ??= options.docker
      ? Promise.resolve(options.docker)
      : import('dockerode').then((m) => new m.default()));
  const otherPrefix = otherPrefixOf(config);
  const api = () => bot.api;
  const deploys = buildDeployParts(config, logger, {
    docker,
    connections,
    forge,
    redact,
    api,
    metrics: metrics.metrics,
  });
  // Staging with the flag on only: pull_request deliveries and the promotion's poll reach it.
  const previews = buildPreviews(config, logger, {
    connections,
    docker,
    forge,
    redact,
    namespace: options.previewNamespace,
    // A failed start is told to the notify chat once, through the outbox.
    notifier: buildPreviewNotifier(config, logger, {
      outbox: createNotificationOutbox(pool),
      redact,
      wake: () => notifications.sender.wake(),
    }),
  });
  const promotion = buildPromotion(config, logger, {
    forge,
    promotions: countingPromotions(promotions, metrics.metrics),
    redis,
    otherPrefix,
    audit,
    api,
    chatMigrations,
    now: options.now,
    // The poll that reconciles CI reconciles previews too: a missed webhook only delays.
    alsoOnPoll: previews && (() => previews.service.reconcile()),
  });
  // Which chats the bot may write to (an admin who never opened it cannot be written to).
  const chatReach = createChatReach({
    adminIds: config.adminIds,
    notifyChatId: config.notify.chatId,
    probe: chatProbe(api),
    logger,
    redis,
    prefix: config.redisPrefix,
    release: async (chatId) => {
      const released = await notifications.outbox.releaseChat(chatId);
      if (released > 0) notifications.sender.wake();
      return released;
    },
    publishAdminMenu: (adminId) => publishAdminMenu(bot.api, commands, adminId, logger),
  });
  const health = buildHealth(connections, () => telegram.status());
  const self = buildSelfStatus(config, logger, { startedAt, health, redis, deploys });
  const usage = buildUsageSampler(config, { docker, redis, otherPrefix });
  const conversationStates = createConversationStates<VersionedState<ConversationData>>(
    redis,
    keyspace(config.redisPrefix),
  );
  // Long polling: other instances' writes of conversation state are heard, so chats' states
  // can be cached while this instance holds the poller lease (bot/conversation-storage.ts).
  const conversationWatch = config.telegram.webhookUrl ? undefined : conversationStates.watch();
  const botDeps = buildBotDeps(config, logger, {
    audit,
    redact,
    promotion,
    previews: previews?.service,
    deploys,
    pool,
    self,
    usage,
    redis,
    otherPrefix,
    docker,
    forge,
    promotions,
    chatMigrations,
    chatReach,
    doctorSettings: options.doctorSettings,
    doctorExpected: options.doctorExpected,
    previewNamespace: options.previewNamespace,
    takesUpdate: (updateId) => telegram.takes(updateId),
    knowsNew: (updateId) => telegram.knowsNew(updateId),
    metrics: metrics.metrics,
    conversationStates,
    conversationCache: conversationWatch && {
      epoch: () => {
        const holding = telegram.holding();
        const heard = conversationWatch.epoch();
        return holding === undefined || heard === undefined ? undefined : `${holding}.${heard}`;
      },
      listen: conversationWatch.onWritten,
    },
  });
  const { bot, commands } = createBot(botDeps);
  const telegram = buildTelegram(config, logger, {
    bot,
    commands,
    redis,
    startedAt,
    chatMigrations,
    chatReach,
    migrated: migrated.then(() => {}),
    onReady: async () => {
      await deploys.publishLock();
      // With long polling, after the first batch is handled (or a moment into the first long
      // poll, when none was waiting); a webhook instance at once.
      setTimeout(startBackground, config.telegram.webhookUrl ? 0 : BACKGROUND_AFTER_MS).unref();
    },
    // The other instance's /status reads the published status: keep it current.
    onStatus: isApp ? () => setImmediate(() => void self.publish()) : undefined,
  });
  let stopped = false;
  let background = false;
  /** The menu and reach check under way: stop() lets them end before closing the connections. */
  let announced: Promise<void> | undefined;
  /**
   * No first reply needs the deploy engine, the usage sampler, the promotion's polls, the
   * command menu or the check of which chats the bot reaches:
   * BullMQ, dockerode (with its gRPC, protobuf and SSH clients) and Octokit are loaded and
   * started once updates are taken.
   * Loading them holds the one thread for 100-200 ms, so not while the first batch waits
   * for its answers; a command that needs the engine before then awaits it.
   */
  const startBackground = () => {
    if (stopped || background) return;
    background = true;
    announced = telegram.ready.then((me) => announceBot(config, logger, { bot, commands, chatReach }, me));
    startEngine();
    // A pre-flight container only proves its health: it neither follows promotions nor samples.
    if (isApp) {
      promotion?.startPolling();
      usage.start();
      // A failure to load is logged and tried again with backoff (app/previews.ts).
      void previews?.start();
    }
  };
  let polls = 0;
  // The second getUpdates is asked once the first batch was handled (grammY polls one batch at a time).
  bot.api.config.use((prev, method, payload, signal) => {
    if (method === 'getUpdates' && ++polls === 2) setImmediate(startBackground);
    return prev(method, payload, signal);
  });
  /** Loads and starts the deploy engine; a failure is logged and tried again with backoff, until stop. */
  const startEngine = (delayMs = 1_000): void => {
    void deploys
      .engine()
      .then((engine) => (stopped ? undefined : engine.start()))
      .catch((error: unknown) => {
        if (stopped) return;
        logger.warn({ err: error }, 'could not start the deploy engine; trying again');
        setTimeout(() => startEngine(Math.min(delayMs * 2, 30_000)), delayMs).unref();
      });
  };
  // Deploy results, health, failed promotions, expired locks: to NOTIFY_CHAT_ID (notifications.ts).
  const notifications = createNotifications({
    config,
    logger,
    pool,
    chat: createNotificationChat(config, redact, chatMigrations),
    texts: createNotificationTexts(redact),
    redact,
    locks: deploys.locks,
    deployments: deploys.deployments,
    promotions: config.isStaging ? promotions : undefined,
    readiness: health,
    peer: peerThroughRedis(redis, otherPrefix),
  });
  try {
    await migrated;
  } catch (error) {
    // A database lugh cannot migrate: nothing was taken; stop what started and refuse.
    await telegram.stop();
    await usage.stop();
    conversationWatch?.close();
    await connections.close();
    throw error;
  }
  const gitSha = await gitShaRead;
  if (isApp) self.startPublishing();
  const http = buildHttp(config, logger, {
    startedAt,
    gitSha,
    health,
    telegram,
    promotions,
    promotion,
    engine: deploys.engine,
    redis,
    previews: previews?.service,
    metrics: { render: metrics.render, token: config.metrics.token },
  });
  watchSources(metrics, config, {
    connections,
    outbox: notifications.outbox,
    locks: deploys.locks,
    previews,
  });
  // Staging: production's /refresh staging hands it anonymised dumps through REFRESH_DIR (refresh.ts).
  const refreshMailbox = buildRefreshMailbox(config, logger, {
    pool,
    locks: deploys.locks,
    report: async (html) => {
      if (config.notify.chatId !== undefined)
        await createNotificationChat(config, redact, chatMigrations).send(config.notify.chatId, html);
    },
  });
  const port = await http.listen(config.port);
  if (isApp) refreshMailbox?.start();
  logger.info({ port, env: config.appEnv, gitSha }, `lugh ${config.appEnv} listening on :${port}`);
  if (isApp) notifications.start();

  let stopping: Promise<void> | undefined;
  return {
    port,
    telegram,
    promotion,
    previews: previews?.service,
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        self.stopPublishing();
        await usage.stop();
        await telegram.stop();
        await withDeadline(announced ?? Promise.resolve(), 2_000).catch(() => {});
        await promotion?.stop();
        // A preview job in flight is left to BullMQ, which hands it to the next worker.
        await withDeadline(previews?.stop() ?? Promise.resolve(), 3_000).catch(() => {});
        // A deploy in flight is left to its job: BullMQ hands it to the next worker, which re-attaches.
        await withDeadline(
          deploys.loadedEngine().then((engine) => engine?.stop()),
          3_000,
        ).catch(() => {});
        await deploys.notifier.flush();
        await withDeadline(notifications.stop(), 2_000).catch(() => {});
        // A refresh being applied is left to its files: the next staging ends it (recover-refresh.ts).
        await withDeadline(refreshMailbox?.stop() ?? Promise.resolve(), 2_000).catch(() => {});
        await http.close();
        conversationWatch?.close();
        await connections.close();
      })();
      return stopping;
    },
  };
}
