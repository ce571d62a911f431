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
 * updates. The command menu and the reach check answer no update: `announceBot` runs them
 * once updates are taken (each is Bot API round trips, and their CPU came before the first
 * reply).
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
  },
) {
  const { bot, redis } = parts;
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

/**
 * Publishes the command menu and checks which admins and notify chat the bot can write to
 * (logged, published for the other instance, in /status). Run once the bot takes updates:
 * neither answers one. Never throws: a refusal is logged, and a refused admin menu is
 * published when that admin first writes.
 */
export async function announceBot(
  config: Config,
  logger: Logger,
  parts: { bot: Bot<BotContext>; commands: readonly CommandInfo[]; chatReach?: ChatReach },
  me: { readonly username: string },
): Promise<void> {
  await Promise.all([
    publishCommands(parts.bot.api, parts.commands, config.adminIds, logger).then((menus) =>
      parts.chatReach?.menuRefused(menus.refusedAdmins),
    ),
    parts.chatReach
      ?.check(me.username)
      .catch((error: unknown) => logger.warn({ err: error }, 'could not check which chats the bot reaches')),
  ]);
}
