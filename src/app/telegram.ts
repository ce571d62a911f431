import type { Bot } from 'grammy';
import type { BotContext, CommandInfo } from '../bot/context.js';
import { publishCommands } from '../bot/publish-commands.js';
import { startTelegramRuntime } from '../bot/telegram-runtime.js';
import { checkTelegramSetup } from '../bot/telegram-setup-check.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { ChatMigrations } from '../notifications/chat-migrations.js';
import type { ChatReach } from '../notifications/chat-reach.js';
import { registerInstance } from '../store/instance-registry.js';
import { createPollerLease } from '../store/poller-lease.js';
import { keyspace, type Redis } from '../store/redis.js';
import { otherPrefixOf } from './connections.js';

/** Raised when the other environment already drives this bot token. */
export class TokenSharedAcrossEnvironmentsError extends Error {
  override name = 'TokenSharedAcrossEnvironmentsError';
}

/**
 * Connects the bot to Telegram (long polling under this environment's poller lease, or a
 * webhook). Once the token is accepted: refuses a token the other environment uses, waits
 * for the migration check, then runs `onReady` (promotions, the deploy engine) and takes
 * updates. The command menu and the check of which admins and notify chat it can write to
 * answer no update: they go to `afterFirstBatch`, which runs them once the first batch is
 * handled (each is Bot API round trips, and their CPU came before the first reply).
 */
export function buildTelegram(
  config: Config,
  logger: Logger,
  parts: {
    bot: Bot<BotContext>;
    commands: readonly CommandInfo[];
    redis: Redis;
    startedAt: Date;
    onReady: () => Promise<void>;
    /** Settles when the database is migrated: nothing that reads it runs before. */
    migrated?: Promise<void>;
    onStatus?: () => void;
    chatMigrations?: ChatMigrations;
    chatReach?: ChatReach;
    /** Runs a task once the first batch of updates is handled (at once when that was before). */
    afterFirstBatch: (task: () => Promise<void>) => void;
  },
) {
  const { bot, redis } = parts;
  /** onReady is tried again after a failure: the menu and the reach check are handed over once. */
  let handedOver = false;
  return startTelegramRuntime(bot, {
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
        startedAt: parts.startedAt.toISOString(),
      });
      if (clash) {
        throw new TokenSharedAcrossEnvironmentsError(
          `TELEGRAM_BOT_TOKEN is @${clash.botUsername}, which the ${clash.env} instance uses: each environment needs its own bot`,
        );
      }
      if (!handedOver) {
        handedOver = true;
        // Neither throws: a refusal is logged (and the menu published when the admin first writes).
        parts.afterFirstBatch(async () => {
          await Promise.all([
            publishCommands(bot.api, parts.commands, config.adminIds, logger).then((menus) =>
              // Which admins the bot cannot write to yet: published to them when they first write.
              parts.chatReach?.menuRefused(menus.refusedAdmins),
            ),
            // Which admins (and notify chat) the bot cannot write to yet: logged, published, in /status.
            parts.chatReach
              ?.check(me.username)
              .catch((error: unknown) =>
                logger.warn({ err: error }, 'could not check which chats the bot reaches'),
              ),
          ]);
        });
      }
      await parts.migrated;
      const moved = (await parts.chatMigrations?.moved()) ?? new Map<number, number>();
      for (const f of checkTelegramSetup(me, config, moved))
        logger[f.level]({ check: 'telegram setup' }, f.message);
      await parts.onReady();
    },
    isFatal: (error) => error instanceof TokenSharedAcrossEnvironmentsError,
    onStatus: parts.onStatus,
    lease: config.telegram.webhookUrl ? undefined : createPollerLease(redis, keyspace(config.redisPrefix)),
  });
}
