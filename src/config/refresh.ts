import * as z from 'zod';
import { keyFingerprint, malformedKeyMessage, parseSigningKey, parseVerifyKey } from './promote-keys.js';
import { count, optional, redacted } from './schemas.js';
import { setting } from './setting.js';
import { signingKeySetting } from './signing-key-setting.js';

const verifyKeySchema = z.string().superRefine((v, ctx) => {
  if (parseVerifyKey(v)) return;
  ctx.addIssue({
    code: 'custom',
    message: parseSigningKey(v)
      ? 'is a private key: REFRESH_VERIFY_KEY takes the public key (the private one belongs in production’s REFRESH_SIGNING_KEY only).'
      : malformedKeyMessage.verify,
  });
});

/** /refresh staging: production's anonymised data handed to staging (flag `staging_refresh`). */
export const refreshSettings = {
  refresh: {
    signingKey: signingKeySetting({
      variable: 'REFRESH_SIGNING_KEY',
      description:
        'production only (staging never reads it), secret: the Ed25519 private key that signs each anonymised dump handed to staging (`lugh keys` makes a pair)',
      docs: (env) => (env === 'production' ? 'secret, in `.env.prod.local`' : 'never'),
    }),
    verifyKey: setting({
      variable: 'REFRESH_VERIFY_KEY',
      schema: optional(verifyKeySchema).transform((v) => v?.trim()),
      describe: (key) => (key ? keyFingerprint(key) : '(not set)'),
      description:
        'staging: the Ed25519 public key a refresh’s signature must verify with; without it staging refuses every refresh',
      docs: (env) => (env === 'staging' ? 'public key, in `.env.staging.local`' : 'not needed'),
    }),
    hashKey: setting({
      variable: 'REFRESH_HASH_KEY',
      schema: optional(z.string().min(16, 'must be at least 16 characters (e.g. `openssl rand -hex 32`)')),
      secret: (key) => [key],
      describe: redacted,
      description:
        'production only (staging never reads it), secret: the key of the `hash` rule (a keyed hash, so joins still match and values cannot be looked up)',
    }),
    dir: setting({
      variable: 'REFRESH_DIR',
      schema: optional(z.string().refine((v) => v.startsWith('/'), 'must be an absolute path')),
      describe: (v) => v ?? '(not set: refresh off)',
      description:
        'the only channel of /refresh staging: one host directory both instances mount at this same path (`/home/lugh/lugh-refresh` in the compose files): production writes the anonymised dump and its signed handoff, staging its status',
    }),
    maxBackupAgeHours: setting({
      variable: 'REFRESH_BACKUP_MAX_AGE',
      schema: count('hours'),
      default: 24,
      description:
        'hours: a production backup older than this is not copied; a fresh `pg_dump` is taken instead',
    }),
  },
};
