import { Worker } from 'bullmq';
import type { Logger } from '../logger.js';
import type { Redis } from '../store/redis.js';
import { DEPLOY_QUEUE, type DeployJobData } from './queue.js';

/**
 * Takes deploy jobs of one environment's queue, one at a time. A job carries only the
 * deployment's id; a retried job runs the deployment again from its row (a commit built
 * before is reused, and a switch to the image already running is a switch like another).
 */
export function createDeployWorker(
  connection: Redis,
  prefix: string,
  runner: { run(deploymentId: number): Promise<string> },
  logger: Logger,
) {
  const worker = new Worker<DeployJobData>(DEPLOY_QUEUE, (job) => runner.run(job.data.deploymentId), {
    connection,
    prefix,
    concurrency: 1,
  });
  worker.on('failed', (job, error) => logger.error({ err: error, jobId: job?.id }, 'deploy job failed'));
  // Without a listener BullMQ prints connection errors raw to stderr, past the redacting logger.
  worker.on('error', (error) => logger.warn({ err: error }, 'deploy worker: Redis error'));
  return worker;
}
