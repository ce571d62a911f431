// A world for notification tests: a migrated database (pools opened and closed at will, as
// a restarted process would), the Telegram stand-in with one bot, and its users' chats.
import { Api } from 'grammy';
import { createDeployNotifier } from '../../src/bot/deploys/deploy-notifier.js';
import type { Config } from '../../src/config/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import type { DeploymentStore } from '../../src/store/deployments.js';
import { runMigrations } from '../../src/store/migrate.js';
import { createPool, type Pool } from '../../src/store/pool.js';
import { ADMIN_ID, instanceConfig } from './instance-env.js';
import { silentLogger } from './logger.js';
import { createTestDatabase, type TestDatabase } from './services.js';
import { openChat } from './telegram.js';

export const quiet = silentLogger;

export interface NotificationWorld {
  readonly tg: TelegramStandIn;
  readonly db: TestDatabase;
  readonly token: string;
  readonly config: Config;
  /** A new pool on the world's database (closed by close()). */
  pool(): Pool;
  /** The user writes /start to the bot, so the bot may write to them. */
  start(userId: number): void;
  /** The texts of the bot's messages in a chat, oldest first. */
  botTexts(chatId: number): string[];
  /**
   * The deploy notifier of the world's bot, writing to the admin's chat: through `api` when
   * given (a test's transformer on it), its edits `minEditIntervalMs` apart (default 0).
   */
  deployNotifier(
    deployments: DeploymentStore,
    options?: { api?: Api; minEditIntervalMs?: number },
  ): ReturnType<typeof createDeployNotifier>;
  close(): Promise<void>;
}

export async function createNotificationWorld(options: {
  appEnv?: 'staging' | 'production';
  token: string;
  extra?: Record<string, string>;
}): Promise<NotificationWorld> {
  const appEnv = options.appEnv ?? 'staging';
  const tg = await startTelegramStandIn();
  tg.registerBot({ token: options.token, username: 'LughNotifyBot', firstName: 'Lugh' });
  const db = await createTestDatabase(appEnv === 'staging' ? 'staging_lugh' : 'prod_lugh');
  await runMigrations({ databaseUrl: db.url, logger: quiet });
  const config = instanceConfig({
    appEnv,
    databaseUrl: db.url,
    apiRoot: tg.apiRoot,
    token: options.token,
    extra: options.extra,
  });
  const pools: Pool[] = [];
  return {
    tg,
    db,
    token: options.token,
    config,
    pool() {
      const pool = createPool(db.url, 'notifications-test');
      pools.push(pool);
      return pool;
    },
    start(userId = ADMIN_ID) {
      openChat(tg, options.token, { id: userId, first_name: `User${userId}` });
    },
    deployNotifier(
      deployments,
      { api = new Api(options.token, { apiRoot: tg.apiRoot }), minEditIntervalMs = 0 } = {},
    ) {
      return createDeployNotifier({
        api: () => api,
        deployments,
        logger: quiet,
        redact: (t) => t,
        fallbackChatId: ADMIN_ID,
        minEditIntervalMs,
      });
    },
    botTexts(chatId) {
      return tg
        .transcript(options.token, chatId)
        .flatMap((e) => (e.kind === 'bot_message' && e.text !== undefined ? [e.text] : []));
    },
    async close() {
      await Promise.allSettled(pools.map((p) => p.end()));
      await tg.close();
      await db.drop();
    },
  };
}
