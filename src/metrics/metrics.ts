/**
 * What the parts that count tell the metrics, without knowing Prometheus: the deployer,
 * the promotion, the bot and the GitHub client call these, app/ hands them the instance's
 * registry (prometheus.ts). Every argument is a bounded word or a number: never a SHA, a
 * user, a chat, a URL or a pull request's number.
 */
export type DeployTrigger = 'promotion' | 'push' | 'manual' | 'rollback' | 'baseline';
/** How a deploy ended; `abandoned`: the sweeper ended it (its job failed too often), its row says failed. */
export type DeployEnding = 'succeeded' | 'failed' | 'rolled_back' | 'cancelled' | 'abandoned';
export type PromotionOutcome = 'merged' | 'declined' | 'cancelled' | 'failed' | 'expired';

export interface DeployFinished {
  readonly trigger: DeployTrigger;
  readonly outcome: DeployEnding;
  /** From the run's start to its end, when it started. */
  readonly seconds?: number;
  /** Each finished step's own time. */
  readonly steps: ReadonlyArray<{ readonly step: string; readonly seconds: number }>;
  /** A promoted production deploy that ended healthy: from the approval to healthy. */
  readonly approvalToHealthySeconds?: number;
}

export interface Metrics {
  deployFinished(deploy: DeployFinished): void;
  promotionEnded(outcome: PromotionOutcome): void;
  /** How long a promotion waited for CI to turn green (or to fail). */
  ciWaited(seconds: number): void;
  /** One Telegram update handled, its kind (`message`, `callback_query`, …) and time. */
  telegramUpdate(kind: string, seconds: number): void;
  /** One answer from GitHub (0: no answer, the network failed) and the rate limit it says is left. */
  githubResponse(status: number, rateLimitRemaining?: number): void;
}

/** Counts nothing: a part built without metrics (tests, `lugh deploy-run`). */
export const noMetrics: Metrics = {
  deployFinished: () => {},
  promotionEnded: () => {},
  ciWaited: () => {},
  telegramUpdate: () => {},
  githubResponse: () => {},
};

/** The numbers read at scrape time (queue depth, outbox backlog, locks held). */
export interface ScrapeSources {
  /** Jobs per queue (`deploys`, staging's `previews`) and state (`waiting`, `active`, …) and the oldest waiting job's age. */
  queues?(): Promise<
    ReadonlyArray<{
      readonly queue: string;
      readonly counts: Readonly<Record<string, number>>;
      readonly oldestAgeSeconds?: number;
    }>
  >;
  /** Notifications waiting in the outbox. */
  outboxBacklog?(): Promise<number>;
  /** Deploy locks held now, and for how long each has been held. */
  locks?(): Promise<ReadonlyArray<{ readonly env: string; readonly heldSeconds: number }>>;
}
