import type { Metrics, PromotionOutcome } from '../metrics/metrics.js';
import type { Promotion, PromotionStatus, PromotionStore } from '../store/promotions.js';

const ENDINGS: ReadonlySet<PromotionStatus> = new Set([
  'merged',
  'declined',
  'cancelled',
  'failed',
  'expired',
]);

/**
 * The promotion store, counting each promotion's ending and its CI wait as the promotion
 * moves it: every ending is one status change made through `update` or `transition`
 * (a transition someone else won changes nothing and counts nothing).
 */
export function countingPromotions(
  store: PromotionStore,
  metrics: Pick<Metrics, 'promotionEnded' | 'ciWaited'>,
): PromotionStore {
  const seen = (status: PromotionStatus | undefined, p: Promotion | undefined, fromCi = false) => {
    if (!p || !status) return;
    if (ENDINGS.has(status)) metrics.promotionEnded(status as PromotionOutcome);
    // CI turned green (the database stamps ci_passed_at then); a failed merge going back
    // to awaiting_approval is no new wait.
    if (fromCi && status === 'awaiting_approval' && p.ciStartedAt && p.ciPassedAt)
      metrics.ciWaited(Math.max(0, (p.ciPassedAt.getTime() - p.ciStartedAt.getTime()) / 1000));
  };
  return {
    ...store,
    update: async (id, changes) => {
      const p = await store.update(id, changes);
      seen(changes.status, p);
      return p;
    },
    transition: async (id, from, changes, where) => {
      const p = await store.transition(id, from, changes, where);
      seen(changes.status, p, from.includes('waiting_ci'));
      return p;
    },
  };
}
