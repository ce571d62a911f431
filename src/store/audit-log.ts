import type { AppEnv } from '../config/environments.js';
import type { Pool } from './pool.js';

export interface AuditEntry {
  readonly actorId?: number;
  readonly actorName?: string;
  readonly action: string;
  readonly outcome: 'ok' | 'refused' | 'failed';
  readonly details?: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  readonly id: number;
  readonly at: Date;
  readonly env: AppEnv;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  recent(limit?: number): Promise<AuditRecord[]>;
}

/** The append-only audit log of one environment. */
export function createAuditLog(pool: Pool, env: AppEnv): AuditLog {
  return {
    async record(entry) {
      await pool.query(
        `INSERT INTO audit_log (env, actor_id, actor_name, action, outcome, details)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          env,
          entry.actorId ?? null,
          entry.actorName ?? null,
          entry.action,
          entry.outcome,
          entry.details ?? {},
        ],
      );
    },
    async recent(limit = 20) {
      const { rows } = await pool.query(
        `SELECT id, at, env, actor_id, actor_name, action, outcome, details
         FROM audit_log ORDER BY id DESC LIMIT $1`,
        [limit],
      );
      return rows.map((r) => ({
        id: Number(r.id),
        at: r.at,
        env: r.env,
        actorId: r.actor_id === null ? undefined : Number(r.actor_id),
        actorName: r.actor_name ?? undefined,
        action: r.action,
        outcome: r.outcome,
        details: r.details,
      }));
    },
  };
}
