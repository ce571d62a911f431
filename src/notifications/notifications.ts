import { type AppEnv, otherEnv } from '../config/environments.js';
import type { Config } from '../config/index.js';
import { withDeadline } from '../deadline.js';
import type { Logger } from '../logger.js';
import type { DeploymentStore } from '../store/deployments.js';
import { createHealthEpisodes } from '../store/health-episodes.js';
import { readInstance, readStatus } from '../store/instance-registry.js';
import type { LockStore } from '../store/locks.js';
import { createNotificationOutbox } from '../store/notifications.js';
import type { Pool } from '../store/pool.js';
import type { PromotionStore } from '../store/promotions.js';
import type { Redis } from '../store/redis.js';
import { createEventWatch } from './event-watch.js';
import { createHealthWatch, type HealthSubject, type HealthVerdict } from './health-watch.js';
import type { NotificationChat } from './notification-chat.js';
import type { NotificationTexts } from './notification-texts.js';
import { createOutboxSender, type OutboxSenderOptions } from './outbox-sender.js';

/** What this instance can see of the other one: whether it ever started, and what it publishes now. */
export interface PeerView {
  /** False when the other environment never started on this Redis (not deployed here). */
  readonly registered: boolean;
  /** Its published status; absent once it has said nothing for the status' lifetime (a minute). */
  readonly status?: { readonly health: { readonly telegram: string } };
}

/** The other instance as its registry record and published status in Redis show it. */
export function peerThroughRedis(redis: Redis, otherPrefix: string): () => Promise<PeerView> {
  return async () => {
    if (!(await readInstance(redis, otherPrefix))) return { registered: false };
    return { registered: true, status: await readStatus<PeerView['status']>(redis, otherPrefix) };
  };
}

export interface NotificationsOptions {
  readonly config: Pick<Config, 'appEnv' | 'notify'>;
  readonly logger: Logger;
  readonly pool: Pool;
  /** Where notices go; it neither retries nor hangs (see NotificationChat). */
  readonly chat: NotificationChat;
  /** Makes the notices' texts, in the markup `chat` sends (the bot's: Telegram HTML). */
  readonly texts: NotificationTexts;
  /** Applied to the refusals the outbox records and logs. */
  readonly redact: (text: string) => string;
  readonly locks: LockStore;
  readonly deployments: DeploymentStore;
  readonly promotions?: PromotionStore;
  /** This instance's readiness, as /healthz reports it. */
  readonly readiness: () => Promise<{ readonly db: string; readonly redis: string }>;
  /** The other instance as seen through Redis; throws when Redis cannot be asked. */
  readonly peer?: () => Promise<PeerView>;
  /** Tests shorten the sender's waits. */
  readonly sender?: Partial<Omit<OutboxSenderOptions, 'chat' | 'outbox' | 'logger' | 'redact'>>;
}

const PRUNE_EVERY_MS = 60 * 60_000;
const KEEP_ROWS_MS = 7 * 24 * 60 * 60_000;
const PEER_DEADLINE_MS = 3_000;

/**
 * Own readiness: Postgres and Redis as this instance reaches them. Its Telegram check is
 * left to the other instance (a bot that cannot reach Telegram cannot say so itself).
 */
function readinessSubject(env: AppEnv, readiness: NotificationsOptions['readiness']): HealthSubject {
  return {
    env,
    name: 'readiness',
    async probe(): Promise<HealthVerdict> {
      const report = await readiness();
      const bad = [
        report.db === 'ok' ? undefined : `Postgres ${report.db}`,
        report.redis === 'ok' ? undefined : `Redis ${report.redis}`,
      ].filter((s): s is string => s !== undefined);
      return bad.length ? { state: 'bad', reason: bad.join('; ') } : { state: 'ok' };
    },
  };
}

/**
 * The state word of the other bot's Telegram health (`down: unreachable: …` → `unreachable`),
 * or undefined. Its detail is never quoted: it comes from the other instance (an error
 * message can carry the Bot API URL, i.e. the other bot's token, which this instance's
 * redactor does not know) and would reach the chat, the log and health_episodes.
 */
export function telegramState(health: string): string | undefined {
  const word = health
    .replace(/^down: /, '')
    .split(':')[0]!
    .trim();
  return /^[a-z ]{1,40}$/.test(word) ? word : undefined;
}

/**
 * The other environment, from its published status: silent (nothing published for a
 * minute: its process, its Postgres or its Redis is down), or its bot cannot reach
 * Telegram. Nothing is concluded while this instance cannot read Redis itself, nor about
 * an environment that never started here.
 */
function peerSubject(env: AppEnv, peer: NonNullable<NotificationsOptions['peer']>): HealthSubject {
  const other = otherEnv(env);
  return {
    env: other,
    name: 'peer',
    async probe(): Promise<HealthVerdict> {
      let view: PeerView;
      try {
        view = await withDeadline(peer(), PEER_DEADLINE_MS);
      } catch {
        return { state: 'unknown' };
      }
      if (!view.registered) return { state: 'unknown' };
      if (!view.status)
        return {
          state: 'bad',
          reason: `silent: it has published no status for over a minute (seen from the ${env} bot)`,
        };
      const telegram = view.status.health.telegram;
      if (!telegram.startsWith('ok')) {
        const state = telegramState(telegram);
        return {
          state: 'bad',
          reason: `its bot cannot reach Telegram${state ? ` (${state})` : ''} (seen from the ${env} bot)`,
        };
      }
      return { state: 'ok' };
    },
  };
}

/**
 * Notifications of one instance: the outbox sender, and a watch that every
 * NOTIFY_HEALTH_INTERVAL_SECONDS samples health and looks for ended promotions and expired
 * locks. Deploy results are queued by the deploy notifier (deploy-notices.ts).
 *
 * Who announces what, so that the two bots never both announce one event:
 * - each instance announces what happens in its own database: its deploys, its locks,
 *   and (staging) its promotions;
 * - each instance announces its own readiness (Postgres, Redis) going bad and recovering.
 *   Its episodes and its outbox live in its own Postgres: when that is down and the
 *   readiness is degraded, the "degraded" notice is sent directly through the chat, once
 *   per process per outage (in memory: a restart during the outage may announce it
 *   again); when Postgres answers again the episode is recorded, begun at the outage's
 *   first bad sample, with that notice as sent, and "recovered" goes through the outbox
 *   as usual. With one Postgres server for both environments (DESIGN §1) the other bot
 *   cannot record anything either: each bot announces its own outage directly;
 * - each instance announces the other environment going silent (no status published for
 *   a minute) or losing Telegram, the two cases in which the other cannot speak for itself,
 *   and never the other's Postgres or Redis, which that instance announces itself.
 * One overlap remains: an instance that loses its own Redis while the other still reaches
 * it is announced twice, as "Redis down" by itself and as "silent" by the other. With one
 * Redis for both (DESIGN §1) the other cannot read it either and concludes nothing.
 */
export function createNotifications(options: NotificationsOptions) {
  const { config, logger, redact } = options;
  const log = logger.child({ component: 'notifications' });
  const chatId = config.notify.chatId;
  const outbox = createNotificationOutbox(options.pool);
  const sender = createOutboxSender({ chat: options.chat, outbox, logger, redact, ...options.sender });
  let stopping = new AbortController();
  const subjects = [readinessSubject(config.appEnv, options.readiness)];
  if (options.peer) subjects.push(peerSubject(config.appEnv, options.peer));
  const health = createHealthWatch({
    subjects,
    episodes: createHealthEpisodes(options.pool),
    outbox,
    chatId,
    degradedAfter: config.notify.degradedAfter,
    recoveredAfter: config.notify.recoveredAfter,
    texts: options.texts,
    logger,
    chat: options.chat,
    signal: () => stopping.signal,
  });
  const events = createEventWatch({
    outbox,
    chatId,
    locks: options.locks,
    deployments: options.deployments,
    promotions: options.promotions,
    texts: options.texts,
    logger,
  });

  let lastPrune = 0;
  /** One round of the watch: health, promotions, locks; then wakes the sender. */
  const check = async () => {
    await health.sample();
    await events.check();
    if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = Date.now();
      await outbox
        .prune(KEEP_ROWS_MS)
        .catch((error: unknown) => log.debug({ err: error }, 'could not prune'));
    }
    sender.wake();
  };

  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  let running = false;
  const schedule = () => {
    timer = setTimeout(() => {
      round = check()
        .catch((error: unknown) => log.warn({ err: error }, 'notification watch failed'))
        .finally(() => {
          if (running) schedule();
        });
    }, config.notify.healthIntervalMs);
  };

  return {
    outbox,
    sender,
    check,

    start() {
      if (running) return;
      running = true;
      if (stopping.signal.aborted) stopping = new AbortController();
      sender.start();
      schedule();
    },

    /** Stops the watch and the sender; what is not sent yet stays in the outbox. */
    async stop() {
      running = false;
      clearTimeout(timer);
      stopping.abort();
      await round.catch(() => {});
      await sender.stop();
    },
  };
}

export type Notifications = ReturnType<typeof createNotifications>;
