import { withDeadline } from '../deadline.js';

export type CheckResult =
  | { readonly ok: true; readonly note?: string }
  | { readonly ok: false; readonly reason: string };

export interface HealthReport {
  readonly status: 'ok' | 'unavailable';
  readonly db: string;
  readonly redis: string;
  readonly telegram: string;
}

export interface HealthChecks {
  readonly db: () => Promise<void>;
  readonly redis: () => Promise<void>;
  /** Reported from the Telegram runtime's state, not asked anew: health checks must not spend API calls. */
  readonly telegram: () => CheckResult;
}

async function within(check: () => Promise<void>, timeoutMs: number): Promise<string> {
  try {
    await withDeadline(check(), timeoutMs);
    return 'ok';
  } catch (error) {
    return `down: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * Readiness: the database and Redis answer and the Bot API accepted this token. Every
 * check has its own deadline so the report never takes longer than `timeoutMs`.
 */
export async function checkHealth(checks: HealthChecks, timeoutMs = 1_500): Promise<HealthReport> {
  const [db, redis] = await Promise.all([within(checks.db, timeoutMs), within(checks.redis, timeoutMs)]);
  const tg = checks.telegram();
  const telegram = tg.ok ? (tg.note ? `ok: ${tg.note}` : 'ok') : `down: ${tg.reason}`;
  const status = db === 'ok' && redis === 'ok' && tg.ok ? 'ok' : 'unavailable';
  return { status, db, redis, telegram };
}
