import { describe, expect, it } from 'vitest';
import { healthProbeOf } from '../../../src/deployer/runtime/docker-containers.js';
import { ROLLBACK_VERIFY_MS, verifyWindowMs } from '../../../src/deployer/steps/verify.js';

const check = { Test: ['CMD', 'node', 'dist/cli.js', 'healthcheck'] };

describe('healthProbeOf: where the deployer asks a new version for its health', () => {
  it('GET /healthz on the PORT the container runs with', () => {
    expect(
      healthProbeOf({
        Env: ['NODE_ENV=production', 'PORT=3001'],
        ExposedPorts: { '3000/tcp': {} },
        Healthcheck: check,
      }),
    ).toEqual({ port: 3001, path: '/healthz' });
  });

  it('without PORT, its one exposed TCP port', () => {
    expect(healthProbeOf({ Env: [], ExposedPorts: { '8080/tcp': {} }, Healthcheck: check })).toEqual({
      port: 8080,
      path: '/healthz',
    });
    expect(
      healthProbeOf({ ExposedPorts: { '8080/tcp': {}, '9090/tcp': {} }, Healthcheck: check }),
    ).toBeUndefined();
  });

  it('none for a container that declares no health check (Docker would gate on nothing either)', () => {
    expect(healthProbeOf({ Env: ['PORT=3000'] })).toBeUndefined();
    expect(healthProbeOf({ Env: ['PORT=3000'], Healthcheck: { Test: ['NONE'] } })).toBeUndefined();
  });
});

describe('verifyWindowMs: how long the new version must stay healthy after the switch', () => {
  it('DEPLOY_VERIFY_SECONDS for a deploy; at most ROLLBACK_VERIFY_MS for a rollback to a release that ran', () => {
    expect(verifyWindowMs('manual', 30_000)).toBe(30_000);
    expect(verifyWindowMs('promotion', 30_000)).toBe(30_000);
    expect(verifyWindowMs('rollback', 30_000)).toBe(ROLLBACK_VERIFY_MS);
    expect(verifyWindowMs('rollback', 500)).toBe(500);
  });
});
