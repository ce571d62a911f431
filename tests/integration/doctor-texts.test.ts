// The audit's words, on the real Docker engine: every line says what it means in full.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runAudit } from '../../src/doctor/audit.js';
import { settingsFromConfig } from '../../src/doctor/facts.js';
import { createDockerClient } from '../helpers/docker.js';
import { instanceConfig } from '../helpers/instance-env.js';

describe('the isolation audit’s texts', () => {
  it('ends no evidence or fix in dangling text, e.g. a database that is no container on the engine', async () => {
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
    const report = await runAudit({
      docker: createDockerClient(),
      containers: { staging: `lugh-none-${id}-staging`, production: `lugh-none-${id}-prod` },
      settings: (env) => ({ settings: settingsFromConfig(configs[env]), from: `this test's ${env}` }),
      timeoutMs: 5_000,
    });
    const dbPort = report.checks.find((c) => c.id === 'db-port');
    expect(dbPort?.evidence).toContain('is not a container on this Docker engine');
    const dangling = report.checks
      .flatMap((c) => [c.evidence, c.fix ?? ''])
      .filter((text) => /[:,(]\s*$/.test(text));
    expect(dangling).toEqual([]);
  });
});
