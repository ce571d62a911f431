// The buttons a /rollback picker, a /restore list or a /previews list offers (table
// button_offers): whose they are and until when; part of the deployment store
// (createDeploymentStore spreads it in).
import type { AppEnv } from '../config/environments.js';
import type { Pool } from './pool.js';

/** A /rollback picker, a /restore list or a /previews list: whose its buttons are, and whether they still hold. */
export interface ButtonOffer {
  readonly id: number;
  readonly kind: 'rollback' | 'restore' | 'preview' | 'refresh';
  readonly env: AppEnv;
  readonly requestedBy: number;
  readonly requestedByName: string | null;
  readonly chatId: number | null;
  readonly expiresAt: Date;
  readonly expired: boolean;
  /** A `/rollback <service> alone` picker's service: its buttons roll back only that one. */
  readonly service?: string | null;
  /** A fork's confirmation: the commit it showed, the only one its Yes approves. */
  readonly headSha?: string | null;
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
  service: (r.service as string | null | undefined) ?? null,
  headSha: (r.head_sha as string | null | undefined) ?? null,
});

/** The offers' reads and writes (the deployment store has them too). */
export type ButtonOffers = ReturnType<typeof buttonOffers>;

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
      service?: string;
      headSha?: string;
    }): Promise<ButtonOffer> {
      const { rows } = await pool.query(
        `INSERT INTO button_offers (kind, env, requested_by, requested_by_name, chat_id, expires_at, service, head_sha)
         VALUES ($6, $1, $2, $3, $4, now() + make_interval(secs => $5::double precision / 1000), $7, $8)
         RETURNING *, false AS expired`,
        [
          input.env,
          input.requestedBy,
          input.requestedByName ?? null,
          input.chatId ?? null,
          input.ms,
          input.kind,
          input.service ?? null,
          input.headSha ?? null,
        ],
      );
      return toOffer(rows[0]);
    },

    /**
     * Uses a confirmation's offer: true the first time, false once it was used (a second
     * tap of its Yes, from this process or another).
     */
    async useButtonOffer(id: number): Promise<boolean> {
      const { rowCount } = await pool.query(
        'UPDATE button_offers SET used_at = now() WHERE id = $1 AND used_at IS NULL',
        [id],
      );
      return rowCount === 1;
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
