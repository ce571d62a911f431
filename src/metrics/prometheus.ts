import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { withDeadline } from '../deadline.js';
import type { DeployFinished, Metrics, ScrapeSources } from './metrics.js';

/** Telegram's update kinds (the Bot API's Update fields); anything else counts as `other`. */
const UPDATE_KINDS = new Set([
  'message',
  'edited_message',
  'channel_post',
  'edited_channel_post',
  'callback_query',
  'inline_query',
  'chosen_inline_result',
  'my_chat_member',
  'chat_member',
  'chat_join_request',
  'message_reaction',
  'poll',
  'poll_answer',
]);
const DEPLOY_STEPS = new Set([
  'resolve',
  'build',
  'backup',
  'migrate',
  'start',
  'health',
  'switch',
  'verify',
  'cleanup',
  'record',
]);
/** The BullMQ queues an instance has: the deploys, and staging's previews. */
const QUEUES = new Set(['deploys', 'previews']);
const bounded = (word: string, allowed: ReadonlySet<string>) => (allowed.has(word) ? word : 'other');

/** A deploy takes seconds to many minutes; a step from milliseconds to minutes. */
const DEPLOY_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const STEP_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const WAIT_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
const UPDATE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface PrometheusMetrics {
  readonly metrics: Metrics;
  /** The exposition text of every metric (the gauges read from their sources first). */
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
  /** Where the gauges read at scrape time come from (app/ hands them once the instance is built). */
  watch(sources: ScrapeSources): void;
  /** Every metric's name, for the dashboard's test. */
  names(): Promise<string[]>;
}

/**
 * One instance's metrics in a registry of its own (never prom-client's global one: tests
 * run several instances in one process). A gauge read at scrape time gets `deadlineMs`
 * (1 s): a slow source keeps its last value rather than holding the scrape up.
 */
export function createPrometheusMetrics(options: { env: string; deadlineMs?: number }): PrometheusMetrics {
  const register = new Registry();
  register.setDefaultLabels({ environment: options.env });
  collectDefaultMetrics({ register });
  const deadlineMs = options.deadlineMs ?? 1_000;
  const registers = [register];

  const deploys = new Counter({
    name: 'lugh_deploys_total',
    help: 'Deploys ended, by trigger and outcome',
    labelNames: ['trigger', 'outcome'] as const,
    registers,
  });
  const deployDuration = new Histogram({
    name: 'lugh_deploy_duration_seconds',
    help: 'A deploy from its start to its end, by outcome',
    labelNames: ['outcome'] as const,
    buckets: DEPLOY_BUCKETS,
    registers,
  });
  const stepDuration = new Histogram({
    name: 'lugh_deploy_step_duration_seconds',
    help: "Each deploy step's own time",
    labelNames: ['step'] as const,
    buckets: STEP_BUCKETS,
    registers,
  });
  const rollbacks = new Counter({
    name: 'lugh_rollbacks_total',
    help: 'Rollbacks: automatic (a new version failed) or requested (/rollback)',
    labelNames: ['kind'] as const,
    registers,
  });
  const approvalToHealthy = new Histogram({
    name: 'lugh_approval_to_healthy_seconds',
    help: "From a promotion's approval to production healthy",
    buckets: WAIT_BUCKETS,
    registers,
  });
  const promotions = new Counter({
    name: 'lugh_promotions_total',
    help: 'Promotions ended, by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  const ciWait = new Histogram({
    name: 'lugh_ci_wait_seconds',
    help: 'How long a promotion waited for CI',
    buckets: WAIT_BUCKETS,
    registers,
  });
  const updates = new Counter({
    name: 'lugh_telegram_updates_total',
    help: 'Telegram updates handled, by kind',
    labelNames: ['kind'] as const,
    registers,
  });
  const updateDuration = new Histogram({
    name: 'lugh_telegram_update_duration_seconds',
    help: "A Telegram update's handling time",
    labelNames: ['kind'] as const,
    buckets: UPDATE_BUCKETS,
    registers,
  });
  const github = new Counter({
    name: 'lugh_github_requests_total',
    help: 'Requests to GitHub, by status code (0: no answer)',
    labelNames: ['status'] as const,
    registers,
  });
  const rateLimit = new Gauge({
    name: 'lugh_github_rate_limit_remaining',
    help: 'Requests left in the current GitHub rate-limit window, as its last answer said',
    registers,
  });

  let sources: ScrapeSources = {};
  type Queues = Awaited<ReturnType<NonNullable<ScrapeSources['queues']>>>;
  type Locks = Awaited<ReturnType<NonNullable<ScrapeSources['locks']>>>;
  /** The last values read; a source that misses the deadline leaves its last one. */
  const last: { queues?: Queues; backlog?: number; locks?: Locks } = {};
  const read = <T>(source: (() => Promise<T>) | undefined): Promise<T | undefined> =>
    source ? withDeadline(source(), deadlineMs).catch(() => undefined) : Promise.resolve(undefined);
  /** Reads every source at once, each within the deadline. */
  const refresh = async () => {
    const [queues, backlog, locks] = await Promise.all([
      read(sources.queues),
      read(sources.outboxBacklog),
      read(sources.locks),
    ]);
    if (queues !== undefined) last.queues = queues;
    if (backlog !== undefined) last.backlog = backlog;
    if (locks !== undefined) last.locks = locks;
  };

  new Gauge({
    name: 'lugh_queue_jobs',
    help: 'Jobs in each queue by state, read at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers,
    collect() {
      for (const q of last.queues ?? []) {
        const queue = bounded(q.queue, QUEUES);
        for (const [state, n] of Object.entries(q.counts)) this.set({ queue, state }, n);
      }
    },
  });
  new Gauge({
    name: 'lugh_queue_oldest_job_age_seconds',
    help: "The oldest waiting job's age in each queue (0: none waiting)",
    labelNames: ['queue'] as const,
    registers,
    collect() {
      for (const q of last.queues ?? [])
        this.set({ queue: bounded(q.queue, QUEUES) }, q.oldestAgeSeconds ?? 0);
    },
  });
  new Gauge({
    name: 'lugh_notifications_outbox_backlog',
    help: 'Notifications waiting in the outbox (neither sent nor given up on)',
    registers,
    collect() {
      if (last.backlog !== undefined) this.set(last.backlog);
    },
  });
  new Gauge({
    name: 'lugh_locks_held',
    help: 'Deploy locks held now',
    registers,
    collect() {
      if (last.locks !== undefined) this.set(last.locks.length);
    },
  });
  new Gauge({
    name: 'lugh_lock_held_seconds',
    help: 'How long the deploy lock has been held (0: free)',
    registers,
    collect() {
      if (last.locks !== undefined) this.set(Math.max(0, ...last.locks.map((l) => l.heldSeconds)));
    },
  });

  const metrics: Metrics = {
    deployFinished(d: DeployFinished) {
      deploys.inc({ trigger: d.trigger, outcome: d.outcome });
      if (d.seconds !== undefined) deployDuration.observe({ outcome: d.outcome }, d.seconds);
      for (const s of d.steps) stepDuration.observe({ step: bounded(s.step, DEPLOY_STEPS) }, s.seconds);
      if (d.outcome === 'rolled_back') rollbacks.inc({ kind: 'automatic' });
      if (d.trigger === 'rollback' && d.outcome === 'succeeded') rollbacks.inc({ kind: 'requested' });
      if (d.approvalToHealthySeconds !== undefined) approvalToHealthy.observe(d.approvalToHealthySeconds);
    },
    promotionEnded: (outcome) => promotions.inc({ outcome }),
    ciWaited: (seconds) => ciWait.observe(seconds),
    telegramUpdate(kind, seconds) {
      const k = bounded(kind, UPDATE_KINDS);
      updates.inc({ kind: k });
      updateDuration.observe({ kind: k }, seconds);
    },
    githubResponse(status, remaining) {
      // A code outside HTTP's range is not a label value worth keeping.
      github.inc({ status: status >= 100 && status <= 599 ? String(status) : '0' });
      if (remaining !== undefined && Number.isFinite(remaining)) rateLimit.set(remaining);
    },
  };

  return {
    metrics,
    watch: (s) => {
      sources = s;
    },
    render: async () => {
      await refresh();
      return { contentType: register.contentType, body: await register.metrics() };
    },
    names: async () => (await register.getMetricsAsJSON()).map((m) => m.name),
  };
}
