import type { Pool } from './pool.js';

export interface HeldLock {
  readonly name: string;
  readonly owner: string;
  readonly reason: string;
  readonly acquiredAt: Date;
  readonly expiresAt: Date;
}

/** The name of an environment's deploy lock. */
export function deployLockName(env: string): string {
  return `deploy:${env}`;
}

/** Named locks with owner, reason and expiry; an expired lock counts as free. */
export function createLockStore(pool: Pool) {
  return {
    async held(name: string): Promise<HeldLock | undefined> {
      const { rows } = await pool.query(
        'SELECT name, owner, reason, acquired_at, expires_at FROM locks WHERE name = $1 AND expires_at > now()',
        [name],
      );
      const r = rows[0];
      return r
        ? {
            name: r.name,
            owner: r.owner,
            reason: r.reason,
            acquiredAt: r.acquired_at,
            expiresAt: r.expires_at,
          }
        : undefined;
    },
  };
}

export type LockStore = ReturnType<typeof createLockStore>;
