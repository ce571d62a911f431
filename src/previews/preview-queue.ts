// The BullMQ queue `previews` under staging's Redis prefix, and its worker, one job at a
// time. Previews take no deploy lock (they are not staging); concurrency 1 on their own
// queue is what keeps a preview build from starving a staging deploy: at most one preview
// builds at a time, beside the deploy queue's own worker. A job carries no secret: the pull
// request, the row's generation it was queued for, and what to do (who asked is on the row).
import { Queue, Worker } from 'bullmq';
import type { Logger } from '../logger.js';
import type { Redis } from '../store/redis.js';

export const PREVIEW_QUEUE = 'previews';

export type PreviewJobData =
  | { readonly kind: 'deploy'; readonly pr: number; readonly generation: number }
  /** Its pull request closed: remove everything. */
  | { readonly kind: 'close'; readonly pr: number; readonly generation: number }
  /** Stop it (TTL, cap, an admin); `dropData`: its database, role and Redis keys go too. */
  | { readonly kind: 'stop'; readonly pr: number; readonly generation: number; readonly dropData: boolean }
  /** Say on its pull request that a fork's head waits for an admin (the worker alone writes the comment). */
  | { readonly kind: 'wait'; readonly pr: number; readonly generation: number }
  /** The reconciling poll's look, run between jobs so it never races one. */
  | { readonly kind: 'reconcile' };

/** One job per request: a redelivered request adds nothing while its job exists. */
export function previewJobId(data: PreviewJobData): string {
  return data.kind === 'reconcile' ? 'reconcile' : `pr${data.pr}-g${data.generation}-${data.kind}`;
}

export interface PreviewQueue {
  add(data: PreviewJobData): Promise<void>;
  close(): Promise<void>;
}

export function createPreviewQueue(
  connection: Redis,
  prefix: string,
  name = PREVIEW_QUEUE,
): PreviewQueue & {
  /** The queue's counts, for /metrics (lugh_queue_jobs). */
  readonly jobs: Pick<Queue, 'getJobCounts' | 'getJobs'>;
} {
  const queue = new Queue<PreviewJobData>(name, { connection, prefix });
  // Connection errors are reported by /healthz and the add that fails, not on stderr.
  queue.on('error', () => {});
  return {
    async add(data) {
      const teardown = data.kind === 'close' || data.kind === 'stop';
      await queue.add(data.kind, data, {
        jobId: previewJobId(data),
        // The reconcile job goes at once, so the next poll can queue the next look.
        removeOnComplete: data.kind === 'reconcile' ? true : 200,
        removeOnFail: data.kind === 'reconcile' ? true : 200,
        // A teardown half done (a part unreachable) is tried again until everything is gone.
        ...(teardown ? { attempts: 5, backoff: { type: 'exponential', delay: 2_000 } } : {}),
      });
    },
    close: () => queue.close(),
    jobs: queue,
  };
}

/** Runs preview jobs, one at a time. */
export function createPreviewWorker(
  connection: Redis,
  prefix: string,
  handle: (data: PreviewJobData) => Promise<unknown>,
  logger: Logger,
  name = PREVIEW_QUEUE,
): Worker<PreviewJobData> {
  const worker = new Worker<PreviewJobData>(name, (job) => handle(job.data), {
    connection,
    prefix,
    concurrency: 1,
    // A build and a start take minutes: the lock outlasts a busy event loop, as the deploy worker's.
    lockDuration: 60_000,
  });
  worker.on('failed', (job, error) =>
    logger.error({ err: error.message, jobId: job?.id }, 'preview job failed'),
  );
  worker.on('error', (error) => logger.warn({ err: error.message }, 'preview worker: Redis error'));
  return worker;
}
