// What staging signs when it hands production a deploy, and how production checks it.
//
// The canonical message is UTF-8 text, seven lines, each ending in "\n", in this order:
//
//   lugh-handoff-v1
//   sha=<the GitHub Deployment's commit: 40 lower-case hex digits>
//   environment=<the GitHub Deployment's environment, e.g. production>
//   promotion=<the promotion id in staging's database, decimal>
//   approvers=<Telegram user ids of the approver(s), decimal, ascending, comma-separated>
//   chat=<the Telegram chat id the promotion ran in, decimal, may be negative>
//   approved_at=<when staging signed it, after the approval: ISO 8601 UTC with milliseconds>
//
// Every field is checked against its shape before a message is made, so no value can carry
// a newline or "=" and two different handoffs never share a message. The signature is
// Ed25519 (node:crypto) over those bytes, sent as standard base64 in the payload.
import { type KeyObject, sign, verify } from 'node:crypto';
import { parseSigningKey, parseVerifyKey } from '../config/promote-keys.js';

export const HANDOFF_VERSION = 'lugh-handoff-v1';

/** What a handoff asserts; production trusts none of it until the signature verifies. */
export interface HandoffClaims {
  readonly sha: string;
  readonly environment: string;
  readonly promotionId: number;
  readonly approvers: readonly number[];
  readonly chatId: number;
  /** ISO 8601 UTC with milliseconds, as Date#toISOString writes it. */
  readonly approvedAt: string;
}

/** The `lugh` key of a handed-over GitHub Deployment's payload. */
export interface HandoffPayload {
  readonly promotionId: number;
  readonly approvers: readonly number[];
  readonly chatId: number;
  readonly approvedAt: string;
  readonly signature: string;
}

const SHA = /^[0-9a-f]{40}$/;
const ENVIRONMENT = /^[a-z][a-z0-9_-]{0,63}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SIGNATURE = /^[A-Za-z0-9+/]{86}==$/;

const isId = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n);

/** Why claims cannot be put into a message, or undefined when they can. */
function claimsProblem(c: HandoffClaims): string | undefined {
  if (!SHA.test(c.sha)) return 'the commit is not a 40-digit SHA';
  if (!ENVIRONMENT.test(c.environment)) return 'the environment is not a plain name';
  if (!isId(c.promotionId) || c.promotionId <= 0) return 'the promotion id is not a positive whole number';
  if (c.approvers.length === 0 || !c.approvers.every((a) => isId(a) && a > 0))
    return 'the approvers are not Telegram user ids';
  if (!isId(c.chatId) || c.chatId === 0) return 'the chat is not a Telegram chat id';
  if (!ISO_UTC.test(c.approvedAt) || Number.isNaN(Date.parse(c.approvedAt)))
    return 'the approval time is not an ISO 8601 UTC time';
  return undefined;
}

/** The exact bytes that are signed (see the top of this file). */
export function handoffMessage(c: HandoffClaims): Buffer {
  const problem = claimsProblem(c);
  if (problem) throw new Error(`cannot sign this handoff: ${problem}`);
  const approvers = [...new Set(c.approvers)].sort((a, b) => a - b);
  return Buffer.from(
    [
      HANDOFF_VERSION,
      `sha=${c.sha}`,
      `environment=${c.environment}`,
      `promotion=${c.promotionId}`,
      `approvers=${approvers.join(',')}`,
      `chat=${c.chatId}`,
      `approved_at=${c.approvedAt}`,
      '',
    ].join('\n'),
    'utf8',
  );
}

/** The payload staging puts under `lugh` in the GitHub Deployment it creates. */
export function signHandoff(claims: HandoffClaims, signingKey: string | KeyObject): HandoffPayload {
  const key = typeof signingKey === 'string' ? parseSigningKey(signingKey) : signingKey;
  if (!key) throw new Error('PROMOTE_SIGNING_KEY is not an Ed25519 private key');
  const signature = sign(null, handoffMessage(claims), key).toString('base64');
  return {
    promotionId: claims.promotionId,
    approvers: [...new Set(claims.approvers)].sort((a, b) => a - b),
    chatId: claims.chatId,
    approvedAt: claims.approvedAt,
    signature,
  };
}

export type HandoffVerdict =
  | { readonly ok: true; readonly claims: HandoffClaims }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks a GitHub Deployment's `lugh` payload against its SHA and environment: the claims
 * are taken from the payload, the commit and environment from GitHub's own record of the
 * Deployment, and the signature must verify over all of them with the verify key.
 */
export function verifyHandoff(
  deployment: { readonly sha: string; readonly environment: string },
  payload: unknown,
  verifyKey: string | KeyObject | undefined,
): HandoffVerdict {
  const key =
    verifyKey === undefined
      ? undefined
      : typeof verifyKey === 'string'
        ? parseVerifyKey(verifyKey)
        : verifyKey;
  if (!key) return { ok: false, reason: 'no PROMOTE_VERIFY_KEY to verify handoffs with' };
  if (typeof payload !== 'object' || payload === null) return { ok: false, reason: 'no handoff payload' };
  const p = payload as Partial<Record<keyof HandoffPayload, unknown>>;
  if (p.signature === undefined) return { ok: false, reason: 'the handoff is not signed' };
  if (typeof p.signature !== 'string' || !SIGNATURE.test(p.signature))
    return { ok: false, reason: 'the signature is not an Ed25519 signature' };
  if (!Array.isArray(p.approvers)) return { ok: false, reason: 'the handoff names no approvers' };
  const claims: HandoffClaims = {
    sha: deployment.sha,
    environment: deployment.environment,
    promotionId: p.promotionId as number,
    approvers: p.approvers as number[],
    chatId: p.chatId as number,
    approvedAt: p.approvedAt as string,
  };
  const problem = claimsProblem(claims);
  if (problem) return { ok: false, reason: `the handoff is malformed: ${problem}` };
  const good = verify(null, handoffMessage(claims), key, Buffer.from(p.signature, 'base64'));
  if (!good)
    return { ok: false, reason: 'the signature does not verify with PROMOTE_VERIFY_KEY (for this commit)' };
  return { ok: true, claims: { ...claims, approvers: [...new Set(claims.approvers)].sort((a, b) => a - b) } };
}
