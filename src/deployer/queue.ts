import { Queue } from 'bullmq';
import type { Redis } from '../store/redis.js';

export const DEPLOY_QUEUE = 'deploys';

/** What a deploy job carries: only the deployment's id; everything else is read from Postgres. */
export interface DeployJobData {
  readonly deploymentId: number;
  /** How often the sweeper queued the deployment again after BullMQ failed its job. */
  readonly redrives?: number;
}

/** The job of a deployment: one id per deployment, so a job is added once while it exists. */
export const deployJobId = (deploymentId: number): string => `deployment-${deploymentId}`;

/**
 * The deploy queue of one environment. BullMQ's own `prefix` puts every queue key under
 * the environment's Redis prefix (`<prefix>:deploys:…`).
 */
export function createDeployQueue(connection: Redis, prefix: string): Queue<DeployJobData> {
  const queue = new Queue<DeployJobData>(DEPLOY_QUEUE, { connection, prefix });
  // Without a listener BullMQ writes connection errors to stderr, past the redacting logger;
  // a lost Redis is reported by /healthz and by the enqueue that fails.
  queue.on('error', () => {});
  return queue;
}

/**
 * Queues the deploy of a deployment row. The job id is derived from the row, so a second
 * call while the job exists adds nothing; the row itself is what makes it exactly one.
 */
export async function enqueueDeploy(
  queue: Queue<DeployJobData>,
  deploymentId: number,
  redrives?: number,
): Promise<string> {
  const jobId = deployJobId(deploymentId);
  const data: DeployJobData = redrives ? { deploymentId, redrives } : { deploymentId };
  await queue.add('deploy', data, { jobId, removeOnComplete: 1000, removeOnFail: 1000 });
  return jobId;
}
