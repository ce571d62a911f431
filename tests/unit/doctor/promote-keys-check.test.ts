import { describe, expect, it } from 'vitest';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import { promoteKeysCheck } from '../../../src/doctor/checks/promote-keys.js';
import type { EnvironmentFacts, Settings } from '../../../src/doctor/facts.js';

const facts = (env: 'staging' | 'production', settings: Settings): EnvironmentFacts => ({
  env,
  containerName: `lugh-${env === 'staging' ? 'staging' : 'prod'}-app`,
  settings,
  settingsFrom: `.env.${env === 'staging' ? 'staging' : 'prod'}`,
});

describe('the promote-keys doctor check', () => {
  const pair = generatePromoteKeys();
  const other = generatePromoteKeys();
  const run = (s: Settings, p: Settings) => promoteKeysCheck.run(facts('staging', s), facts('production', p));

  it('passes when staging signs with the pair production verifies, showing only the public key’s end', async () => {
    const verdict = await run(
      { PROMOTE_SIGNING_KEY: pair.signingKey },
      { PROMOTE_VERIFY_KEY: pair.verifyKey, GITHUB_REPO: 'acme/app' },
    );
    expect(verdict.ok).toBe(true);
    expect(verdict.evidence).toContain(pair.verifyKey.replace(/=+$/, '').slice(-8));
    expect(verdict.evidence).not.toContain(pair.signingKey);
  });

  it('fails, with the fix, when the halves belong to different pairs', async () => {
    const verdict = await run(
      { PROMOTE_SIGNING_KEY: pair.signingKey },
      { PROMOTE_VERIFY_KEY: other.verifyKey, GITHUB_REPO: 'acme/app' },
    );
    expect(verdict.ok).toBe(false);
    expect(verdict.evidence).toContain('every promotion would be refused');
    expect(verdict.fix).toContain('lugh keys');
    expect(JSON.stringify(verdict)).not.toContain(pair.signingKey);
  });

  it('fails when a half is missing while production takes handoffs, or production holds the private key', async () => {
    expect((await run({}, { PROMOTE_VERIFY_KEY: pair.verifyKey, GITHUB_REPO: 'acme/app' })).ok).toBe(false);
    expect((await run({ PROMOTE_SIGNING_KEY: pair.signingKey }, { GITHUB_REPO: 'acme/app' })).ok).toBe(false);
    const leaked = await run(
      { PROMOTE_SIGNING_KEY: pair.signingKey },
      { PROMOTE_VERIFY_KEY: pair.verifyKey, PROMOTE_SIGNING_KEY: pair.signingKey },
    );
    expect(leaked.ok).toBe(false);
    expect(JSON.stringify(leaked)).not.toContain(pair.signingKey);
  });

  it('passes without keys only while production takes no handoffs', async () => {
    expect((await run({}, {})).ok).toBe(true);
    expect((await run({}, { GITHUB_REPO: 'acme/app', FEATURE_PROMOTE: 'false' })).ok).toBe(true);
    expect((await run({}, { GITHUB_REPO: 'acme/app' })).ok).toBe(false);
  });
});
