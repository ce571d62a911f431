import * as z from 'zod';
import { count, optional } from './schemas.js';
import { setting } from './setting.js';

/** Where deploy results, health changes, failed promotions and expired locks are announced. */
export const notifySettings = {
  notify: {
    chatId: setting({
      variable: 'NOTIFY_CHAT_ID',
      schema: optional(
        z
          .string()
          .regex(
            /^-?\d{1,16}$/,
            'must be a Telegram chat id: a user id, or a group id such as -1001234567890 (empty: the first of ADMIN_IDS)',
          ),
      ).transform((v) => (v === undefined ? undefined : Number(v))),
      default: ({ adminIds }) => adminIds[0]!,
      description:
        'the chat that hears deploy results, health changes, failed promotions and expired locks (see Notifications); a user id or a negative group id; unset: the first admin’s private chat',
      docs: () => 'first of `ADMIN_IDS`',
    }),
    healthIntervalMs: setting({
      variable: 'NOTIFY_HEALTH_INTERVAL_SECONDS',
      schema: count('seconds', 1000),
      default: 20_000,
      describe: (ms) => ms / 1000,
      description: 'how often health is sampled and promotions and locks are looked at',
    }),
    degradedAfter: setting({
      variable: 'NOTIFY_DEGRADED_AFTER',
      schema: count('health samples'),
      default: 3,
      description: 'bad health samples in a row before an environment is announced as degraded',
    }),
    recoveredAfter: setting({
      variable: 'NOTIFY_RECOVERED_AFTER',
      schema: count('health samples'),
      default: 2,
      description: 'good health samples in a row before it is announced as recovered',
    }),
  },
};
