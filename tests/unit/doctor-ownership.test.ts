// The doctor's re-checks of what `lugh config` refuses, on the settings the host's
// containers (or env files) carry.
import { homedir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseRoleCheck } from '../../src/doctor/checks/database.js';
import { deployContainerCheck, homeCheck } from '../../src/doctor/checks/settings.js';
import type { EnvironmentFacts } from '../../src/doctor/facts.js';

const facts = (env: 'staging' | 'production', settings: Record<string, string>): EnvironmentFacts => ({
  env,
  containerName: env === 'staging' ? 'lugh-staging-app' : 'lugh-prod-app',
  missing: 'no container (test)',
  engineDown: false,
  settings,
  settingsFrom: 'test',
});
const s = (extra: Record<string, string> = {}) =>
  facts('staging', { DATABASE_URL: 'postgres://lugh_staging:pw@db:5432/staging_lugh', ...extra });
const p = (extra: Record<string, string> = {}) =>
  facts('production', { DATABASE_URL: 'postgres://lugh_prod:pw@db:5432/prod_lugh', ...extra });

describe('the doctor on crossed settings', () => {
  it('home: nesting is seen with ~ expanded and as real paths', async () => {
    expect((await homeCheck.run(s({ LUGH_HOME: '~/.lugh-prod/staging' }), p())).ok).toBe(false);
    expect((await homeCheck.run(s({ LUGH_HOME: '~' }), p())).ok).toBe(false);
    expect(
      (
        await homeCheck.run(
          s({ LUGH_HOME: path.join(homedir(), '.lugh-staging') }),
          p({ LUGH_HOME: '~/.lugh-prod' }),
        )
      ).ok,
    ).toBe(true);
  });

  it('deploy-container: each environment names its own container', async () => {
    expect((await deployContainerCheck.run(s(), p())).ok).toBe(true);
    const crossed = await deployContainerCheck.run(s({ DEPLOY_CONTAINER: 'lugh-prod-app' }), p());
    expect(crossed.ok).toBe(false);
    expect(crossed.evidence).toMatch(/staging's DEPLOY_CONTAINER is "lugh-prod-app"/);
  });

  it("db-role: the other environment's role in ?user= or PGUSER fails before any login", async () => {
    const byQuery = await databaseRoleCheck.run(
      s({ DATABASE_URL: 'postgres://db:5432/staging_lugh?user=lugh_prod' }),
      p(),
    );
    expect(byQuery).toMatchObject({ ok: false, evidence: expect.stringMatching(/\?user= parameter/) });
    const byEnv = await databaseRoleCheck.run(
      s({ DATABASE_URL: 'postgres://db:5432/staging_lugh', PGUSER: 'lugh_prod' }),
      p(),
    );
    expect(byEnv).toMatchObject({
      ok: false,
      evidence: expect.stringMatching(/PGUSER names role "lugh_prod"/),
    });
  });
});
