// The promotion key pair: staging signs each handoff to production with the private key
// (PROMOTE_SIGNING_KEY), production verifies with the public key (PROMOTE_VERIFY_KEY).
//
// Encoding: standard base64 of the key's DER form, one line, no PEM armour: PKCS#8 for the
// private key (64 characters), SubjectPublicKeyInfo for the public key (60 characters).
// `lugh keys` prints a pair; `openssl genpkey -algorithm ed25519 -outform DER | base64`
// makes the same private key.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { AppEnv } from './environments.js';

export const SIGNING_KEY_VARIABLE = 'PROMOTE_SIGNING_KEY';
export const VERIFY_KEY_VARIABLE = 'PROMOTE_VERIFY_KEY';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function derOf(text: string): Buffer | undefined {
  const value = text.trim();
  if (!BASE64.test(value) || value.length % 4 !== 0) return undefined;
  return Buffer.from(value, 'base64');
}

function isEd25519(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ed25519';
}

/** The private key of PROMOTE_SIGNING_KEY, or undefined when the text is not one. */
export function parseSigningKey(text: string): KeyObject | undefined {
  const der = derOf(text);
  if (!der) return undefined;
  try {
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return isEd25519(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The public key of PROMOTE_VERIFY_KEY, or undefined when the text is not one. */
export function parseVerifyKey(text: string): KeyObject | undefined {
  const der = derOf(text);
  if (!der) return undefined;
  try {
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    return isEd25519(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The public key as PROMOTE_VERIFY_KEY writes it. */
export function encodeVerifyKey(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}

/** The public half of a signing key, as PROMOTE_VERIFY_KEY writes it (undefined: not a key). */
export function verifyKeyOf(signingKey: string): string | undefined {
  const key = parseSigningKey(signingKey);
  return key && encodeVerifyKey(createPublicKey(key));
}

/** A fresh pair, as the two variables take them. */
export function generatePromoteKeys(): { signingKey: string; verifyKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    signingKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    verifyKey: encodeVerifyKey(publicKey),
  };
}

/** A short, public name of a verify key for `lugh config` and the doctor: its last characters. */
export function keyFingerprint(verifyKey: string): string {
  return `…${verifyKey.trim().replace(/=+$/, '').slice(-8)}`;
}

const MALFORMED_SIGNING =
  'is not an Ed25519 private key: expected one line of base64 (PKCS#8 DER) as `lugh keys` prints it.';
const MALFORMED_VERIFY =
  'is not an Ed25519 public key: expected one line of base64 (SubjectPublicKeyInfo DER) as `lugh keys` prints it.';

/** Checks PROMOTE_SIGNING_KEY's shape (zod refinement). */
export const isSigningKeyText = (v: string) => parseSigningKey(v) !== undefined;
/** Checks PROMOTE_VERIFY_KEY's shape; a private key pasted there is refused by name. */
export const isVerifyKeyText = (v: string) => parseVerifyKey(v) !== undefined;
export const malformedKeyMessage = { signing: MALFORMED_SIGNING, verify: MALFORMED_VERIFY } as const;

export interface KeyCheckInput {
  readonly appEnv: AppEnv;
  readonly promoteOn: boolean;
  /** GITHUB_REPO is set: only then does production take handoffs from GitHub. */
  readonly github: boolean;
  /** The raw values, present only when they passed their own check (malformed ones are reported there). */
  readonly signingKey?: string;
  readonly verifyKey?: string;
  /** True when the variable is set at all, valid or not. */
  readonly signingKeySet: boolean;
  readonly verifyKeySet: boolean;
}

/**
 * Which environment may hold which half of the pair:
 * - production holds the public key only, and must hold it while promotions are on and
 *   it takes handoffs from GitHub; a signing key there would let production (or whoever
 *   reads its env file) forge its own approvals, so it is refused;
 * - staging holds the private key; it may also hold PROMOTE_VERIFY_KEY only when that is
 *   the public half of its own PROMOTE_SIGNING_KEY (a copy for checking): any other
 *   public key in staging is another pair's, i.e. production's key material.
 */
export function promoteKeyProblems(input: KeyCheckInput): { variable: string; message: string }[] {
  const problems: { variable: string; message: string }[] = [];
  if (input.appEnv === 'production') {
    if (input.signingKeySet) {
      problems.push({
        variable: SIGNING_KEY_VARIABLE,
        message:
          'is set in production: the private key belongs to staging only (production verifies with PROMOTE_VERIFY_KEY). Remove it from production’s env files.',
      });
    }
    if (!input.verifyKeySet && input.promoteOn && input.github) {
      problems.push({
        variable: VERIFY_KEY_VARIABLE,
        message:
          'is required in production while promotions are on (FEATURE_PROMOTE): without it no handoff from staging can be verified. Run `lugh keys` and put its PROMOTE_VERIFY_KEY line in .env.prod.local.',
      });
    }
    return problems;
  }
  if (input.verifyKeySet && !input.signingKeySet) {
    problems.push({
      variable: VERIFY_KEY_VARIABLE,
      message:
        'is set in staging without PROMOTE_SIGNING_KEY: the public key is production’s setting. Remove it from staging’s env files (staging holds PROMOTE_SIGNING_KEY).',
    });
  } else if (
    input.signingKey &&
    input.verifyKey &&
    verifyKeyOf(input.signingKey) !== input.verifyKey.trim()
  ) {
    problems.push({
      variable: VERIFY_KEY_VARIABLE,
      message:
        'does not match PROMOTE_SIGNING_KEY: in staging it may only be the public half of its own signing key. Remove it, or use the pair `lugh keys` printed.',
    });
  }
  return problems;
}
