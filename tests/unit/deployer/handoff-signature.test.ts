import { describe, expect, it } from 'vitest';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import {
  type HandoffClaims,
  handoffMessage,
  signHandoff,
  verifyHandoff,
} from '../../../src/deployer/handoff-signature.js';

const keys = generatePromoteKeys();
const claims: HandoffClaims = {
  sha: 'a1'.repeat(20),
  environment: 'production',
  promotionId: 42,
  approvers: [1002, 1001],
  chatId: -1001234567890,
  approvedAt: '2025-03-04T05:06:07.089Z',
};
const deployment = { sha: claims.sha, environment: claims.environment };

describe('the canonical handoff message', () => {
  it('is seven fixed lines, approvers ascending and distinct', () => {
    expect(handoffMessage({ ...claims, approvers: [1002, 1001, 1002] }).toString('utf8')).toBe(
      [
        'lugh-handoff-v1',
        `sha=${'a1'.repeat(20)}`,
        'environment=production',
        'promotion=42',
        'approvers=1001,1002',
        'chat=-1001234567890',
        'approved_at=2025-03-04T05:06:07.089Z',
        '',
      ].join('\n'),
    );
  });

  it('refuses values that could smuggle a line or another shape', () => {
    const bad: Partial<HandoffClaims>[] = [
      { sha: 'A1'.repeat(20) },
      { sha: 'abc' },
      { environment: 'production\napprovers=1' },
      { promotionId: 0 },
      { promotionId: 1.5 },
      { approvers: [] },
      { approvers: [-1] },
      { chatId: 0 },
      { approvedAt: '2025-03-04 05:06:07' },
    ];
    for (const b of bad) expect(() => handoffMessage({ ...claims, ...b }), JSON.stringify(b)).toThrow();
  });
});

describe('signing and verifying a handoff', () => {
  const payload = signHandoff(claims, keys.signingKey);

  it('verifies with the pair’s public key, giving back what was signed', () => {
    expect(payload).toMatchObject({ promotionId: 42, approvers: [1001, 1002], chatId: -1001234567890 });
    expect(verifyHandoff(deployment, payload, keys.verifyKey)).toEqual({
      ok: true,
      claims: { ...claims, approvers: [1001, 1002] },
    });
  });

  it('refuses an unsigned handoff, and one without a verify key', () => {
    const { signature: _, ...unsigned } = payload;
    expect(verifyHandoff(deployment, unsigned, keys.verifyKey)).toEqual({
      ok: false,
      reason: 'the handoff is not signed',
    });
    expect(verifyHandoff(deployment, payload, undefined)).toMatchObject({ ok: false });
  });

  it('refuses a signature made with another key', () => {
    const other = generatePromoteKeys();
    const forged = signHandoff(claims, other.signingKey);
    expect(verifyHandoff(deployment, forged, keys.verifyKey)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not verify'),
    });
  });

  it('refuses a valid signature over another commit or environment', () => {
    expect(verifyHandoff({ ...deployment, sha: 'b2'.repeat(20) }, payload, keys.verifyKey)).toMatchObject({
      ok: false,
    });
    expect(verifyHandoff({ ...deployment, environment: 'staging' }, payload, keys.verifyKey)).toMatchObject({
      ok: false,
    });
  });

  it('refuses any signed field changed: promotion, approvers, chat, time', () => {
    const changes: Record<string, unknown>[] = [
      { promotionId: 43 },
      { approvers: [1001] },
      { approvers: [1001, 1002, 2002] },
      { chatId: 2002 },
      { approvedAt: '2025-03-04T05:06:08.089Z' },
    ];
    for (const change of changes)
      expect(
        verifyHandoff(deployment, { ...payload, ...change }, keys.verifyKey).ok,
        JSON.stringify(change),
      ).toBe(false);
  });

  it('refuses garbage without throwing', () => {
    for (const junk of [null, 'x', 1, [], { signature: 'x' }, { ...payload, signature: 'A'.repeat(88) }])
      expect(verifyHandoff(deployment, junk, keys.verifyKey).ok).toBe(false);
  });
});
