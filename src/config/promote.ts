import * as z from 'zod';
import { type FreezeWindow, isValidTimeZone, parseFreezeWindows } from './freeze-windows.js';
import { keyFingerprint, malformedKeyMessage, parseSigningKey, parseVerifyKey } from './promote-keys.js';
import { minutes, numbersOf, oneOf, optional } from './schemas.js';
import { setting } from './setting.js';
import { signingKeySetting } from './signing-key-setting.js';

const isFreezeSpec = (spec: string) => {
  try {
    parseFreezeWindows(spec);
    return true;
  } catch {
    return false;
  }
};

const verifyKeySchema = z.string().superRefine((v, ctx) => {
  if (parseVerifyKey(v)) return;
  ctx.addIssue({
    code: 'custom',
    message: parseSigningKey(v)
      ? 'is a private key: PROMOTE_VERIFY_KEY takes the public key (the private one belongs in staging’s PROMOTE_SIGNING_KEY only).'
      : malformedKeyMessage.verify,
  });
});

/** /promote: merging develop into main, waiting for CI, and when it must not happen. */
export const promoteSettings = {
  promote: {
    mergeMethod: setting({
      variable: 'PROMOTE_MERGE_METHOD',
      schema: oneOf(['merge', 'squash', 'rebase'], 'must be merge, squash or rebase'),
      default: 'merge',
      description:
        '`merge`, `squash` or `rebase`; never forced. `squash` and `rebase` write new commits on main that develop lacks: after the promotion lugh moves develop to main when develop has nothing new since the promoted head (a forced move, same content), else opens a back-merge pull request main → develop; until develop is rebased onto main, /promote lists the shipped commits again. `merge` needs none of this',
    }),
    updateMethod: setting({
      variable: 'PROMOTE_UPDATE_METHOD',
      schema: oneOf(['update-branch', 'merge'], 'must be update-branch or merge'),
      default: 'update-branch',
      description:
        'how the “Update develop from main” button brings develop up to date when main’s protection requires it (GitHub says `behind`): `update-branch` (GitHub’s update-branch on the pull request) or `merge` (main merged into develop through the merges API); both add a merge commit to develop, and CI runs again',
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
    signingKey: signingKeySetting({
      variable: 'PROMOTE_SIGNING_KEY',
      description:
        'staging only, secret: the Ed25519 private key that signs each handoff to production (base64 PKCS#8 DER; `lugh keys` makes a pair)',
      docs: (env) => (env === 'staging' ? 'secret, in `.env.staging.local`' : 'never (refused)'),
    }),
    verifyKey: setting({
      variable: 'PROMOTE_VERIFY_KEY',
      schema: optional(verifyKeySchema).transform((v) => v?.trim()),
      describe: (key) => (key ? keyFingerprint(key) : '(not set)'),
      description:
        'production: the Ed25519 public key a handoff’s signature must verify with (base64 SubjectPublicKeyInfo DER); required while promotions are on and `GITHUB_REPO` is set',
      docs: (env) =>
        env === 'production'
          ? 'public key, in `.env.prod.local`'
          : 'only the public half of its own signing key',
    }),
    timeZone: setting({
      variable: 'FREEZE_TIMEZONE',
      schema: optional(z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin')),
      default: 'UTC',
      description: 'the time zone of `FREEZE_WINDOWS`, e.g. `Europe/Berlin`',
    }),
  },
};
