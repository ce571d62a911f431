import type { TelegramRuntime } from '../bot/telegram-runtime.js';
import type { Config } from '../config/index.js';
import type { DeployEngine } from '../deployer/deploy-engine.js';
import { githubWebhookHandler } from '../http/github-webhook.js';
import { createHttpServer, type HttpServerOptions } from '../http/server.js';
import type { Logger } from '../logger.js';
import type { PreviewService } from '../previews/preview-service.js';
import type { PromotionService } from '../promotion/promotion-service.js';
import { createWebhookLog } from '../status/webhook-log.js';
import type { PromotionStore } from '../store/promotions.js';
import { keyspace, type Redis } from '../store/redis.js';
import { PACKAGE_VERSION } from './build-info.js';
import type { Health } from './health.js';

/** The HTTP server: /healthz, /version, /metrics, and the Telegram and GitHub webhooks when configured. */
export function buildHttp(
  config: Config,
  logger: Logger,
  parts: {
    startedAt: Date;
    gitSha: string | null;
    health: Health;
    /** Its `webhook` answers POST /webhooks/telegram when TELEGRAM_WEBHOOK_URL is set. */
    telegram: Pick<TelegramRuntime, 'webhook'>;
    promotions: PromotionStore;
    promotion?: PromotionService;
    /** The deploy engine, loaded on first use (deploy-parts.ts). */
    engine: () => Promise<DeployEngine>;
    /** Where each GitHub delivery's outcome is recorded for /status. */
    redis: Redis;
    /** Previews (staging, flag `previews`): pull_request deliveries start, replace and close them. */
    previews?: Pick<PreviewService, 'handleWebhook'>;
    /** GET /metrics (HttpServerOptions['metrics']). */
    metrics?: HttpServerOptions['metrics'];
  },
) {
  const { startedAt, promotions, promotion, engine } = parts;
  const gitSha = parts.gitSha;
  const webhookLog = createWebhookLog(parts.redis, keyspace(config.redisPrefix));
  return createHttpServer({
    logger,
    health: parts.health,
    metrics: parts.metrics,
    version: () => ({
      env: config.appEnv,
      version: PACKAGE_VERSION,
      gitSha,
      buildTime: config.build.buildTime ?? null,
      startedAt: startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    }),
    telegramWebhook: config.telegram.webhookUrl ? parts.telegram.webhook : undefined,
    githubWebhook: config.github.webhookSecret
      ? githubWebhookHandler(
          config.github.webhookSecret,
          logger,
          async (delivery) => {
            if (!(await promotions.recordDelivery(delivery.id, delivery.event))) return 'duplicate';
            // Recorded first, so a redelivery is not handled twice; the polls catch what fails here.
            await promotion?.handleWebhook(delivery);
            await engine()
              .then((e) => e.intake?.handleWebhook(delivery.event, delivery.payload))
              .catch((error: unknown) =>
                logger.warn({ err: error, delivery: delivery.id }, 'webhook: deploy intake failed'),
              );
            // After the delivery is recorded, as the others; the previews' poll catches what fails here.
            await parts.previews
              ?.handleWebhook(delivery)
              .catch((error: unknown) =>
                logger.warn({ err: error, delivery: delivery.id }, 'webhook: previews failed'),
              );
            return 'handled';
          },
          webhookLog.record,
        )
      : undefined,
  });
}
