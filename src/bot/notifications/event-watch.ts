import type { Logger } from '../../logger.js';
import type { DeploymentStore } from '../../store/deployments.js';
import type { LockStore } from '../../store/locks.js';
import type { NotificationOutbox } from '../../store/notifications.js';
import type { PromotionStatus, PromotionStore } from '../../store/promotions.js';
import { renderLockExpired, renderPromotionEnded } from './render.js';

/**
 * How far back the watch looks for ended promotions and expired locks. Older events are
 * not announced (a notice a day late helps nobody; Telegram itself keeps updates 24 h),
 * and the outbox keeps keys longer than this, so nothing is announced twice. Nor does it
 * look back before the outbox existed (migration 0004): the first start after the upgrade
 * would otherwise announce the whole past day at once.
 */
export const EVENT_LOOKBACK_MS = 24 * 60 * 60_000;

/** Ends of a promotion worth a notice: failed, or abandoned (expired, cancelled). A "No" is a decision, not news. */
export const NOTIFIED_PROMOTION_ENDS: readonly PromotionStatus[] = ['failed', 'expired', 'cancelled'];

export interface EventWatchOptions {
  readonly outbox: NotificationOutbox;
  readonly chatId: number;
  readonly locks: LockStore;
  readonly deployments: DeploymentStore;
  /** The staging instance's promotions; absent on production, which has none. */
  readonly promotions?: PromotionStore;
  readonly redact: (text: string) => string;
  readonly logger: Logger;
}

/**
 * Looks at this instance's own database for events that no code path announces to the
 * notify chat: promotions that failed or were abandoned, and locks that ran out without
 * being released. Each is queued under a key naming the event, so looking again (or
 * another process looking) queues nothing new.
 */
export function createEventWatch(options: EventWatchOptions) {
  const { outbox, chatId, redact } = options;
  const log = options.logger.child({ component: 'event-watch' });

  /** The look-back of this round: 24 h, or less when the outbox is younger. */
  const lookback = async () =>
    Math.min(EVENT_LOOKBACK_MS, (await outbox.existedForMs()) ?? EVENT_LOOKBACK_MS);

  const promotions = async () => {
    if (!options.promotions) return;
    for (const p of await options.promotions.endedRecently(NOTIFIED_PROMOTION_ENDS, await lookback())) {
      // The promotion told its own chat how it ended: that chat needs no second copy.
      if (p.chatId === chatId) continue;
      await outbox.enqueue(`promotion:${p.id}:${p.status}`, chatId, renderPromotionEnded(p, redact));
    }
  };

  const locks = async () => {
    for (const lock of await options.locks.expiredUnreleased(await lookback())) {
      const key = `lock:${lock.name}:${lock.owner}:${lock.expiresAt.toISOString()}`;
      if (await outbox.get(key)) continue;
      const deploymentId = lock.owner.match(/^deployment:(\d+)$/)?.[1];
      const deployment = deploymentId ? await options.deployments.get(Number(deploymentId)) : undefined;
      const env = lock.name.replace(/^deploy:/, '');
      await outbox.enqueue(key, chatId, renderLockExpired(env, lock, deployment, redact));
    }
  };

  return {
    /** One look at both sources; one failing does not keep the other from running. */
    async check(): Promise<void> {
      for (const [what, work] of [
        ['promotions', promotions],
        ['locks', locks],
      ] as const) {
        await work().catch((error: unknown) => log.warn({ err: error }, `could not check ${what}`));
      }
    },
  };
}

export type EventWatch = ReturnType<typeof createEventWatch>;
