// A preview that fails to start is told to the notify chat once, through the outbox: the
// PreviewNotifier the app gives the preview service (app/preview-chat.ts), on real
// Postgres, sent by the outbox sender through the Telegram stand-in. A job retried after a
// crash, or another process, reporting the same failure again says nothing new; a later
// attempt that fails is told again. Secrets in its reason or its last lines are redacted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPreviewNotifier } from '../../../src/app/preview-chat.js';
import { createNotificationChat } from '../../../src/bot/notifications/telegram-notification-chat.js';
import { secretsOf } from '../../../src/config/index.js';
import { createOutboxSender } from '../../../src/notifications/outbox-sender.js';
import type { PreviewRecord } from '../../../src/previews/preview.js';
import { createRedactor } from '../../../src/redact.js';
import { createNotificationOutbox } from '../../../src/store/notifications.js';
import { createNotificationWorld, type NotificationWorld, quiet } from '../../helpers/notification-world.js';

const TOKEN = '7007061:AAPreviewFailureStagingToken_abcdefg';
const NOTIFY_CHAT = 3161;

const record = (over: Partial<PreviewRecord> = {}): PreviewRecord => ({
  pr: 7,
  state: 'failed',
  headSha: 'abc1234'.padEnd(40, '0'),
  headRef: 'feature-7',
  author: 'octocat',
  fork: false,
  forgeDeploymentId: 501,
  createdAt: new Date('2026-12-01T10:00:00Z'),
  lastPushAt: new Date('2026-12-01T11:00:00Z'),
  updatedAt: new Date('2026-12-01T11:05:00Z'),
  ...over,
});

describe('a preview’s failure in the notify chat', () => {
  let world: NotificationWorld;
  beforeAll(async () => {
    world = await createNotificationWorld({ token: TOKEN, extra: { NOTIFY_CHAT_ID: String(NOTIFY_CHAT) } });
    world.start(NOTIFY_CHAT);
  });
  afterAll(async () => {
    await world?.close();
  });

  const processOf = () => {
    const redact = createRedactor(secretsOf(world.config));
    const outbox = createNotificationOutbox(world.pool());
    const sender = createOutboxSender({
      chat: createNotificationChat(world.config, redact),
      outbox,
      logger: quiet,
      redact,
      pollMs: 50,
    });
    const notifier = buildPreviewNotifier(world.config, quiet, { outbox, redact, wake: () => sender.wake() });
    return { notifier, sender };
  };

  it('is said once with its reason and last lines, however often and by whichever process it is reported', async () => {
    const first = processOf();
    const second = processOf();
    const tail = ['listening on 8080', `TELEGRAM_BOT_TOKEN=${TOKEN}`, 'Error: <boom>'];
    await first.notifier.failed(record(), 'health check failed after 60 s', tail);
    await first.notifier.failed(record(), 'health check failed after 60 s', tail);
    await second.notifier.failed(record(), 'health check failed after 60 s', tail);
    const queued = async () =>
      Number(
        (
          await world
            .pool()
            .query("SELECT count(*) AS n FROM notifications WHERE dedup_key LIKE 'preview-failed:%'")
        ).rows[0].n,
      );
    expect(await queued()).toBe(1);
    first.sender.start();
    second.sender.start();
    try {
      await expect.poll(() => world.botTexts(NOTIFY_CHAT), { timeout: 10_000 }).toHaveLength(1);
      const [text] = world.botTexts(NOTIFY_CHAT);
      expect(text).toContain('Preview of #7 (abc1234) failed to start: health check failed after 60 s.');
      expect(text).toContain('listening on 8080');
      expect(text).toContain('Error: <boom>');
      expect(text).not.toContain(TOKEN);

      // A later attempt (a new push, a redeploy: its own forge deployment) that fails is told again.
      await second.notifier.failed(record({ forgeDeploymentId: 502 }), 'migration failed', []);
      await expect.poll(() => world.botTexts(NOTIFY_CHAT), { timeout: 10_000 }).toHaveLength(2);
      expect(world.botTexts(NOTIFY_CHAT)[1]).toContain(
        'Preview of #7 (abc1234) failed to start: migration failed.',
      );
      // Nothing more comes of the first failure, told again meanwhile.
      await first.notifier.failed(record(), 'health check failed after 60 s', tail);
      await first.sender.sendDue();
      expect(await queued()).toBe(2);
      expect(world.botTexts(NOTIFY_CHAT)).toHaveLength(2);
    } finally {
      await first.sender.stop();
      await second.sender.stop();
    }
  });
});
