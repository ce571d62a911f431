import type { Instance } from '../app/instance.js';
import { TokenSharedAcrossEnvironmentsError } from '../app/telegram.js';
import type { Logger } from '../logger.js';
import { SHUTDOWN_DEADLINE_MS } from '../stop-grace.js';
import { EXIT_CONFIG } from './command.js';

export type Shutdown = (reason: string, code: number) => Promise<void>;

/**
 * Runs `stop` once on SIGTERM/SIGINT (or when the returned `shutdown` is called), then
 * exits. A deadline forces the exit when stopping hangs.
 */
export function handleShutdown(
  logger: Logger,
  stop: () => Promise<void>,
  deadlineMs = SHUTDOWN_DEADLINE_MS,
): Shutdown {
  let started = false;
  const shutdown = async (reason: string, code: number) => {
    if (started) return;
    started = true;
    logger.info({ reason }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting anyway');
      process.exit(code || 1);
    }, deadlineMs).unref();
    await stop();
    logger.info('stopped');
    process.exit(code);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  return shutdown;
}

/**
 * Logs a promise rejection nobody handled instead of letting Node end the process on it
 * (its default since Node 15): a stray rejection in one feature must not take the whole
 * bot down without a word. The logger redacts secrets from the line. Returns the way to
 * stop listening.
 */
export function logStrayRejections(logger: Logger): () => void {
  const onRejection = (reason: unknown) => {
    logger.error({ err: reason }, 'a promise rejection was not handled; lugh keeps running');
  };
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('unhandledRejection', onRejection);
  };
}

/** Exits (code 2) when an instance finds its bot token already used by the other environment. */
export function watchTelegram(instance: Instance, logger: Logger, shutdown: Shutdown) {
  instance.telegram.done.catch((error: unknown) => {
    if (error instanceof TokenSharedAcrossEnvironmentsError) {
      logger.fatal(error.message);
      void shutdown('configuration crosses environments', EXIT_CONFIG);
    } else {
      logger.error({ err: error }, 'the Telegram connection stopped');
    }
  });
}
