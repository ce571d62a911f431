import type { Logger } from '../logger.js';
import type { NotificationOutbox } from '../store/notifications.js';

/**
 * A preview that failed to start, as the notify chat hears of it. (previews/preview.ts's
 * PreviewRecord has these fields; notifications may not import previews, so this names
 * only what a notice needs.)
 */
export interface FailedPreview {
  readonly pr: number;
  readonly headSha: string;
  /** The commit still serving, if the previous container runs on. */
  readonly runningSha?: string;
  readonly author: string;
  readonly url?: string;
  /** The forge deployment of this attempt: a new attempt at the same commit is a new notice. */
  readonly forgeDeploymentId?: number;
  readonly lastPushAt: Date;
}

/** The text of a preview's failure, in the markup the chat sends (the bot's: Telegram HTML), redacted. */
export type PreviewFailedText = (
  preview: FailedPreview,
  reason: string,
  logTail: readonly string[],
) => string;

/**
 * The outbox key of one failed start: the pull request, the commit and the attempt (its
 * forge deployment, else the push it answers), so a retried job that reports the same
 * failure again is announced once, and a later attempt that fails is announced again.
 */
export function previewFailureKey(p: FailedPreview): string {
  const attempt =
    p.forgeDeploymentId !== undefined ? `d${p.forgeDeploymentId}` : `p${p.lastPushAt.getTime()}`;
  return `preview-failed:pr${p.pr}:${p.headSha}:${attempt}`;
}

/**
 * The PreviewNotifier the preview service is given (structurally: `failed(preview, reason,
 * logTail)`): the notify chat hears each failed start once, through the outbox, so the
 * notice survives a restart and is sent when the chat can take it.
 */
export function createPreviewNotices(options: {
  readonly outbox: Pick<NotificationOutbox, 'enqueue'>;
  readonly notifyChatId: number;
  readonly text: PreviewFailedText;
  readonly logger: Logger;
  /** Wakes the outbox sender so the notice goes at once rather than at the next round. */
  readonly wake?: () => void;
}) {
  const log = options.logger.child({ component: 'preview-notices' });
  return {
    async failed(preview: FailedPreview, reason: string, logTail: readonly string[]): Promise<void> {
      const queued = await options.outbox.enqueue(
        previewFailureKey(preview),
        options.notifyChatId,
        options.text(preview, reason, logTail),
      );
      if (!queued) log.debug({ pr: preview.pr, sha: preview.headSha }, 'preview failure announced already');
      options.wake?.();
    },
  };
}
