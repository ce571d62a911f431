// The doctor's refresh-setup check on real Postgres: production's role must have CREATEDB,
// both sides opted in with their own settings, the keys a pair; off in production: passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import { refreshSetupCheck } from '../../../src/doctor/checks/refresh-setup.js';
import type { EnvironmentFacts } from '../../../src/doctor/facts.js';
import {
  createTestDatabase,
  createTestRole,
  type TestDatabase,
  type TestRole,
  withAdmin,
} from '../../helpers/services.js';

let role: TestRole;
let db: TestDatabase;
const keys = generatePromoteKeys();
const facts = (env: 'staging' | 'production', settings: Record<string, string>): EnvironmentFacts => ({
  env,
  containerName: `lugh-${env}-app`,
  settings: { APP_ENV: env, ...settings },
  settingsFrom: `lugh-${env}-app`,
});

beforeAll(async () => {
  role = await createTestRole('prod');
  db = await createTestDatabase('prod_lugh', { owner: role });
});
afterAll(async () => {
  await db?.drop();
  await role?.drop();
});

describe('doctor: refresh-setup', () => {
  const prodOn = () => ({
    DATABASE_URL: db.url,
    FEATURE_STAGING_REFRESH: 'on',
    REFRESH_SIGNING_KEY: keys.signingKey,
    REFRESH_HASH_KEY: 'refresh-hash-key-0123456789',
    REFRESH_DIR: '/home/lugh/lugh-refresh',
  });
  const stagingOn = {
    FEATURE_STAGING_REFRESH: 'on',
    REFRESH_VERIFY_KEY: keys.verifyKey,
    REFRESH_DIR: '/home/lugh/lugh-refresh',
  };

  it('passes with the flag off in production', async () => {
    expect(
      await refreshSetupCheck.run(facts('staging', {}), facts('production', { DATABASE_URL: db.url })),
    ).toMatchObject({
      ok: true,
    });
  });

  it('fails without CREATEDB, naming the role; passes once the role has it', async () => {
    const without = await refreshSetupCheck.run(facts('staging', stagingOn), facts('production', prodOn()));
    expect(without).toMatchObject({
      ok: false,
      evidence: expect.stringContaining(`role ${role.name} may not create databases`),
    });
    await withAdmin((c) => c.query(`ALTER ROLE "${role.name}" CREATEDB`));
    expect(
      await refreshSetupCheck.run(facts('staging', stagingOn), facts('production', prodOn())),
    ).toMatchObject({ ok: true });
  });

  it('fails on staging opted out, a missing setting, a secret in staging, keys of two pairs', async () => {
    const verdict = await refreshSetupCheck.run(
      facts('staging', {
        REFRESH_VERIFY_KEY: generatePromoteKeys().verifyKey,
        REFRESH_HASH_KEY: 'refresh-hash-key-0123456789',
      }),
      facts('production', { ...prodOn(), REFRESH_HASH_KEY: '' }),
    );
    expect(verdict.ok).toBe(false);
    for (const part of [
      'staging_refresh is off in staging',
      'production has no REFRESH_HASH_KEY',
      'staging has no REFRESH_DIR',
      'staging holds REFRESH_HASH_KEY',
      'is not the public half',
    ])
      expect(verdict.evidence).toContain(part);
  });

  describe('REFRESH_DIR, the only channel: one host directory both mount', () => {
    const DIR = '/home/lugh/lugh-refresh';
    const inContainer = (
      env: 'staging' | 'production',
      settings: Record<string, string>,
      mounts: { Source: string; Destination: string }[],
    ): EnvironmentFacts => ({
      ...facts(env, { LUGH_HOME: `/home/lugh/.lugh-${env}`, ...settings }),
      container: { Mounts: mounts } as unknown as EnvironmentFacts['container'],
    });
    const home = (env: string) => ({
      Source: `/home/lugh/.lugh-${env}`,
      Destination: `/home/lugh/.lugh-${env}`,
    });

    it('passes when both containers mount the same host directory at REFRESH_DIR', async () => {
      const verdict = await refreshSetupCheck.run(
        inContainer('staging', stagingOn, [
          home('staging'),
          { Source: '/srv/shared/refresh', Destination: DIR },
        ]),
        inContainer('production', prodOn(), [
          home('production'),
          { Source: '/srv/shared/refresh', Destination: DIR },
        ]),
      );
      expect(verdict).toMatchObject({
        ok: true,
        evidence: expect.stringContaining('both mount /srv/shared/refresh from the host'),
      });
    });

    it('fails on a container-private directory, two host directories, or one inside a LUGH_HOME', async () => {
      const privateDir = await refreshSetupCheck.run(
        inContainer('staging', stagingOn, [home('staging')]),
        inContainer('production', prodOn(), [home('production'), { Source: DIR, Destination: DIR }]),
      );
      expect(privateDir.ok).toBe(false);
      expect(privateDir.evidence).toContain(`staging does not mount ${DIR} from the host`);

      const two = await refreshSetupCheck.run(
        inContainer('staging', stagingOn, [{ Source: '/srv/a', Destination: DIR }]),
        inContainer('production', prodOn(), [{ Source: '/srv/b', Destination: DIR }]),
      );
      expect(two.evidence).toContain(
        'staging’s REFRESH_DIR is /srv/a on the host, production’s /srv/b: not the same directory',
      );

      const inHome = await refreshSetupCheck.run(
        inContainer('staging', { ...stagingOn, REFRESH_DIR: '/home/lugh/.lugh-staging/refresh' }, [
          home('staging'),
        ]),
        inContainer('production', { ...prodOn(), REFRESH_DIR: '/home/lugh/.lugh-staging/refresh' }, [
          home('production'),
          { Source: '/home/lugh/.lugh-staging', Destination: '/home/lugh/.lugh-staging' },
        ]),
      );
      expect(inHome.ok).toBe(false);
      expect(inHome.evidence).toContain(
        'staging’s REFRESH_DIR (/home/lugh/.lugh-staging/refresh on the host) overlaps its LUGH_HOME',
      );

      const paths = await refreshSetupCheck.run(
        inContainer('staging', { ...stagingOn, REFRESH_DIR: '/srv/r' }, [
          { Source: '/srv/r', Destination: '/srv/r' },
        ]),
        inContainer('production', prodOn(), [{ Source: '/srv/r', Destination: DIR }]),
      );
      expect(paths.evidence).toContain(`REFRESH_DIR is /srv/r in staging and ${DIR} in production`);
    });

    it('on Swarm: reads the services’ mounts, and counts a key held in a Docker secret as set', async () => {
      const service = (unread: Record<string, string>) =>
        ({
          mounts: [{ source: '/srv/shared/refresh', target: DIR }],
          unread,
          env: {},
        }) as unknown as EnvironmentFacts['service'];
      const verdict = await refreshSetupCheck.run(
        {
          ...facts('staging', { ...stagingOn, LUGH_HOME: '/home/lugh/.lugh-staging' }),
          runtime: 'swarm',
          service: service({}),
        },
        {
          ...facts('production', {
            ...prodOn(),
            LUGH_HOME: '/home/lugh/.lugh-prod',
            REFRESH_SIGNING_KEY: '__IN_REFRESH_SIGNING_KEY_FILE__',
          }),
          runtime: 'swarm',
          service: service({ REFRESH_SIGNING_KEY: 'the secret lugh-prod-refresh-signing-key' }),
        },
      );
      expect(verdict).toMatchObject({
        ok: true,
        evidence: expect.stringContaining('both mount /srv/shared/refresh'),
      });
    });
  });
});
