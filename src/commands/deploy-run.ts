import Docker from 'dockerode';
import { openConnections } from '../app/connections.js';
import { buildDeployParts } from '../app/deploy-parts.js';
import { forgeOf } from '../app/forge.js';
import { createBot } from '../bot/create-bot.js';
import { secretsOf } from '../config.js';
import { createRedactor } from '../redact.js';
import { createAuditLog } from '../store/audit-log.js';
import { type CliCommand, loggerFor, readConfig, usageError } from './command.js';

/**
 * `lugh deploy-run <id>`: runs one deployment to its end and exits, reporting through
 * Postgres and the bot's chat. What the deploy runner container executes.
 */
export const deployRunCommand: CliCommand = {
  name: 'deploy-run',
  usage: 'deploy-run ID  run deployment ID to its end (what a deploy runner container executes)',
  async run({ args, env }) {
    const id = Number(args[0]);
    if (!Number.isInteger(id) || id < 1)
      usageError('lugh deploy-run: give the deployment id, e.g. lugh deploy-run 42');
    const config = readConfig(env);
    const logger = loggerFor(config);
    const connections = openConnections(config, `lugh-${config.appEnv}-runner`);
    const redact = createRedactor(secretsOf(config));
    // The bot only speaks here (marked as staging, retried like every message); it takes no updates.
    const { bot } = createBot({
      config,
      logger,
      audit: createAuditLog(connections.pool, config.appEnv),
      redact,
    });
    const { engine, notifier } = buildDeployParts(config, logger, {
      docker: new Docker(),
      connections,
      forge: forgeOf(config, logger),
      redact,
      api: () => bot.api,
    });
    let code = 0;
    try {
      const outcome = await engine.runner.run(id);
      logger.info({ deploymentId: id, outcome }, 'deploy runner finished');
    } catch (error) {
      logger.error({ err: error, deploymentId: id }, 'deploy runner failed');
      code = 1;
    } finally {
      await notifier.flush();
      await connections.close();
    }
    process.exit(code);
  },
};
