// The refresh key pair runs the other way from the promotion pair: production signs,
// staging verifies; production's secrets are refused in staging and never printed.
import { describe, expect, it } from 'vitest';
import { keysText } from '../../../src/commands/keys.js';
import { createConfig, describeConfig, secretsOf } from '../../../src/config/index.js';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import { type RefreshClaims, signRefresh, verifyRefresh } from '../../../src/refresh/refresh-handoff.js';
import { problemsOf } from '../../helpers/config-problems.js';

const base = {
  TELEGRAM_BOT_TOKEN: '1234567:AAH-fake_token_for_tests_only_0123456789',
  REDIS_URL: 'redis://localhost:6379',
  ADMIN_IDS: '111',
};
const staging = {
  ...base,
  APP_ENV: 'staging',
  DATABASE_URL: 'postgres://lugh_staging:pw@db:5432/staging_lugh',
};
const production = {
  ...base,
  APP_ENV: 'production',
  DATABASE_URL: 'postgres://lugh_prod:pw@db:5432/prod_lugh',
  REDIS_PREFIX: 'prod',
};
const pair = generatePromoteKeys();
const claims: RefreshClaims = {
  sha256: 'c'.repeat(64),
  bytes: 1234,
  sourceCommit: 'a'.repeat(40),
  rulesHash: 'd'.repeat(64),
  issuedAt: '2026-12-01T06:00:00.000Z',
  nonce: 'e'.repeat(32),
};

describe('the refresh key pair and handoff', () => {
  it('`lugh keys` prints a refresh pair after the promotion pair, production’s line first', () => {
    const refresh = generatePromoteKeys();
    const text = keysText(generatePromoteKeys(), refresh);
    expect(text).toContain(`REFRESH_SIGNING_KEY=${refresh.signingKey}`);
    expect(text).toContain(`REFRESH_VERIFY_KEY=${refresh.verifyKey}`);
    const signing = text.indexOf('REFRESH_SIGNING_KEY=');
    expect(text.lastIndexOf('.env.prod.local', signing)).toBeGreaterThan(text.indexOf('PROMOTE_VERIFY_KEY='));
    expect(text.indexOf('.env.staging.local', signing)).toBeLessThan(text.indexOf('REFRESH_VERIFY_KEY='));
  });

  it('production holds the signing and hash keys as secrets; staging the verify key', () => {
    const p = createConfig({
      ...production,
      REFRESH_SIGNING_KEY: pair.signingKey,
      REFRESH_HASH_KEY: 'h'.repeat(32),
    });
    expect(secretsOf(p)).toEqual(expect.arrayContaining([pair.signingKey, 'h'.repeat(32)]));
    expect(JSON.stringify(describeConfig(p))).not.toContain(pair.signingKey);
    expect(JSON.stringify(describeConfig(p))).not.toContain('h'.repeat(32));
    expect(createConfig({ ...staging, REFRESH_VERIFY_KEY: pair.verifyKey }).refresh.verifyKey).toBe(
      pair.verifyKey,
    );
  });

  it('refuses a private key as the verify key, naming the variable', () => {
    expect(problemsOf({ ...staging, REFRESH_VERIFY_KEY: pair.signingKey })).toEqual(
      expect.arrayContaining([
        { variable: 'REFRESH_VERIFY_KEY', message: expect.stringMatching(/^is a private key/) },
      ]),
    );
  });

  it('a signed handoff verifies; each changed claim, another key or no signature is refused', () => {
    const handoff = signRefresh(claims, pair.signingKey);
    expect(verifyRefresh(JSON.parse(JSON.stringify(handoff)), pair.verifyKey)).toEqual({ ok: true, claims });
    for (const change of [
      { sha256: 'f'.repeat(64) },
      { bytes: 1235 },
      { sourceCommit: 'b'.repeat(40) },
      { rulesHash: 'f'.repeat(64) },
      { issuedAt: '2026-12-01T06:00:00.001Z' },
      { nonce: 'f'.repeat(32) },
    ])
      expect(verifyRefresh({ ...handoff, ...change }, pair.verifyKey)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/does not verify/),
      });
    expect(verifyRefresh(handoff, generatePromoteKeys().verifyKey)).toMatchObject({ ok: false });
    expect(verifyRefresh({ ...handoff, signature: undefined }, pair.verifyKey)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not signed/),
    });
    expect(verifyRefresh({ ...handoff, nonce: 'x\nsha256=1' }, pair.verifyKey)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/malformed/),
    });
  });
});
