import type { AppEnv } from '../config/environments.js';
import { type DeploymentStore, isFinished } from '../store/deployments.js';
import { deployLockName, deploymentOfOwner, deploymentOwner, type LockStore } from '../store/locks.js';
import { LockedError } from './errors.js';

const LOCK_WAIT_POLL_MS = 2_000;

/**
 * One deployment's hold on its environment's deploy lock. Every step renews it, so a
 * deployment that dies lets go of it after `ttlMs`.
 */
export function createDeploymentLock(options: {
  locks: LockStore;
  deployments: DeploymentStore;
  env: AppEnv;
  deploymentId: number;
  reason: string;
  ttlMs: number;
}) {
  const { locks, deployments, env, ttlMs } = options;
  const name = deployLockName(env);
  const owner = deploymentOwner(options.deploymentId);
  let taken = false;

  const renew = async () => {
    const result = await locks.acquire({ name, owner, reason: options.reason, ttlMs });
    if (!result.acquired) {
      const h = result.holder;
      // People know a deploy by its number and a commit by 7 digits; "deployment:N" is internal.
      const other = deploymentOfOwner(h.owner);
      const holder = other === undefined ? undefined : await deployments.get(other);
      const who =
        other === undefined ? h.owner : `deploy #${other} (${holder?.status.replace('_', ' ') ?? 'gone'})`;
      const clears =
        holder && !isFinished(holder.status)
          ? `it is freed when deploy #${other} ends; deploy again then`
          : `/unlock ${env} frees it`;
      const reason = h.reason.replace(/\b([0-9a-f]{7})[0-9a-f]{33}\b/g, '$1');
      throw new LockedError(
        `${env} is locked by ${who} (${reason}) until ${h.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC; ${clears}`,
      );
    }
  };

  return {
    renew,

    /**
     * The first taking: a person's lock refuses the deploy; another deployment's is
     * waited for (deploys of one environment queue behind each other), and one left by a
     * deployment that has ended is taken over.
     */
    async take(): Promise<void> {
      const until = Date.now() + ttlMs;
      for (;;) {
        try {
          await renew();
          taken = true;
          return;
        } catch (error) {
          if (!(error instanceof LockedError)) throw error;
          const holder = await locks.held(name);
          if (!holder) continue;
          const other = deploymentOfOwner(holder.owner);
          if (other === undefined || Date.now() > until) throw error;
          const d = await deployments.get(other);
          if (!d || isFinished(d.status)) {
            await locks.release(name, holder.owner);
            continue;
          }
          await new Promise((resolve) => setTimeout(resolve, LOCK_WAIT_POLL_MS));
        }
      }
    },

    /** Frees the lock if this deployment took it; safe to call more than once. */
    async release(): Promise<void> {
      if (!taken) return;
      taken = false;
      await locks.release(name, owner).catch(() => {});
    },
  };
}

export type DeploymentLock = ReturnType<typeof createDeploymentLock>;
