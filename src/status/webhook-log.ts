import type { Keyspace, Redis } from '../store/redis.js';

/** One GitHub webhook delivery as lugh answered it. */
export interface WebhookArrival {
  readonly at: string;
  readonly event: string | null;
  readonly status: number;
  readonly why?: string;
}

/** What /status says about GitHub's webhook deliveries to this instance. */
export interface WebhookHistory {
  readonly lastAccepted?: WebhookArrival;
  readonly lastRefused?: WebhookArrival;
  /** Deliveries refused since the last accepted one: a hook that fails every time shows here. */
  readonly refusedSinceAccepted: number;
}

/**
 * The instance's record of GitHub webhook deliveries, in Redis under its own prefix
 * (`<prefix>:webhook:github`): the last accepted, the last refused, and how many were
 * refused since the last accepted one.
 */
export function createWebhookLog(redis: Redis, space: Keyspace) {
  const key = space.key('webhook', 'github');
  return {
    async record(outcome: { at: Date; event: string | null; status: number; why?: string }): Promise<void> {
      const arrival: WebhookArrival = { ...outcome, at: outcome.at.toISOString() };
      const json = JSON.stringify(arrival);
      if (outcome.status < 300) {
        await redis.hset(key, { lastAccepted: json, refusedSinceAccepted: 0 });
      } else {
        await redis.multi().hset(key, { lastRefused: json }).hincrby(key, 'refusedSinceAccepted', 1).exec();
      }
    },
    async read(): Promise<WebhookHistory> {
      const raw = await redis.hgetall(key);
      const parse = (text: string | undefined) => (text ? (JSON.parse(text) as WebhookArrival) : undefined);
      return {
        lastAccepted: parse(raw.lastAccepted),
        lastRefused: parse(raw.lastRefused),
        refusedSinceAccepted: Number(raw.refusedSinceAccepted ?? 0),
      };
    },
  };
}

export type WebhookLog = ReturnType<typeof createWebhookLog>;
