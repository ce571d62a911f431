import type { Logger } from '../logger.js';
import type { DeploymentStore } from '../store/deployments.js';
import { deploymentOfOwner, envOfLockName, type LockStore } from '../store/locks.js';
import type { NotificationOutbox } from '../store/notifications.js';
import type { PromotionStatus, PromotionStore } from '../store/promotions.js';
import type { NotificationTexts } from './notification-texts.js';

/**
 * How far back the watch looks for ended promotions and expired locks. Older events are
 * not announced (a notice a day late helps nobody; Telegram itself keeps updates 24 h),
 * and the outbox keeps keys longer than this, so nothing is announced twice. Nor does it
 * look back before the outbox existed (migration 0004): the first start after the upgrade
 * would otherwise announce the whole past day at once.
 */
const EVENT_LOOKBACK_MS = 24 * 60 * 60_000;

/** Ends of a promotion worth a notice: failed, or abandoned (expired, cancelled). A "No" is a decision, not news. */
const NOTIFIED_PROMOTION_ENDS: readonly PromotionStatus[] = ['failed', 'expired', 'cancelled'];

export interface EventWatchOptions {
  readonly outbox: NotificationOutbox;
  readonly chatId: number;
  readonly locks: LockStore;
  readonly deployments: DeploymentStore;
  /** The staging instance's promotions; absent on production, which has none. */
  readonly promotions?: PromotionStore;
  readonly texts: Pick<NotificationTexts, 'promotionEnded' | 'lockExpired'>;
  readonly logger: Logger;
}

/**
 * Looks at this instance's own database for events that no code path announces to the
 * notify chat: promotions that failed or were abandoned, and locks that ran out without
 * being released. Each is queued under a key naming the event, so looking again (or
 * another process looking) queues nothing new.
 */
export function createEventWatch(options: EventWatchOptions) {
  const { outbox, chatId, texts } = options;
  const log = options.logger.child({ component: 'event-watch' });

  /** Once the outbox is a day old the look-back is a day for good: no need to ask again. */
  let fullDay = false;
  /** The look-back of a round: 24 h, or less when the outbox is younger. */
  const lookback = async () => {
    if (fullDay) return EVENT_LOOKBACK_MS;
    const ms = Math.min(EVENT_LOOKBACK_MS, (await outbox.existedForMs()) ?? EVENT_LOOKBACK_MS);
    fullDay = ms === EVENT_LOOKBACK_MS;
    return ms;
  };

  const promotions = async (since: number) => {
    if (!options.promotions) return;
    for (const p of await options.promotions.endedRecently(NOTIFIED_PROMOTION_ENDS, since)) {
      // The promotion told its own chat how it ended: that chat needs no second copy.
      if (p.chatId === chatId) continue;
      await outbox.enqueue(`promotion:${p.id}:${p.status}`, chatId, texts.promotionEnded(p));
    }
  };

  const locks = async (since: number) => {
    for (const lock of await options.locks.expiredUnreleased(since)) {
      const key = `lock:${lock.name}:${lock.owner}:${lock.expiresAt.toISOString()}`;
      if (await outbox.get(key)) continue;
      const deploymentId = deploymentOfOwner(lock.owner);
      const deployment = deploymentId === undefined ? undefined : await options.deployments.get(deploymentId);
      const env = envOfLockName(lock.name);
      await outbox.enqueue(key, chatId, texts.lockExpired(env, lock, deployment));
    }
  };

  return {
    /** One look at both sources; one failing does not keep the other from running. */
    async check(): Promise<void> {
      let since: number;
      try {
        since = await lookback();
      } catch (error) {
        log.warn({ err: error }, 'could not read when notifications began');
        return;
      }
      for (const [what, work] of [
        ['promotions', promotions],
        ['locks', locks],
      ] as const) {
        await work(since).catch((error: unknown) => log.warn({ err: error }, `could not check ${what}`));
      }
    },
  };
}
