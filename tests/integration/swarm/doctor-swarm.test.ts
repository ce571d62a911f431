// The isolation audit on Swarm (DEPLOY_RUNTIME=swarm) against real services on the
// single-node swarm: two app services built to pass (their own overlay networks, production's
// data network internal, their own secrets read through *_FILE, their own published ports,
// limits and reservations, a database container that publishes nothing in front of the test
// Postgres), then broken one property at a time: each break is caught by exactly its own
// check. The audit reads the services' specs, so no test waits for a task.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SWARM_CHECK_IDS } from '../../../src/doctor/audit.js';
import { REPO_ROOT, testDocker } from '../../helpers/docker.js';
import { ensureSwarm } from '../../helpers/swarm.js';
import {
  PROD_TOKEN,
  STAGING_TOKEN,
  type SwarmAuditWorld,
  startSwarmAuditWorld,
} from '../../helpers/swarm-audit-world.js';

const execFileAsync = promisify(execFile);
const { docker, engine } = await testDocker();
const swarm = engine && (await ensureSwarm(docker).catch(() => false));

describe.skipIf(!swarm)('lugh doctor on Swarm: the isolation audit of two app services', () => {
  let w: SwarmAuditWorld;
  let run: string;
  let stack: SwarmAuditWorld['stack'];
  let service: SwarmAuditWorld['service'];
  let db: string;
  let published: SwarmAuditWorld['published'];
  let roles: SwarmAuditWorld['roles'];
  let dbs: SwarmAuditWorld['dbs'];
  let envFiles: SwarmAuditWorld['envFiles'];
  let url: SwarmAuditWorld['url'];
  let update: SwarmAuditWorld['update'];
  let audit: SwarmAuditWorld['audit'];

  beforeAll(async () => {
    w = await startSwarmAuditWorld(docker);
    ({ run, stack, service, db, published, roles, dbs, envFiles, url, update, audit } = w);
  }, 180_000);

  afterAll(async () => {
    await w?.close();
  }, 90_000);

  it('passes on a correct setup, skips only what has no meaning on Swarm, and prints no secret', async () => {
    const { failed, skipped, report, text } = await audit();
    if (process.env.SHOW_AUDIT) console.log(text);
    expect(failed, text).toEqual([]);
    expect(skipped, text).toEqual(['services']);
    expect(report.checks.map((c) => c.id)).toEqual(SWARM_CHECK_IDS);
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c.evidence]));
    expect(byId.network).toContain(`production's database network ${run}-p-data (shared with ${db}`);
    expect(byId.network).toContain('is internal');
    // Tried from inside a task of each: the other's service name, tasks.<name> and stack name.
    expect(byId.network).toContain(
      `from a task of ${service.staging}: 3 name(s) of ${service.production} do not resolve`,
    );
    expect(byId.network).toContain(
      `from a task of ${service.production}: 3 name(s) of ${service.staging} do not resolve`,
    );
    expect(byId['host-ports']).toContain(`${published.production}→3000/tcp (host)`);
    expect(byId['db-port']).toBe(`${db} publishes nothing for port 5432`);
    expect(byId['db-role']).toMatch(/refused, permission denied for database/);
    expect(byId.secrets).toContain(`staging reads the secrets ${run}-s-db-url, ${run}-s-token`);
    expect(byId.secrets).toContain('none shared by name or id');
    expect(byId.priority).toContain('no OOM score or CPU weight on Swarm services');
    expect(byId['identity-production']).toBe(
      `${service.production}: APP_ENV=production, stack ${stack.production}`,
    );
    expect(text).toContain('SKIP  services');
    expect(text).toMatch(/\d+ passed, 0 failed, 1 skipped/);
    for (const s of [STAGING_TOKEN, PROD_TOKEN, roles.staging.password, roles.production.password])
      expect(text).not.toContain(s);
  }, 60_000);

  it('without the env files, what lives only in secrets is skipped with why, never passed', async () => {
    const { failed, skipped, report } = await audit(false);
    expect(failed).toEqual([]);
    expect(skipped).toEqual(['db-port', 'db-name', 'db-role', 'bot-token', 'services']);
    const name = report.checks.find((c) => c.id === 'db-name')!;
    expect(name.evidence).toContain(`staging's DATABASE_URL comes from the Docker secret ${run}-s-db-url`);
    expect(name.evidence).toContain('Swarm does not give secret values out');
  }, 60_000);

  it('catches each broken property with exactly its own check', async () => {
    const cases: Array<[string, () => Promise<void>, () => Promise<void>]> = [
      [
        // Staging joins production's edge network.
        'network',
        () => update('staging', { networks: ['s-edge', 's-data', 'p-edge'] }),
        () => update('staging'),
      ],
      [
        // Production's data network routes out.
        'network',
        () => update('production', { networks: ['p-edge', 'p-data-open'] }),
        () => update('production'),
      ],
      ['host-ports', () => update('staging', { ports: published.production }), () => update('staging')],
      [
        // Production's database behind a container that publishes its port.
        'db-port',
        async () => {
          envFiles.production = {
            ...envFiles.production,
            DATABASE_URL: url(roles.production, dbs.production, `${db}-published`),
          };
        },
        async () => {
          envFiles.production = {
            ...envFiles.production,
            DATABASE_URL: url(roles.production, dbs.production),
          };
        },
      ],
      [
        'db-name',
        async () => {
          envFiles.staging = {
            ...envFiles.staging,
            DATABASE_URL: `postgres://${roles.staging.name}:${roles.staging.password}@${db}:5432/${dbs.production.name}`,
          };
        },
        async () => {
          envFiles.staging = {
            ...envFiles.staging,
            DATABASE_URL: `postgres://${roles.staging.name}:${roles.staging.password}@${db}:5432/${dbs.staging.name}`,
          };
        },
      ],
      ['redis-prefix', () => update('staging', { env: { REDIS_PREFIX: 'prod' } }), () => update('staging')],
      [
        // Staging reads production's bot token secret.
        'secrets',
        () => update('staging', { secrets: { 'telegram-bot-token': 'p-token' } }),
        () => update('staging'),
      ],
      [
        // A token in production's plain env, in place of the placeholder beside the secret.
        'secrets',
        () => update('production', { env: { TELEGRAM_BOT_TOKEN: PROD_TOKEN } }),
        () => update('production'),
      ],
      ['resources', () => update('staging', { limits: null }), () => update('staging')],
      ['priority', () => update('production', { reservations: null }), () => update('production')],
      [
        'identity-production',
        () => update('production', { env: { APP_ENV: 'staging' } }),
        () => update('production'),
      ],
    ];
    for (const [check, apply, restore] of cases) {
      await apply();
      try {
        const { failed, text } = await audit();
        expect(failed, `breaking ${check}:\n${text}`).toEqual([check]);
        expect(text).not.toContain(PROD_TOKEN);
        expect(text).not.toContain(roles.staging.password);
      } finally {
        await restore();
      }
    }
    expect((await audit()).failed).toEqual([]);
  }, 300_000);

  it('`lugh doctor` audits the services when the env files say DEPLOY_RUNTIME=swarm, with their settings for the secrets', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lugh-doctor-swarm-'));
    try {
      for (const [env, file] of [
        ['staging', '.env.staging'],
        ['production', '.env.prod'],
      ] as const)
        await writeFile(
          path.join(dir, file),
          Object.entries(envFiles[env])
            .map(([k, v]) => `${k}=${v}`)
            .join('\n'),
        );
      const cli = await execFileAsync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli.ts',
          'doctor',
          '--dir',
          dir,
          '--staging-container',
          service.staging,
          '--production-container',
          service.production,
        ],
        { cwd: REPO_ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 60_000 },
      ).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
      expect(cli.code, cli.stdout).toBe(0);
      expect(cli.stdout).toContain(`isolation of staging (Swarm services ${service.staging})`);
      expect(cli.stdout).toContain(`${SWARM_CHECK_IDS.length - 1} passed, 0 failed, 1 skipped`);
      expect(cli.stdout).not.toContain(STAGING_TOKEN);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
