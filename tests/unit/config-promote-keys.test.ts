import { describe, expect, it } from 'vitest';
import { keysText } from '../../src/commands/keys.js';
import { createConfig, describeConfig, secretsOf } from '../../src/config/index.js';
import {
  generatePromoteKeys,
  parseSigningKey,
  parseVerifyKey,
  verifyKeyOf,
} from '../../src/config/promote-keys.js';
import { problemsOf } from '../helpers/config-problems.js';

const base = {
  TELEGRAM_BOT_TOKEN: '1234567:AAH-fake_token_for_tests_only_0123456789',
  REDIS_URL: 'redis://localhost:6379',
  ADMIN_IDS: '111',
  GITHUB_TOKEN: 'ghs_fakeGithubTokenForTests',
  GITHUB_REPO: 'acme/app',
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
const other = generatePromoteKeys();

describe('the promotion key pair', () => {
  it('is base64 DER Ed25519: the private key parses as one, the public key as the other', () => {
    expect(pair.signingKey).toMatch(/^[A-Za-z0-9+/]{64}$/);
    expect(pair.verifyKey).toMatch(/^[A-Za-z0-9+/]{59}=$/);
    expect(parseSigningKey(pair.signingKey)?.asymmetricKeyType).toBe('ed25519');
    expect(parseVerifyKey(pair.verifyKey)?.asymmetricKeyType).toBe('ed25519');
    expect(parseVerifyKey(pair.signingKey)).toBeUndefined();
    expect(parseSigningKey(pair.verifyKey)).toBeUndefined();
    expect(verifyKeyOf(pair.signingKey)).toBe(pair.verifyKey);
  });

  it('`lugh keys` prints a fresh pair, each line saying which env file it goes in', () => {
    const text = keysText(pair);
    expect(text).toContain(`PROMOTE_SIGNING_KEY=${pair.signingKey}`);
    expect(text).toContain(`PROMOTE_VERIFY_KEY=${pair.verifyKey}`);
    expect(text.indexOf('.env.staging.local')).toBeLessThan(text.indexOf('PROMOTE_SIGNING_KEY='));
    expect(text.indexOf('.env.prod.local')).toBeLessThan(text.indexOf('PROMOTE_VERIFY_KEY='));
    expect(text.indexOf('PROMOTE_SIGNING_KEY=')).toBeLessThan(text.indexOf('.env.prod.local'));
  });

  it('production with its public key, staging with its private key: accepted; the private key is a secret', () => {
    expect(createConfig({ ...production, PROMOTE_VERIFY_KEY: pair.verifyKey }).promote.verifyKey).toBe(
      pair.verifyKey,
    );
    const s = createConfig({ ...staging, PROMOTE_SIGNING_KEY: pair.signingKey });
    expect(secretsOf(s)).toContain(pair.signingKey);
    expect(JSON.stringify(describeConfig(s))).not.toContain(pair.signingKey);
    // Staging may hold its own pair's public half, for checking.
    expect(() =>
      createConfig({ ...staging, PROMOTE_SIGNING_KEY: pair.signingKey, PROMOTE_VERIFY_KEY: pair.verifyKey }),
    ).not.toThrow();
  });

  it('refuses production without PROMOTE_VERIFY_KEY while promotions are on and it talks to GitHub', () => {
    expect(problemsOf(production).map((p) => p.variable)).toEqual(['PROMOTE_VERIFY_KEY']);
    expect(problemsOf({ ...production, FEATURE_PROMOTE: 'false' })).toEqual([]);
    const { GITHUB_REPO: _, ...noGitHub } = production;
    expect(problemsOf(noGitHub)).toEqual([]);
  });

  it('refuses the private key in production, even next to the public key', () => {
    const problems = problemsOf({
      ...production,
      PROMOTE_VERIFY_KEY: pair.verifyKey,
      PROMOTE_SIGNING_KEY: pair.signingKey,
    });
    expect(problems.map((p) => p.variable)).toEqual(['PROMOTE_SIGNING_KEY']);
    expect(problems[0]!.message).not.toContain(pair.signingKey);
  });

  it('refuses production’s key material in staging: a public key without its signing key, or another pair’s', () => {
    expect(problemsOf({ ...staging, PROMOTE_VERIFY_KEY: pair.verifyKey }).map((p) => p.variable)).toEqual([
      'PROMOTE_VERIFY_KEY',
    ]);
    const mismatched = problemsOf({
      ...staging,
      PROMOTE_SIGNING_KEY: pair.signingKey,
      PROMOTE_VERIFY_KEY: other.verifyKey,
    });
    expect(mismatched.map((p) => p.variable)).toEqual(['PROMOTE_VERIFY_KEY']);
    expect(mismatched[0]!.message).toContain('does not match');
  });

  it('refuses malformed keys, and a private key pasted as the public one, without printing them', () => {
    const cases: [Record<string, string>, string][] = [
      [{ ...production, PROMOTE_VERIFY_KEY: 'not-a-key' }, 'PROMOTE_VERIFY_KEY'],
      [{ ...production, PROMOTE_VERIFY_KEY: pair.signingKey }, 'PROMOTE_VERIFY_KEY'],
      [{ ...staging, PROMOTE_SIGNING_KEY: pair.verifyKey }, 'PROMOTE_SIGNING_KEY'],
      [{ ...staging, PROMOTE_SIGNING_KEY: pair.signingKey.slice(0, -8) }, 'PROMOTE_SIGNING_KEY'],
    ];
    for (const [env, variable] of cases) {
      const problems = problemsOf(env);
      expect(problems.map((p) => p.variable)).toContain(variable);
      expect(JSON.stringify(problems)).not.toContain(pair.signingKey);
    }
    expect(problemsOf({ ...production, PROMOTE_VERIFY_KEY: pair.signingKey })[0]!.message).toContain(
      'is a private key',
    );
  });
});
