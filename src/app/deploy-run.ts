import { createBot } from '../bot/create-bot.js';
import { type Config, secretsSeen } from '../config/index.js';
import type { Logger } from '../logger.js';
import { createRedactor } from '../redact.js';
import { createAuditLog } from '../store/audit-log.js';
import { openConnections } from './connections.js';
import { buildDeployParts } from './deploy-parts.js';
import { forgeOf } from './forge.js';

/**
 * Runs one deployment to its end, reporting through Postgres and the bot's chat, then
 * closes everything. What a deploy runner container executes (`lugh deploy-run <id>`).
 * Resolves true when the run ended (whatever its outcome), false when it threw.
 */
export async function runDeployment(config: Config, logger: Logger, deploymentId: number): Promise<boolean> {
  const connections = openConnections(config, `lugh-${config.appEnv}-runner`);
  const redact = createRedactor(secretsSeen(config));
  // The bot only speaks here (marked as staging, retried like every message); it takes no updates.
  const { bot } = createBot({
    config,
    logger,
    audit: createAuditLog(connections.pool, config.appEnv),
    redact,
  });
  const { engine, notifier } = buildDeployParts(config, logger, {
    docker: async () => new (await import('dockerode')).default(),
    connections,
    forge: forgeOf(config, logger, undefined, redact),
    redact,
    api: () => bot.api,
  });
  try {
    const outcome = await (await engine()).runner.run(deploymentId);
    logger.info({ deploymentId, outcome }, 'deploy runner finished');
    return true;
  } catch (error) {
    logger.error({ err: error, deploymentId }, 'deploy runner failed');
    return false;
  } finally {
    await notifier.flush();
    await connections.close();
  }
}
