import type { Queue } from 'bullmq';
import type { AppEnv } from '../config/environments.js';
import type { Logger } from '../logger.js';
import type { DeploymentStore } from '../store/deployments.js';
import { type DeployJobData, deployJobId, enqueueDeploy } from './queue.js';

/** How often a live engine looks for deployments left without a live job. */
export const DEPLOY_SWEEP_MS = 60_000;

/**
 * How often a deployment is queued again after BullMQ failed its job. Each failed job
 * already had its stalls (DEPLOY_STALLS); a deployment that still kills or fails its
 * worker after that is ended as failed rather than tried forever.
 */
export const MAX_REDRIVES = 3;

// Taken, waiting or about to be: BullMQ (or its stall check) will run these.
const LIVE = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * The sweeper: every unfinished deployment of the environment gets a live job. A job
 * BullMQ gave up on ("job stalled more than allowable limit", or any failure) or one that
 * ended while its row did not (or is gone) is replaced by a new one, which resumes the
 * deployment from its row. After MAX_REDRIVES failed jobs the deployment is abandoned
 * (converged, ended as failed, lock freed, chat told) instead.
 */
export function createDeploySweeper(deps: {
  env: AppEnv;
  queue: Queue<DeployJobData>;
  deployments: DeploymentStore;
  /** True when this call ended the deployment (false: a run of it is under way, or it ended meanwhile). */
  abandon(deploymentId: number, why: string): Promise<boolean>;
  /** Counts a deployment this sweeper ended in the metrics (deploy-metrics.ts, outcome `abandoned`). */
  counted?(deploymentId: number): Promise<void>;
  logger: Logger;
}) {
  const { queue } = deps;
  const log = deps.logger.child({ component: 'deploy-sweeper' });

  const sweepOne = async (deploymentId: number): Promise<void> => {
    const job = await queue.getJob(deployJobId(deploymentId));
    const state = job ? await job.getState() : 'missing';
    if (LIVE.has(state)) return;
    const redrives = (job?.data.redrives ?? 0) + (state === 'failed' ? 1 : 0);
    if (redrives > MAX_REDRIVES) {
      log.error({ deploymentId, reason: job?.failedReason }, 'deploy job failed too often: abandoned');
      const ended = await deps.abandon(
        deploymentId,
        `its job failed ${redrives} times, the last with "${job?.failedReason ?? 'no reason'}"`,
      );
      // No job will see it end (its last one failed): counted here, once, through the same claim.
      if (ended) await deps.counted?.(deploymentId);
      return;
    }
    // A job taken meanwhile is locked and cannot be removed: it is live, leave it.
    if (
      job &&
      !(await job.remove().then(
        () => true,
        () => false,
      ))
    )
      return;
    log.warn({ deploymentId, state, reason: job?.failedReason, redrives }, 'deployment re-driven');
    await enqueueDeploy(queue, deploymentId, redrives);
  };

  return {
    /** One pass over the environment's unfinished deployments. */
    async sweep(): Promise<void> {
      for (const d of await deps.deployments.unfinished(deps.env)) {
        await sweepOne(d.id).catch((error: unknown) =>
          log.warn({ err: error, deploymentId: d.id }, 'could not sweep a deployment'),
        );
      }
    },
  };
}

export type DeploySweeper = ReturnType<typeof createDeploySweeper>;
