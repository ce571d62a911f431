import type { Queue } from 'bullmq';
import type { Config } from '../config/index.js';
import { createPrometheusMetrics, type PrometheusMetrics } from '../metrics/prometheus.js';
import { deployLockName, type LockStore } from '../store/locks.js';
import type { createNotificationOutbox } from '../store/notifications.js';
import type { Connections } from './connections.js';

/** This instance's metrics: one registry, the counting interface handed to the parts, /metrics' renderer. */
export function buildMetrics(config: Config): PrometheusMetrics {
  return createPrometheusMetrics({ env: config.appEnv });
}

type JobsOf = Pick<Queue, 'getJobCounts' | 'getJobs'>;

/** One queue's jobs per state and its oldest waiting job's age. */
async function queueFigures(queue: string, jobs: JobsOf) {
  const [counts, oldest] = await Promise.all([
    jobs.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'),
    jobs.getJobs(['waiting', 'prioritized'], 0, 0, true),
  ]);
  const first = oldest[0];
  return { queue, counts, oldestAgeSeconds: first ? Math.max(0, (Date.now() - first.timestamp) / 1000) : 0 };
}

/** The gauges read at scrape time: the deploy queue (and staging's previews queue), the outbox, the deploy lock. */
export function watchSources(
  metrics: PrometheusMetrics,
  config: Config,
  parts: {
    connections: Pick<Connections, 'deployQueue'>;
    outbox: Pick<ReturnType<typeof createNotificationOutbox>, 'backlog'>;
    locks: Pick<LockStore, 'held'>;
    /** Staging with the flag previews: its queue, once loaded. */
    previews?: { jobs(): JobsOf | undefined };
  },
): void {
  metrics.watch({
    queues: async () => {
      const previews = parts.previews?.jobs();
      return Promise.all([
        queueFigures('deploys', await parts.connections.deployQueue()),
        ...(previews ? [queueFigures('previews', previews)] : []),
      ]);
    },
    outboxBacklog: () => parts.outbox.backlog(),
    locks: async () => {
      const held = await parts.locks.held(deployLockName(config.appEnv));
      return held
        ? [{ env: config.appEnv, heldSeconds: (Date.now() - held.acquiredAt.getTime()) / 1000 }]
        : [];
    },
  });
}
