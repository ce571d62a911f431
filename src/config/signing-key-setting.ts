import * as z from 'zod';
import { isSigningKeyText, keyFingerprint, malformedKeyMessage, verifyKeyOf } from './promote-keys.js';
import { optional } from './schemas.js';
import { setting } from './setting.js';

/**
 * An Ed25519 private key setting (PROMOTE_SIGNING_KEY, REFRESH_SIGNING_KEY): a secret, printed
 * only as the fingerprint of its public half.
 */
export function signingKeySetting(row: {
  readonly variable: string;
  readonly description: string;
  readonly docs: Parameters<typeof setting>[0]['docs'];
}) {
  return setting({
    variable: row.variable,
    schema: optional(z.string().refine(isSigningKeyText, malformedKeyMessage.signing)).transform((v) =>
      v?.trim(),
    ),
    secret: (key) => [key, key.trim()],
    describe: (key) => {
      const verify = key && verifyKeyOf(key);
      return verify ? `[redacted] (pair of ${keyFingerprint(verify)})` : '(not set)';
    },
    description: row.description,
    docs: row.docs,
  });
}
