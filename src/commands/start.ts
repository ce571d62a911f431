import { startInstance } from '../app/instance.js';
import { type CliCommand, loggerFor, readConfig } from './command.js';
import { handleShutdown, logStrayRejections, watchTelegram } from './lifecycle.js';

export const startCommand: CliCommand = {
  name: 'start',
  usage: 'start        run the bot, the HTTP server (/healthz, /version, webhooks) and migrations',
  async run({ env }) {
    const config = readConfig(env);
    const logger = loggerFor(config);
    logStrayRejections(logger);
    for (const warning of config.warnings) logger.warn(warning);
    const instance = await startInstance(config, logger);
    watchTelegram(
      instance,
      logger,
      handleShutdown(logger, () => instance.stop()),
    );
  },
};
