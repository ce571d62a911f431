// What production signs when it hands staging an anonymised dump, and how staging checks it.
//
// The trust runs the other way from promotions: production signs (REFRESH_SIGNING_KEY, held
// only by production) and staging verifies (REFRESH_VERIFY_KEY, public). The promote pair
// cannot be reused: production holds only its public half.
//
// The canonical message is UTF-8 text, eight lines, each ending in "\n", in this order:
//
//   lugh-refresh-v1
//   sha256=<the dump file's SHA-256, 64 lower-case hex digits>
//   bytes=<the dump's size in bytes, decimal>
//   source=<production's running commit, 40 lower-case hex digits>
//   rules=<SHA-256 of the rules file's bytes at that commit, 64 lower-case hex digits>
//   issued_at=<when production signed it: ISO 8601 UTC with milliseconds>
//   nonce=<32 lower-case hex digits, random; staging accepts each once>
//
// Every field is checked against its shape before a message is made or verified, so no
// value can carry a newline and two different handoffs never share a message.
import { type KeyObject, sign, verify } from 'node:crypto';
import { parseSigningKey, parseVerifyKey } from '../config/promote-keys.js';

export const REFRESH_HANDOFF_VERSION = 'lugh-refresh-v1';

export interface RefreshClaims {
  readonly sha256: string;
  readonly bytes: number;
  readonly sourceCommit: string;
  readonly rulesHash: string;
  readonly issuedAt: string;
  readonly nonce: string;
}

/** The claims with their signature: what travels beside the dump (as JSON). */
export interface RefreshHandoff extends RefreshClaims {
  readonly signature: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const SHA = /^[0-9a-f]{40}$/;
const NONCE = /^[0-9a-f]{32}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SIGNATURE = /^[A-Za-z0-9+/]{86}==$/;

function claimsProblem(c: Partial<Record<keyof RefreshClaims, unknown>>): string | undefined {
  if (typeof c.sha256 !== 'string' || !HEX64.test(c.sha256)) return 'the dump digest is not a SHA-256';
  if (typeof c.bytes !== 'number' || !Number.isSafeInteger(c.bytes) || c.bytes <= 0)
    return 'the dump size is not a positive whole number';
  if (typeof c.sourceCommit !== 'string' || !SHA.test(c.sourceCommit))
    return 'the source commit is not a 40-digit SHA';
  if (typeof c.rulesHash !== 'string' || !HEX64.test(c.rulesHash)) return 'the rules digest is not a SHA-256';
  if (typeof c.issuedAt !== 'string' || !ISO_UTC.test(c.issuedAt) || Number.isNaN(Date.parse(c.issuedAt)))
    return 'the time is not an ISO 8601 UTC time';
  if (typeof c.nonce !== 'string' || !NONCE.test(c.nonce)) return 'the nonce is not 32 hex digits';
  return undefined;
}

/** The exact bytes that are signed (see the top of this file). */
export function refreshMessage(c: RefreshClaims): Buffer {
  const problem = claimsProblem(c);
  if (problem) throw new Error(`cannot sign this refresh: ${problem}`);
  return Buffer.from(
    [
      REFRESH_HANDOFF_VERSION,
      `sha256=${c.sha256}`,
      `bytes=${c.bytes}`,
      `source=${c.sourceCommit}`,
      `rules=${c.rulesHash}`,
      `issued_at=${c.issuedAt}`,
      `nonce=${c.nonce}`,
      '',
    ].join('\n'),
    'utf8',
  );
}

/** Production's signature over the claims, with REFRESH_SIGNING_KEY. */
export function signRefresh(claims: RefreshClaims, signingKey: string | KeyObject): RefreshHandoff {
  const key = typeof signingKey === 'string' ? parseSigningKey(signingKey) : signingKey;
  if (!key) throw new Error('REFRESH_SIGNING_KEY is not an Ed25519 private key; `lugh keys` prints a pair');
  const { sha256, bytes, sourceCommit, rulesHash, issuedAt, nonce } = claims;
  const clean = { sha256, bytes, sourceCommit, rulesHash, issuedAt, nonce };
  return { ...clean, signature: sign(null, refreshMessage(clean), key).toString('base64') };
}

export type RefreshVerdict =
  | { readonly ok: true; readonly claims: RefreshClaims }
  | { readonly ok: false; readonly reason: string };

/** Staging's check of a handoff (parsed JSON, trusted for nothing) with REFRESH_VERIFY_KEY. */
export function verifyRefresh(handoff: unknown, verifyKey: string | KeyObject | undefined): RefreshVerdict {
  const key =
    verifyKey === undefined
      ? undefined
      : typeof verifyKey === 'string'
        ? parseVerifyKey(verifyKey)
        : verifyKey;
  if (!key) return { ok: false, reason: 'no REFRESH_VERIFY_KEY to verify refreshes with' };
  if (typeof handoff !== 'object' || handoff === null) return { ok: false, reason: 'no refresh handoff' };
  const h = handoff as Partial<Record<keyof RefreshHandoff, unknown>>;
  if (typeof h.signature !== 'string' || !SIGNATURE.test(h.signature))
    return { ok: false, reason: 'the refresh is not signed with an Ed25519 signature' };
  const problem = claimsProblem(h);
  if (problem) return { ok: false, reason: `the refresh handoff is malformed: ${problem}` };
  const claims = h as unknown as RefreshClaims;
  const { sha256, bytes, sourceCommit, rulesHash, issuedAt, nonce } = claims;
  const clean = { sha256, bytes, sourceCommit, rulesHash, issuedAt, nonce };
  if (!verify(null, refreshMessage(clean), key, Buffer.from(h.signature, 'base64')))
    return { ok: false, reason: 'the signature does not verify with REFRESH_VERIFY_KEY' };
  return { ok: true, claims: clean };
}
