// The audit's words, on the real Docker engine: every line says what it means in full.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AuditOptions, renderAuditText, runAudit } from '../../src/doctor/audit.js';
import { settingsFromConfig } from '../../src/doctor/facts.js';
import { createDockerClient } from '../helpers/docker.js';
import { instanceConfig } from '../helpers/instance-env.js';

describe('the isolation audit’s texts', () => {
  it('ends no evidence or fix in dangling text, e.g. a database that is no container on the engine', async () => {
    const report = await runAudit(auditOptions());
    const dbPort = report.checks.find((c) => c.id === 'db-port');
    expect(dbPort?.evidence).toContain('is not a container on this Docker engine');
    const dangling = report.checks
      .flatMap((c) => [c.evidence, c.fix ?? ''])
      .filter((text) => /[:,(]\s*$/.test(text));
    expect(dangling).toEqual([]);
  });

  it('says why a failure is expected where the setting expects it, and only on a failure', async () => {
    const report = await runAudit(
      auditOptions({ expected: { 'db-port': 'the database is embedded', 'db-name': 'never shown' } }),
    );
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    expect(byId['db-port']).toMatchObject({ ok: false, expected: 'the database is embedded' });
    expect(byId['db-name']?.ok).toBe(true);
    expect(byId['db-name']?.expected).toBeUndefined();
    expect(renderAuditText(report)).toContain('      expected here: the database is embedded\n');
  });
});

/** The audit of two environments whose containers and database do not exist on the real engine. */
function auditOptions(extra: Partial<AuditOptions> = {}): AuditOptions {
  const id = randomUUID().slice(0, 8);
  const configs = {
    staging: instanceConfig({
      appEnv: 'staging',
      databaseUrl: `postgres://lugh_staging:s-${id}@lugh-no-such-db-${id}:5432/staging_lugh`,
      apiRoot: 'http://127.0.0.1:9',
    }),
    production: instanceConfig({
      appEnv: 'production',
      databaseUrl: `postgres://lugh_prod:p-${id}@lugh-no-such-db-${id}:5432/prod_lugh`,
      apiRoot: 'http://127.0.0.1:9',
      token: '7300002:AAProdTokenForDoctorTexts_abcdefghijk',
    }),
  };
  return {
    docker: createDockerClient(),
    containers: { staging: `lugh-none-${id}-staging`, production: `lugh-none-${id}-prod` },
    settings: (env) => ({ settings: settingsFromConfig(configs[env]), from: `this test's ${env}` }),
    timeoutMs: 5_000,
    ...extra,
  };
}
