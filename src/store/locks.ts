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

/** The environment whose deploy lock this is (the inverse of `deployLockName`). */
export function envOfLockName(name: string): string {
  return name.replace(/^deploy:/, '');
}

/** The owner recorded for a lock a deployment holds; a person's lock is `user:<id>`. */
export function deploymentOwner(deploymentId: number): string {
  return `deployment:${deploymentId}`;
}

/** The deployment holding a lock with this owner; undefined when a person holds it. */
export function deploymentOfOwner(owner: string): number | undefined {
  const id = /^deployment:(\d+)$/.exec(owner)?.[1];
  return id === undefined ? undefined : Number(id);
}

function toLock(r: Record<string, unknown>): HeldLock {
  return {
    name: r.name as string,
    owner: r.owner as string,
    reason: r.reason as string,
    acquiredAt: r.acquired_at as Date,
    expiresAt: r.expires_at as Date,
  };
}

/**
 * Named locks with owner, reason and expiry; an expired lock counts as free. Taking one
 * is a single statement, so two takers racing cannot both win.
 */
export function createLockStore(pool: Pool, options: { onChange?: () => Promise<void> } = {}) {
  const changed = async () => {
    await options.onChange?.().catch(() => {});
  };
  return {
    async held(name: string): Promise<HeldLock | undefined> {
      const { rows } = await pool.query('SELECT * FROM locks WHERE name = $1 AND expires_at > now()', [name]);
      return rows[0] ? toLock(rows[0]) : undefined;
    },

    /**
     * Locks whose expiry passed within the last `withinMs` while their row is still there:
     * nobody released them (a /lock that ran out, or a deployment that stopped renewing).
     */
    async expiredUnreleased(withinMs: number): Promise<HeldLock[]> {
      const { rows } = await pool.query(
        `SELECT * FROM locks WHERE expires_at <= now()
           AND expires_at > now() - make_interval(secs => $1::double precision / 1000) ORDER BY expires_at`,
        [withinMs],
      );
      return rows.map(toLock);
    },

    /**
     * Takes the lock, or renews it when `owner` already holds it. Returns the holder when
     * someone else does.
     */
    async acquire(input: {
      name: string;
      owner: string;
      reason: string;
      ttlMs: number;
    }): Promise<{ acquired: true; lock: HeldLock } | { acquired: false; holder: HeldLock }> {
      const { rows } = await pool.query(
        `INSERT INTO locks (name, owner, reason, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4::double precision / 1000))
         ON CONFLICT (name) DO UPDATE
           SET owner = EXCLUDED.owner, reason = EXCLUDED.reason, expires_at = EXCLUDED.expires_at,
               acquired_at = CASE WHEN locks.owner = EXCLUDED.owner THEN locks.acquired_at ELSE now() END
           WHERE locks.expires_at <= now() OR locks.owner = EXCLUDED.owner
         RETURNING *`,
        [input.name, input.owner, input.reason, input.ttlMs],
      );
      if (rows[0]) {
        await changed();
        return { acquired: true, lock: toLock(rows[0]) };
      }
      const holder = await this.held(input.name);
      // Freed between the two statements: try once more.
      if (!holder) return this.acquire(input);
      return { acquired: false, holder };
    },

    /** Releases the lock if `owner` holds it; true when it did. */
    async release(name: string, owner: string): Promise<boolean> {
      const { rowCount } = await pool.query('DELETE FROM locks WHERE name = $1 AND owner = $2', [
        name,
        owner,
      ]);
      const released = (rowCount ?? 0) > 0;
      // Like taking and breaking: whoever reads the published lock (staging's /promote) sees it free.
      if (released) await changed();
      return released;
    },

    /**
     * Removes exactly the lock `seen` (/unlock after showing who holds it): one statement
     * with its holder and when they took it in the WHERE, so a lock taken in between (a
     * deployment's) is never deleted. True when it was removed; false when it had changed.
     */
    async breakLock(seen: Pick<HeldLock, 'name' | 'owner' | 'acquiredAt'>): Promise<boolean> {
      const { rowCount } = await pool.query(
        // acquired_at is kept to the microsecond and read back to the millisecond.
        `DELETE FROM locks WHERE name = $1 AND owner = $2 AND expires_at > now()
           AND acquired_at > $3::timestamptz - interval '1 millisecond'
           AND acquired_at < $3::timestamptz + interval '1 millisecond'`,
        [seen.name, seen.owner, seen.acquiredAt],
      );
      const removed = (rowCount ?? 0) > 0;
      if (removed) await changed();
      return removed;
    },
  };
}

export type LockStore = ReturnType<typeof createLockStore>;
