import type Docker from 'dockerode';
import type { Api } from 'grammy';
import { createDeployNotifier } from '../bot/deploys/deploy-notifier.js';
import { createNotificationTexts } from '../bot/notifications/render.js';
import type { Config } from '../config/index.js';
import type { DeployEngine } from '../deployer/deploy-engine.js';
import { createImageLedger } from '../deployer/image-ledger.js';
import type { Forge } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { createChatMigrations } from '../notifications/chat-migrations.js';
import { withDeployNotices } from '../notifications/deploy-notices.js';
import { createAuditLog } from '../store/audit-log.js';
import { createChatMigrationStore } from '../store/chat-migrations.js';
import { createDeploymentStore } from '../store/deployments.js';
import { publishDeployLock } from '../store/instance-registry.js';
import { createLockStore, deployLockName } from '../store/locks.js';
import { createNotificationOutbox } from '../store/notifications.js';
import { type Connections, otherPrefixOf } from './connections.js';

interface DeployPartsDeps {
  /** The Docker client, made when the engine is (dockerode is loaded then). */
  docker: () => Promise<Docker>;
  connections: Connections;
  forge?: Forge;
  redact: (t: string) => string;
  api: () => Api;
  /** Where the engine counts each ended deploy (`lugh start`'s; none in a runner container). */
  metrics?: Pick<Metrics, 'deployFinished'>;
}

/**
 * The deploy engine and what it reports through, as `lugh start` and `lugh deploy-run` build
 * it. The stores are made at once; the engine (BullMQ, dockerode, the image builder) is
 * loaded by the first `engine()` call, which `lugh start` makes once it takes updates and a
 * command that needs the engine awaits.
 */
export function buildDeployParts(config: Config, logger: Logger, parts: DeployPartsDeps) {
  const { pool, redis } = parts.connections;
  const deployments = createDeploymentStore(pool, { redact: parts.redact });
  const lockName = deployLockName(config.appEnv);
  // Published under this instance's prefix for the other one to read (see instance-registry).
  const publishLock = async () => publishDeployLock(redis, config.redisPrefix, await locks.held(lockName));
  const locks = createLockStore(pool, { onChange: publishLock });
  const fallbackChatId = config.adminIds[0]!;
  const outbox = createNotificationOutbox(pool);
  const texts = createNotificationTexts(parts.redact);
  // The deploy's own messages go to the chat that asked (or the first admin); its result
  // also to the notify chat, through the outbox, when that is another chat.
  const notifier = withDeployNotices(
    createDeployNotifier({
      api: parts.api,
      deployments,
      logger,
      redact: parts.redact,
      fallbackChatId,
      // A chat never opened with the bot: the report goes to the notify chat, and waits for it.
      keep: { outbox, notifyChatId: config.notify.chatId },
      chats: createChatMigrations({ store: createChatMigrationStore(pool), config, logger }),
    }),
    {
      outbox,
      deployments,
      notifyChatId: config.notify.chatId,
      fallbackChatId,
      texts,
      logger,
    },
  );
  const load = async (): Promise<DeployEngine> => {
    const [{ createDeployEngine }, docker, queue] = await Promise.all([
      import('../deployer/deploy-engine.js'),
      parts.docker(),
      parts.connections.deployQueue(),
    ]);
    return createDeployEngine({
      config,
      logger,
      docker,
      redis,
      queue,
      deployments,
      locks,
      forge: parts.forge,
      notifier,
      // Production runs the image staging ran when the trees match; staging says which it ran.
      images: createImageLedger(
        redis,
        config.redisPrefix,
        config.appEnv === 'production' ? { env: 'staging', prefix: otherPrefixOf(config) } : undefined,
      ),
      audit: createAuditLog(pool, config.appEnv),
      movedChats: createChatMigrationStore(pool).all,
      metrics: parts.metrics,
      // A refused handoff is news for the notify chat, once per GitHub Deployment.
      announceRefusal: async (refusal) => {
        await outbox.enqueue(
          `handoff-refused:${refusal.env}:${refusal.githubDeploymentId}`,
          config.notify.chatId,
          texts.handoffRefused(refusal),
        );
      },
    });
  };
  let engine: Promise<DeployEngine> | undefined;
  return {
    deployments,
    locks,
    publishLock,
    notifier,
    /** The deploy engine, loaded by the first call (a failed load is tried again by the next). */
    engine: (): Promise<DeployEngine> => {
      engine ??= load().catch((error: unknown) => {
        engine = undefined;
        throw error;
      });
      return engine;
    },
    /** The engine if it was loaded, without loading it (to stop it). */
    loadedEngine: (): Promise<DeployEngine | undefined> => engine ?? Promise.resolve(undefined),
  };
}

export type DeployParts = ReturnType<typeof buildDeployParts>;
