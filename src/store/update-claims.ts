import type { Keyspace, Redis } from './redis.js';

/** Telegram keeps an update for 24 hours: no copy of it can arrive later than that. */
const DAY_SECONDS = 24 * 60 * 60;

export interface UpdateClaims {
  /**
   * True for the first caller in this environment to claim the update, false for any
   * later one (a poller given the same update again, a webhook redelivery). One round trip.
   */
  claim(updateId: number): Promise<boolean>;
}

/** Claims of Telegram updates, `<prefix>:update:<update_id>`, each kept for a day. */
export function createUpdateClaims(
  redis: Redis,
  space: Keyspace,
  options: { ttlSeconds?: number; owner?: string } = {},
): UpdateClaims {
  const ttl = options.ttlSeconds ?? DAY_SECONDS;
  const owner = options.owner ?? '1';
  return {
    async claim(updateId) {
      return (await redis.set(space.key('update', updateId), owner, 'EX', ttl, 'NX')) === 'OK';
    },
  };
}
