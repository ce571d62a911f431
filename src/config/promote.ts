import { z } from 'zod';
import { type FreezeWindow, isValidTimeZone, parseFreezeWindows } from './freeze-windows.js';
import { minutes, numbersOf, oneOf, optional } from './schemas.js';
import { setting } from './setting.js';

const isFreezeSpec = (spec: string) => {
  try {
    parseFreezeWindows(spec);
    return true;
  } catch {
    return false;
  }
};

/** /promote: merging develop into main, waiting for CI, and when it must not happen. */
export const promoteSettings = {
  promote: {
    mergeMethod: setting({
      variable: 'PROMOTE_MERGE_METHOD',
      schema: oneOf(['merge', 'squash', 'rebase'], 'must be merge, squash or rebase'),
      default: 'merge',
      description: '`merge`, `squash` or `rebase`; never forced',
    }),
    ciTimeoutMs: setting({
      variable: 'PROMOTE_CI_TIMEOUT_MINUTES',
      schema: minutes(),
      default: 30 * 60_000,
      describe: (ms) => ms / 60_000,
      description: 'how long /promote waits for CI',
    }),
    approvalTtlMs: setting({
      variable: 'PROMOTE_APPROVAL_MINUTES',
      schema: minutes(),
      default: 15 * 60_000,
      describe: (ms) => ms / 60_000,
      description: 'how long the Yes/No buttons live',
    }),
    pollIntervalMs: setting({
      variable: 'PROMOTE_POLL_SECONDS',
      schema: optional(
        z.string().regex(/^[1-9]\d*$/, 'must be a whole number of seconds, at least 1'),
      ).transform((v) => (v === undefined ? undefined : Number(v) * 1000)),
      default: 15_000,
      describe: (ms) => ms / 1000,
      description: 'reconciling CI poll with conditional requests; webhooks wake it sooner',
    }),
    allowedChatIds: setting({
      variable: 'PROMOTE_CHAT_IDS',
      schema: optional(
        z
          .string()
          .regex(
            /^\s*-?\d+(\s*,\s*-?\d+)*\s*$/,
            'must be comma-separated Telegram chat ids, e.g. -1001234567890',
          ),
      ).transform((v): readonly number[] | undefined => (v ? numbersOf(v) : undefined)),
      default: [],
      describe: (ids) => ids.join(',') || '(none: private chats only)',
      description: 'group chats where /promote may run, besides private chats',
    }),
    freezeWindows: setting({
      variable: 'FREEZE_WINDOWS',
      schema: optional(
        z.string().refine(isFreezeSpec, 'must be windows like "Fri 16:00-Mon 08:00", separated by ";"'),
      ).transform((v): readonly FreezeWindow[] | undefined => (v ? parseFreezeWindows(v) : undefined)),
      default: [],
      describe: (windows) => windows.map((w) => w.text).join('; ') || '(none)',
      description: 'no promotion in them, e.g. `Fri 16:00-Mon 08:00; Wed 12:00-Wed 13:00`',
    }),
    timeZone: setting({
      variable: 'FREEZE_TIMEZONE',
      schema: optional(z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin')),
      default: 'UTC',
      description: 'the time zone of `FREEZE_WINDOWS`, e.g. `Europe/Berlin`',
    }),
  },
};
