import type { MiddlewareFn } from 'grammy';
import type { Logger } from '../../logger.js';
import type { BotContext, UpdateGate } from '../context.js';

/**
 * Installed first: an update is handled only by an instance that may take updates now
 * (one that stopped or lost its poller lease leaves the rest of its batch to the next
 * poller) and only once per environment (the next poller is given again what the old one
 * handled but could not confirm). A claim Redis cannot answer fails the update, and the
 * chat is told to try again: handling it unclaimed could handle it twice.
 *
 * Fast path: when the gate knows the update is new here (`knowsNew`: this instance has
 * polled under one uninterrupted lease holding since before the batch that brought it, and
 * it is past the holding's first batch), the claim is written behind: put on the Redis
 * socket before the handler runs, not waited for. The claim is then only for a later
 * holder, which waits for the claims of its first batch; the lease's release goes out on
 * the same connection after it. A claim that fails or finds the update claimed is logged
 * as an error, and the claims after it are waited for again until one succeeds (Redis
 * refusing writes, e.g. a replica after a failover, fails those updates as before) (docs/ARCHITECTURE.md, "the poller's fast path", names the window this leaves).
 */
export function oncePerUpdate(
  gate: UpdateGate,
  logger: Logger,
  /** Started alongside the claim (the conversation state's read): one round trip, not two. */
  alongside?: (ctx: BotContext) => void,
): MiddlewareFn<BotContext> {
  /** Set when a claim written behind failed: claims are waited for until one succeeds. */
  let behindFailed = false;
  const behind = (updateId: number, claimed: Promise<boolean>) =>
    claimed.then(
      (first) => {
        if (first) return;
        behindFailed = true;
        logger.error(
          { updateId },
          'update handled, but its claim found it already claimed in this environment',
        );
      },
      (error: unknown) => {
        behindFailed = true;
        logger.error({ err: error, updateId }, 'update handled, but its claim could not be written');
      },
    );
  return async (ctx, next) => {
    const updateId = ctx.update.update_id;
    if (!gate.mayTake(updateId)) {
      logger.debug({ updateId }, 'update left to the next poller: this one no longer takes updates');
      return;
    }
    if (!behindFailed && gate.knowsNew?.(updateId)) {
      behind(updateId, gate.claim(updateId));
      return next();
    }
    const claimed = gate.claim(updateId);
    alongside?.(ctx);
    if (!(await claimed)) {
      logger.info({ updateId }, 'update skipped: already handled in this environment');
      return;
    }
    behindFailed = false;
    await next();
  };
}
