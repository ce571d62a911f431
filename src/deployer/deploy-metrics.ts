import type { Logger } from '../logger.js';
import type { DeployEnding, DeployTrigger, Metrics } from '../metrics/metrics.js';
import { type DeploymentStore, isFinished } from '../store/deployments.js';
import { keyspace, type Redis } from '../store/redis.js';

const seconds = (from: Date, to: Date) => Math.max(0, (to.getTime() - from.getTime()) / 1000);

/** How long the claim that a deploy was counted is kept (long past any re-drive of its job). */
const COUNTED_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Counts a deployment that ended, from its row, once per environment: the job that saw it
 * end claims it in Redis first (`<prefix>:metrics:deploy-counted:<id>`), so a job taken
 * back after its worker died (a self-deploy's old app container, stopped by its switch)
 * counts the deploy its runner finished meanwhile, and a re-driven job counts nothing
 * again; a deployment the sweeper abandons (no job sees it end) is counted by the sweeper,
 * through the same claim, as `abandoned`. Never fails the job.
 */
export async function countDeployEnded(
  parts: {
    deployments: Pick<DeploymentStore, 'get' | 'stepTimes'>;
    metrics: Pick<Metrics, 'deployFinished'>;
    /** Claims the count (SET NX); true when this call is the first. */
    claim: (deploymentId: number) => Promise<boolean>;
    logger: Logger;
  },
  deploymentId: number,
  /** The sweeper's abandonment: the row says failed, the count says `abandoned`. */
  ending?: 'abandoned',
): Promise<void> {
  const { deployments, metrics, logger } = parts;
  try {
    const d = await deployments.get(deploymentId);
    if (!d || !isFinished(d.status) || !d.finishedAt) return;
    if (!(await parts.claim(deploymentId))) return;
    const steps = (await deployments.stepTimes(deploymentId))
      .filter((s) => s.finishedAt !== null && s.status !== 'skipped')
      .map((s) => ({ step: s.step, seconds: seconds(s.startedAt, s.finishedAt as Date) }));
    const approvedAt = d.context?.approvedAt ? new Date(d.context.approvedAt) : undefined;
    metrics.deployFinished({
      trigger: d.trigger as DeployTrigger,
      outcome: ending ?? (d.status as DeployEnding),
      seconds: d.startedAt ? seconds(d.startedAt, d.finishedAt) : undefined,
      steps,
      approvalToHealthySeconds:
        d.status === 'succeeded' && approvedAt && !Number.isNaN(approvedAt.getTime())
          ? seconds(approvedAt, d.finishedAt)
          : undefined,
    });
  } catch (error) {
    logger.warn({ err: error, deploymentId }, 'could not count the deploy in the metrics');
  }
}

/** The Redis claim of countDeployEnded, under the environment's prefix. */
export function deployCountClaim(redis: Redis, prefix: string): (deploymentId: number) => Promise<boolean> {
  const space = keyspace(prefix);
  return async (deploymentId) =>
    (await redis.set(
      space.key('metrics', 'deploy-counted', String(deploymentId)),
      '1',
      'EX',
      COUNTED_TTL_SECONDS,
      'NX',
    )) === 'OK';
}
