// What the chat gives previews: the notify chat's notice of a failed start (through the
// outbox), for the preview service to be built with.
import { renderPreviewFailed } from '../bot/notifications/preview-text.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { createPreviewNotices } from '../notifications/preview-notices.js';
import type { PreviewNotifier } from '../previews/preview.js';
import type { NotificationOutbox } from '../store/notifications.js';

/** The PreviewNotifier of this instance: each failed start said once in the notify chat. */
export function buildPreviewNotifier(
  config: Pick<Config, 'notify'>,
  logger: Logger,
  parts: {
    readonly outbox: Pick<NotificationOutbox, 'enqueue'>;
    readonly redact: (text: string) => string;
    /** The outbox sender's wake, so the notice goes now rather than at the next round. */
    readonly wake?: () => void;
  },
): PreviewNotifier {
  return createPreviewNotices({
    outbox: parts.outbox,
    notifyChatId: config.notify.chatId,
    text: (preview, reason, logTail) => renderPreviewFailed(preview, reason, logTail, parts.redact),
    logger,
    wake: parts.wake,
  });
}
