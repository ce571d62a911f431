// db-role when the database cannot be reached from where the audit runs: on Docker a failure
// to check (the host routes to the containers), on Swarm a skip saying why (the data network
// is an internal overlay); the role names are judged first either way.
import { describe, expect, it } from 'vitest';
import { roleCheck } from '../../../src/doctor/checks/database.js';
import type { EnvironmentFacts } from '../../../src/doctor/facts.js';
import { Unchecked } from '../../../src/doctor/unchecked.js';

const facts = (env: 'staging' | 'production', user: string, db: string): EnvironmentFacts => ({
  env,
  containerName: `lugh-${env}`,
  settings: { DATABASE_URL: `postgres://${user}:pw-${user}@lugh-postgres.invalid:5432/${db}` },
  settingsFrom: `lugh-${env}`,
});

describe('db-role with a database out of reach', () => {
  const s = facts('staging', 'lugh_staging', 'staging_lugh');
  const p = facts('production', 'lugh_prod', 'prod_lugh');

  it('on Swarm: skipped, naming both roles and why it could not be tried', async () => {
    const verdict = await roleCheck('skipped').run(s, p);
    expect(verdict.skipped).toBe(true);
    expect(verdict.evidence).toContain('each environment logs in as its own role (lugh_staging, lugh_prod)');
    expect(verdict.evidence).toContain('does not resolve here');
  });

  it('on Docker: could not check (a failure)', async () => {
    await expect(roleCheck('unchecked').run(s, p)).rejects.toBeInstanceOf(Unchecked);
  });

  it('on Swarm too, one role for both fails before anything is tried', async () => {
    const verdict = await roleCheck('skipped').run(facts('staging', 'lugh_prod', 'staging_lugh'), p);
    expect(verdict).toMatchObject({ ok: false });
    expect(verdict.skipped).toBeUndefined();
  });
});
