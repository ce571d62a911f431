import type { Api } from 'grammy';
import { createPromotionChat } from '../bot/promotion/chat-port.js';
import type { Config } from '../config/index.js';
import type { Forge } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import type { ChatMigrations } from '../notifications/chat-migrations.js';
import { readReach } from '../notifications/chat-reach.js';
import { createPromotionService } from '../promotion/promotion-service.js';
import type { AuditLog } from '../store/audit-log.js';
import { readDeployLock, readInstance } from '../store/instance-registry.js';
import type { PromotionStore } from '../store/promotions.js';
import type { Redis } from '../store/redis.js';

/** Promotions are the staging bot's job (it is the one asked to /promote develop to main): undefined on production. */
export function buildPromotion(
  config: Config,
  logger: Logger,
  parts: {
    forge?: Forge;
    promotions: PromotionStore;
    redis: Redis;
    otherPrefix: string;
    audit: AuditLog;
    api: () => Api;
    chatMigrations?: ChatMigrations;
    now?: () => Date;
    /** More the promotions' poll reconciles (previews). */
    alsoOnPoll?: () => Promise<void>;
  },
) {
  if (!config.isStaging) return undefined;
  const { redis, otherPrefix } = parts;
  return createPromotionService({
    config,
    logger,
    forge: parts.forge,
    promotions: parts.promotions,
    productionLock: () => readDeployLock(redis, otherPrefix),
    productionBot: async () => (await readInstance(redis, otherPrefix))?.botUsername,
    // Production publishes whom its bot cannot write to (notifications/chat-reach.ts).
    productionReach: () => readReach(redis, otherPrefix),
    audit: parts.audit,
    chat: createPromotionChat(parts.api, parts.chatMigrations),
    promoteChatIds: parts.chatMigrations?.promoteChatIds,
    now: parts.now,
    alsoOnPoll: parts.alsoOnPoll,
  });
}
