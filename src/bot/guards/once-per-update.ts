import type { MiddlewareFn } from 'grammy';
import type { Logger } from '../../logger.js';
import type { BotContext, UpdateGate } from '../context.js';

/**
 * Installed first: an update is handled only by an instance that may take updates now
 * (one that stopped or lost its poller lease leaves the rest of its batch to the next
 * poller) and only once per environment (the next poller is given again what the old one
 * handled but could not confirm). A claim Redis cannot answer fails the update, and the
 * chat is told to try again: handling it unclaimed could handle it twice.
 */
export function oncePerUpdate(
  gate: UpdateGate,
  logger: Logger,
  /** Started alongside the claim (the conversation state's read): one round trip, not two. */
  alongside?: (ctx: BotContext) => void,
): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    const updateId = ctx.update.update_id;
    if (!gate.mayTake(updateId)) {
      logger.debug({ updateId }, 'update left to the next poller: this one no longer takes updates');
      return;
    }
    const claimed = gate.claim(updateId);
    alongside?.(ctx);
    if (!(await claimed)) {
      logger.info({ updateId }, 'update skipped: already handled in this environment');
      return;
    }
    await next();
  };
}
