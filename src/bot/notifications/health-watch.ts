import type { AppEnv } from '../../environments.js';
import type { Logger } from '../../logger.js';
import type { HealthEpisode, HealthEpisodes } from '../../store/health-episodes.js';
import type { NotificationOutbox } from '../../store/notifications.js';
import { renderDegraded, renderRecovered } from './render.js';

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
  readonly redact: (text: string) => string;
  readonly logger: Logger;
}

/** The dedup key of an episode's announcement. */
export const healthKey = (e: HealthEpisode, edge: 'down' | 'up') =>
  `health:${e.env}:${e.subject}:${edge}:${e.id}`;

/**
 * Debounced health announcements: a subject is degraded after `degradedAfter` bad samples
 * in a row and recovered after `recoveredAfter` good ones. The episode lives in Postgres,
 * so a restart in the middle neither announces it again nor misses its recovery; the
 * counts of samples live in memory (a restart starts counting again).
 */
export function createHealthWatch(options: HealthWatchOptions) {
  const { episodes, outbox, chatId, redact } = options;
  const log = options.logger.child({ component: 'health-watch' });
  const counts = new Map<string, { bad: number; good: number }>();
  /** Episodes whose "degraded" row this process has made sure of. */
  const announced = new Set<number>();

  // Queued again whenever an open episode is first seen by this process: a crash between
  // opening the episode and queueing its notice must not lose the notice (the key dedups).
  const announceDown = async (episode: HealthEpisode) => {
    if (announced.has(episode.id)) return;
    await outbox.enqueue(
      healthKey(episode, 'down'),
      chatId,
      renderDegraded(episode.env, episode.reason, redact),
    );
    announced.add(episode.id);
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
    if (verdict.state === 'bad') {
      count.bad += 1;
      count.good = 0;
    } else {
      count.good += 1;
      count.bad = 0;
    }
    let open = await episodes.open(subject.env, subject.name);
    if (!open && verdict.state === 'bad' && count.bad >= options.degradedAfter) {
      open = await episodes.begin(subject.env, subject.name, verdict.reason);
      log.warn({ env: subject.env, subject: subject.name, reason: verdict.reason }, 'degraded');
    }
    if (!open) return;
    await announceDown(open);
    if (verdict.state === 'ok' && count.good >= options.recoveredAfter) {
      // Queued before the episode is closed: a crash between the two repeats only the
      // (deduplicated) queueing, never loses the recovery.
      await outbox.enqueue(healthKey(open, 'up'), chatId, renderRecovered(open.env, open.startedAt));
      await episodes.end(open.id);
      announced.delete(open.id);
      log.info({ env: subject.env, subject: subject.name }, 'recovered');
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

export type HealthWatch = ReturnType<typeof createHealthWatch>;
