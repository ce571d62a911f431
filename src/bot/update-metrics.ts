import type { Context, MiddlewareFn } from 'grammy';
import type { Metrics } from '../metrics/metrics.js';

/** The update's kind: its one field besides `update_id` (`message`, `callback_query`, …). */
export function updateKind(update: object): string {
  return Object.keys(update).find((k) => k !== 'update_id') ?? 'other';
}

/** Installed first: counts each update and its handling time, however its handling ends. */
export function countUpdates(metrics: Pick<Metrics, 'telegramUpdate'>): MiddlewareFn<Context> {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      metrics.telegramUpdate(updateKind(ctx.update), (performance.now() - started) / 1000);
    }
  };
}
