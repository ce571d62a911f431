import type { AppEnv } from '../config/environments.js';
import type { Logger } from '../logger.js';
import type { HealthEpisode, HealthEpisodes } from '../store/health-episodes.js';
import type { NotificationOutbox } from '../store/notifications.js';
import type { NotificationChat } from './notification-chat.js';
import type { NotificationTexts } from './notification-texts.js';

/** One look at a subject: good, bad (and why), or nothing to conclude (it cannot be seen now). */
export type HealthVerdict =
  | { readonly state: 'ok' }
  | { readonly state: 'bad'; readonly reason: string }
  | { readonly state: 'unknown' };

/** Something whose health one instance watches and announces (see notifications.ts for who owns what). */
export interface HealthSubject {
  readonly env: AppEnv;
  /** Names the subject in episodes and keys, e.g. `readiness` or `peer`. */
  readonly name: string;
  probe(): Promise<HealthVerdict>;
}

export interface HealthWatchOptions {
  readonly subjects: readonly HealthSubject[];
  readonly episodes: HealthEpisodes;
  readonly outbox: NotificationOutbox;
  readonly chatId: number;
  readonly degradedAfter: number;
  readonly recoveredAfter: number;
  readonly texts: Pick<NotificationTexts, 'degraded' | 'recovered'>;
  readonly logger: Logger;
  /** Sends a "degraded" notice directly when Postgres cannot record it (see sample). */
  readonly chat: NotificationChat;
  /** The signal that aborts a direct send in flight (the instance is stopping). */
  readonly signal?: () => AbortSignal;
}

/** A "degraded" notice sent directly, not yet recorded: Postgres was down. */
interface DirectNotice {
  readonly reason: string;
  readonly text: string;
  readonly startedAt: Date;
  readonly messageId: number;
}

/** Samples of one subject in a row: bad ones since `badSince`, or good ones. */
interface SampleCount {
  bad: number;
  good: number;
  badSince?: Date;
}

function countSample(count: SampleCount, state: 'ok' | 'bad'): void {
  if (state === 'bad') {
    if (count.bad === 0) count.badSince = new Date();
    count.bad += 1;
    count.good = 0;
  } else {
    count.good += 1;
    count.bad = 0;
  }
}

/** The dedup key of an episode's announcement. */
const healthKey = (e: HealthEpisode, edge: 'down' | 'up') => `health:${e.env}:${e.subject}:${edge}:${e.id}`;

/**
 * "Degraded" notices sent straight to the chat while Postgres cannot record them, kept in
 * memory (per subject) until Postgres answers and they can be recorded as sent.
 */
function createDirectNotices(options: HealthWatchOptions, log: Logger) {
  const { episodes, outbox, chatId, texts } = options;
  const sent = new Map<string, DirectNotice>();
  return {
    has: (id: string) => sent.has(id),

    /** The degraded notice straight to the chat; a failed send is tried again at the next sample. */
    async send(subject: HealthSubject, id: string, reason: string, startedAt: Date) {
      const text = texts.degraded(subject.env, reason);
      try {
        const { messageId } = await options.chat.send(chatId, text, options.signal?.());
        sent.set(id, { reason, text, startedAt, messageId });
        log.warn({ env: subject.env, subject: subject.name, reason }, 'degraded (announced directly)');
      } catch (error) {
        log.warn(
          { err: error, env: subject.env, subject: subject.name },
          'degraded, and the direct notice failed; trying again at the next sample',
        );
      }
    },

    /**
     * Postgres answers: the episode of a notice sent directly is recorded (begun when the
     * outage was first seen, unless one is open), its "down" as sent. Returns that episode,
     * or undefined when nothing was sent directly.
     */
    async record(subject: HealthSubject, id: string, open: HealthEpisode | undefined) {
      const notice = sent.get(id);
      if (!notice) return undefined;
      const episode =
        open ?? (await episodes.begin(subject.env, subject.name, notice.reason, notice.startedAt));
      await outbox.recordSent(healthKey(episode, 'down'), chatId, notice.text, notice.messageId);
      sent.delete(id);
      log.info(
        { env: subject.env, subject: subject.name },
        'recorded the degraded episode announced directly',
      );
      return episode;
    },
  };
}

/**
 * Debounced health announcements: a subject is degraded after `degradedAfter` bad samples
 * in a row and recovered after `recoveredAfter` good ones. The episode lives in Postgres,
 * so a restart in the middle neither announces it again nor misses its recovery; the
 * counts of samples live in memory (a restart starts counting again).
 *
 * The episode and the outbox live in the Postgres whose outage may be the news. When a
 * subject is degraded and its episode cannot be written, the "degraded" notice is sent
 * directly through the chat, once per process per outage (remembered in memory only: a
 * restart during the outage may send it again). Once Postgres answers, the episode is
 * recorded as begun at the outage's first bad sample, with its "down" key as sent, so the
 * outbox does not send it again and announces the recovery as for any other episode.
 */
export function createHealthWatch(options: HealthWatchOptions) {
  const { episodes, outbox, chatId, texts } = options;
  const log = options.logger.child({ component: 'health-watch' });
  const counts = new Map<string, SampleCount>();
  /** Per subject, the episode whose "degraded" row this process has made sure of. */
  const announced = new Map<string, number>();
  /** Per subject, the notice sent directly while Postgres was down, until it is recorded. */
  const direct = createDirectNotices(options, log);

  // Queued again whenever an open episode is first seen by this process: a crash between
  // opening the episode and queueing its notice must not lose the notice (the key dedups).
  const announceDown = async (id: string, episode: HealthEpisode) => {
    if (announced.get(id) === episode.id) return;
    await outbox.enqueue(healthKey(episode, 'down'), chatId, texts.degraded(episode.env, episode.reason));
    announced.set(id, episode.id);
  };

  const record = async (
    subject: HealthSubject,
    id: string,
    verdict: Exclude<HealthVerdict, { state: 'unknown' }>,
    count: SampleCount,
  ) => {
    let open = await episodes.open(subject.env, subject.name);
    const recorded = await direct.record(subject, id, open);
    if (recorded) {
      open = recorded;
      announced.set(id, recorded.id);
    }
    // No episode open: whatever this process announced has ended (maybe closed by another process).
    if (!open) announced.delete(id);
    if (!open && verdict.state === 'bad' && count.bad >= options.degradedAfter) {
      open = await episodes.begin(subject.env, subject.name, verdict.reason);
      log.warn({ env: subject.env, subject: subject.name, reason: verdict.reason }, 'degraded');
    }
    if (!open) return;
    await announceDown(id, open);
    if (verdict.state === 'ok' && count.good >= options.recoveredAfter) {
      // Queued before the episode is closed: a crash between the two repeats only the
      // (deduplicated) queueing, never loses the recovery.
      await outbox.enqueue(healthKey(open, 'up'), chatId, texts.recovered(open.env, open.startedAt));
      await episodes.end(open.id);
      announced.delete(id);
      log.info({ env: subject.env, subject: subject.name }, 'recovered');
    }
  };

  const sampleOne = async (subject: HealthSubject) => {
    const verdict = await subject.probe().catch((error: unknown): HealthVerdict => {
      log.debug({ err: error, subject: subject.name }, 'health probe failed');
      return { state: 'unknown' };
    });
    if (verdict.state === 'unknown') return;
    const id = `${subject.env}:${subject.name}`;
    const count = counts.get(id) ?? { bad: 0, good: 0 };
    counts.set(id, count);
    countSample(count, verdict.state);
    try {
      await record(subject, id, verdict, count);
    } catch (error) {
      // Degraded and unrecordable: Postgres itself is likely what is down. Announced
      // directly unless this process announced it already (directly or through the outbox).
      const unannounced = !direct.has(id) && !announced.has(id);
      if (verdict.state !== 'bad' || count.bad < options.degradedAfter || !unannounced) throw error;
      log.warn({ err: error, subject: subject.name }, 'could not record a degraded episode');
      await direct.send(subject, id, verdict.reason, count.badSince ?? new Date());
    }
  };

  return {
    /** Samples every subject once; a subject whose episode cannot be recorded is skipped. */
    async sample(): Promise<void> {
      for (const subject of options.subjects) {
        await sampleOne(subject).catch((error: unknown) =>
          log.warn({ err: error, subject: subject.name }, 'could not record a health sample'),
        );
      }
    },
  };
}
