// The buttons a /rollback picker or a /restore list offers (table button_offers): whose they
// are and until when; part of the deployment store (createDeploymentStore spreads it in).
import type { AppEnv } from '../config/environments.js';
import type { Pool } from './pool.js';

/** A /rollback picker or /restore list: whose its buttons are, and whether they still hold. */
export interface ButtonOffer {
  readonly id: number;
  readonly kind: 'rollback' | 'restore';
  readonly env: AppEnv;
  readonly requestedBy: number;
  readonly requestedByName: string | null;
  readonly chatId: number | null;
  readonly expiresAt: Date;
  readonly expired: boolean;
}

const toOffer = (r: Record<string, unknown>): ButtonOffer => ({
  id: Number(r.id),
  kind: r.kind as ButtonOffer['kind'],
  env: r.env as AppEnv,
  requestedBy: Number(r.requested_by),
  requestedByName: (r.requested_by_name as string | null) ?? null,
  chatId: r.chat_id === null || r.chat_id === undefined ? null : Number(r.chat_id),
  expiresAt: r.expires_at as Date,
  expired: Boolean(r.expired),
});

export function buttonOffers(pool: Pool) {
  return {
    /** Buttons (a /rollback picker, a /restore list) for `requestedBy` only, holding for `ms`. */
    async createButtonOffer(input: {
      kind: ButtonOffer['kind'];
      env: AppEnv;
      requestedBy: number;
      requestedByName?: string;
      chatId?: number;
      ms: number;
    }): Promise<ButtonOffer> {
      const { rows } = await pool.query(
        `INSERT INTO button_offers (kind, env, requested_by, requested_by_name, chat_id, expires_at)
         VALUES ($6, $1, $2, $3, $4, now() + make_interval(secs => $5::double precision / 1000))
         RETURNING *, false AS expired`,
        [
          input.env,
          input.requestedBy,
          input.requestedByName ?? null,
          input.chatId ?? null,
          input.ms,
          input.kind,
        ],
      );
      return toOffer(rows[0]);
    },

    /** An offer by id and kind, `expired` by the database's clock; undefined when there is none. */
    async buttonOffer(id: number, kind: ButtonOffer['kind']): Promise<ButtonOffer | undefined> {
      const { rows } = await pool.query(
        'SELECT *, expires_at <= now() AS expired FROM button_offers WHERE id = $1 AND kind = $2',
        [id, kind],
      );
      return rows[0] ? toOffer(rows[0]) : undefined;
    },
  };
}
