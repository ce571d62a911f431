import { Worker } from 'bullmq';
import type { Logger } from '../logger.js';
import type { Redis } from '../store/redis.js';
import { DEPLOY_QUEUE, type DeployJobData } from './queue.js';

/** How a worker holds its deploy job, and when BullMQ takes the job of a dead worker back. */
export interface DeployStallSettings {
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly maxStalledCount: number;
}

/**
 * Chosen for deploys that take minutes, in which the worker may die (a self-deploy's switch
 * stops the very worker that took the job).
 */
export const DEPLOY_STALLS: DeployStallSettings = {
  // A live worker renews its job's lock every half duration, however long the deploy runs,
  // so the duration only has to outlast a pause of a live worker (a blocked event loop, a
  // Redis failover). 60 s is twice BullMQ's default; longer only delays taking back the
  // job of a worker that is really dead.
  lockDurationMs: 60_000,
  // With the lock, a dead worker's job is back in wait within 60 + 30 = 90 s.
  stalledIntervalMs: 30_000,
  // BullMQ's default, 1, is spent by every self-deploy (its switch stops the worker); a
  // daemon restart or a host reboot in the same deploy costs one more. A stalled job
  // resumes from its row, so a stall costs only the wait. Past 3 BullMQ fails the job,
  // and the sweeper (deploy-sweeper.ts) re-drives it or, at its own bound, ends the deploy.
  maxStalledCount: 3,
};

/**
 * Takes deploy jobs of one environment's queue, one at a time. A job carries only the
 * deployment's id; a retried job resumes the deployment from its row (see the step
 * runner), and never runs beside another run of it.
 */
export function createDeployWorker(
  connection: Redis,
  prefix: string,
  runner: { run(deploymentId: number): Promise<string> },
  logger: Logger,
  stalls: DeployStallSettings = DEPLOY_STALLS,
) {
  const worker = new Worker<DeployJobData>(DEPLOY_QUEUE, (job) => runner.run(job.data.deploymentId), {
    connection,
    prefix,
    concurrency: 1,
    lockDuration: stalls.lockDurationMs,
    stalledInterval: stalls.stalledIntervalMs,
    maxStalledCount: stalls.maxStalledCount,
  });
  worker.on('failed', (job, error) => logger.error({ err: error, jobId: job?.id }, 'deploy job failed'));
  worker.on('stalled', (jobId) => logger.warn({ jobId }, 'deploy job stalled: its worker died; it resumes'));
  // Without a listener BullMQ prints connection errors raw to stderr, past the redacting logger.
  worker.on('error', (error) => logger.warn({ err: error }, 'deploy worker: Redis error'));
  return worker;
}
