import { autoRetry } from '@grammyjs/auto-retry';
import { conversations } from '@grammyjs/conversations';
import { type Api, Bot, GrammyError, HttpError } from 'grammy';
import type { Logger } from '../logger.js';
import { REPLY_RETRY_MAX_SECONDS } from '../stop-grace.js';
import type { BotContext, BotDeps, CommandInfo, Feature } from './context.js';
import { createConversationStorage } from './conversation-storage.js';
import { chatMigrationFeature } from './features/chat-migration.js';
import { deliveryFeature } from './features/delivery.js';
import { deployFeature } from './features/deploy.js';
import { doctorFeature } from './features/doctor.js';
import { flagsFeature } from './features/flags.js';
import { helpFeature } from './features/help.js';
import { historyFeature } from './features/history.js';
import { lockFeature } from './features/lock.js';
import { logsFeature } from './features/logs.js';
import { previewsFeature } from './features/previews.js';
import { createPromoteFeature, PROMOTE_CONVERSATION_VERSION } from './features/promote.js';
import { refreshFeature } from './features/refresh.js';
import { restoreFeature } from './features/restore.js';
import { rollbackFeature } from './features/rollback.js';
import { startFeature } from './features/start.js';
import { statusFeature } from './features/status.js';
import { unknownFeature } from './features/unknown.js';
import { versionFeature } from './features/version.js';
import { whoamiFeature } from './features/whoami.js';
import { anonymousSender } from './guards/is-admin.js';
import { oncePerUpdate } from './guards/once-per-update.js';
import { lateCallbackAnswers } from './late-callback-answers.js';
import { redactOutgoing } from './redact-outgoing.js';
import { stagingMarker } from './staging-marker.js';
import { countUpdates } from './update-metrics.js';

/** The ordered feature list; the catch-all `unknownFeature` is installed after it. */
function features(deps: BotDeps): readonly Feature[] {
  const admins = new Set(deps.config.adminIds);
  // A conversation that outlives both CI and its buttons has nothing left to wait for.
  const promoteWait = deps.config.promote.ciTimeoutMs + deps.config.promote.approvalTtlMs * 2;
  return [
    chatMigrationFeature,
    startFeature,
    helpFeature,
    whoamiFeature,
    versionFeature,
    statusFeature,
    flagsFeature,
    createPromoteFeature(deps.promotion, admins, promoteWait),
    deployFeature,
    rollbackFeature,
    restoreFeature,
    refreshFeature,
    lockFeature,
    historyFeature,
    deliveryFeature,
    logsFeature,
    previewsFeature(deps),
    doctorFeature,
  ];
}

/**
 * What every outgoing Bot API call of lugh goes through: the staging marker (and HTML as
 * the default parse mode), then retries of 429s and 5xx. Network errors are not retried
 * here: auto-retry would retry them forever with up to an hour between attempts, hiding an
 * unreachable Bot API from /healthz; the Telegram runtime backs off on those itself.
 * Before all of them, the redactor: no secret reaches Telegram, whoever wrote the text. A
 * callback answer Telegram refuses as too old is logged and taken as answered.
 */
function installTransformers(
  api: Api,
  isStaging: boolean,
  redact: (text: string) => string,
  logger: Logger,
): void {
  api.config.use(redactOutgoing(redact));
  api.config.use(lateCallbackAnswers(logger));
  // The marker copies the payload it marks, so auto-retry's repeated calls never mark twice.
  api.config.use(stagingMarker(isStaging));
  api.config.use(
    autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: REPLY_RETRY_MAX_SECONDS, rethrowHttpErrors: true }),
  );
}

/**
 * Builds the bot with every feature installed; it neither polls nor calls Telegram yet.
 * `commands` is what /help and setMyCommands list: what this environment's bot does (a
 * command `only` the other bot does is still answered, with a pointer, but not listed).
 */
export function createBot(deps: BotDeps): { bot: Bot<BotContext>; commands: readonly CommandInfo[] } {
  const { config, logger } = deps;
  const bot = new Bot<BotContext>(config.telegram.token, { client: { apiRoot: config.telegram.apiRoot } });

  installTransformers(bot.api, config.isStaging, deps.redact, logger);

  const installed = features(deps);
  const commands = installed
    .flatMap((f) => f.commands)
    .filter((c) => c.only === undefined || c.only === config.appEnv);
  const admins = new Set(config.adminIds);
  const conversationStore = deps.conversationStorage
    ? createConversationStorage<BotContext>(
        deps.conversationStorage,
        PROMOTE_CONVERSATION_VERSION,
        deps.conversationCache,
      )
    : undefined;
  if (deps.metrics) bot.use(countUpdates(deps.metrics));
  if (deps.updateGate) bot.use(oncePerUpdate(deps.updateGate, logger, conversationStore?.readAhead));
  bot.use((ctx, next) => {
    ctx.deps = deps;
    ctx.commands = commands;
    // A message written as a group or a channel names nobody, whatever its `from` says.
    ctx.isAdmin = ctx.from !== undefined && admins.has(ctx.from.id) && !anonymousSender(ctx);
    return next();
  });
  bot.use(
    conversations({
      // A conversation builds its own Api for each replay: it gets the same marker and retries.
      plugins: [
        (ctx, next) => {
          installTransformers(ctx.api, config.isStaging, deps.redact, logger);
          return next();
        },
      ],
      storage: conversationStore?.storage,
    }),
  );
  for (const feature of installed) bot.use(feature.composer);
  bot.use(unknownFeature);

  bot.catch(async ({ error, ctx }) => {
    const kind =
      error instanceof GrammyError ? 'telegram' : error instanceof HttpError ? 'network' : 'internal';
    logger.error({ err: error, kind, updateId: ctx.update.update_id }, 'update failed');
    if (!ctx.chat) return;
    await ctx
      .reply('Something went wrong while handling that; it has been logged. Try again in a moment.')
      .catch((replyError: unknown) =>
        logger.warn({ err: replyError }, 'could not report the failure to the chat'),
      );
  });
  return { bot, commands };
}
