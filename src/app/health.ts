import type { TelegramStatus } from '../bot/telegram-runtime.js';
import { checkHealth } from '../http/health.js';
import type { Connections } from './connections.js';

/** Readiness, as /healthz and the health gate see it: Postgres, Redis and the bot token accepted. */
export function buildHealth(
  connections: Pick<Connections, 'pool' | 'redis'>,
  telegram: () => TelegramStatus,
) {
  return () =>
    checkHealth({
      db: async () => {
        await connections.pool.query('SELECT 1');
      },
      redis: async () => {
        await connections.redis.ping();
      },
      telegram: () => {
        const s = telegram();
        // Standby is ready: the token is accepted; it polls once the old container stops.
        if (s.state === 'standby') return { ok: true, note: `standby (${s.detail})` };
        return s.state === 'ok'
          ? { ok: true }
          : { ok: false, reason: `${s.state}${s.detail ? `: ${s.detail}` : ''}` };
      },
    });
}

export type Health = ReturnType<typeof buildHealth>;
