import type { AppEnv } from '../config/environments.js';
import type { Pool } from './pool.js';

export interface HealthEpisode {
  readonly id: number;
  readonly env: AppEnv;
  readonly subject: string;
  readonly reason: string;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
}

function toEpisode(r: Record<string, unknown>): HealthEpisode {
  return {
    id: Number(r.id),
    env: r.env as AppEnv,
    subject: r.subject as string,
    reason: r.reason as string,
    startedAt: r.started_at as Date,
    endedAt: (r.ended_at as Date | null) ?? null,
  };
}

/** Degraded periods of an environment; the database allows one open episode per subject. */
export function createHealthEpisodes(pool: Pool) {
  return {
    async open(env: AppEnv, subject: string): Promise<HealthEpisode | undefined> {
      const { rows } = await pool.query(
        'SELECT * FROM health_episodes WHERE env = $1 AND subject = $2 AND ended_at IS NULL',
        [env, subject],
      );
      return rows[0] ? toEpisode(rows[0]) : undefined;
    },

    /**
     * Opens an episode (begun now, or at `startedAt` when it is recorded late), or returns
     * the one already open (another process was first).
     */
    async begin(env: AppEnv, subject: string, reason: string, startedAt?: Date): Promise<HealthEpisode> {
      const { rows } = await pool.query(
        `INSERT INTO health_episodes (env, subject, reason, started_at)
         VALUES ($1, $2, $3, coalesce($4::timestamptz, now()))
         ON CONFLICT (env, subject) WHERE ended_at IS NULL DO NOTHING RETURNING *`,
        [env, subject, reason.slice(0, 500), startedAt ?? null],
      );
      if (rows[0]) return toEpisode(rows[0]);
      const open = await this.open(env, subject);
      return open ?? this.begin(env, subject, reason, startedAt);
    },

    /** Closes the episode; false when it was closed already. */
    async end(id: number): Promise<boolean> {
      const { rowCount } = await pool.query(
        'UPDATE health_episodes SET ended_at = now() WHERE id = $1 AND ended_at IS NULL',
        [id],
      );
      return (rowCount ?? 0) > 0;
    },
  };
}

export type HealthEpisodes = ReturnType<typeof createHealthEpisodes>;
