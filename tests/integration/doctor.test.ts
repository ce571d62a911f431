// The isolation audit against a real Docker setup built to pass (two app containers on
// their own networks, a database container on both data networks in front of the test
// Postgres, two roles that cannot open each other's database), then broken one property
// at a time: each break must be caught by exactly its own check.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_IDS, renderAuditText, runAudit } from '../../src/doctor/audit.js';
import {
  ensureBaseImage,
  REPO_ROOT,
  removeTestResources,
  testDocker,
  uniqueName,
} from '../helpers/docker.js';
import { type Relay, startRelay } from '../helpers/relay.js';
import {
  adminDatabaseUrl,
  createTestDatabase,
  createTestRole,
  type TestDatabase,
  type TestRole,
  withAdmin,
} from '../helpers/services.js';

const execFileAsync = promisify(execFile);

const answers = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
const { docker, engine: hasDocker } = await testDocker();

const STAGING_TOKEN = '7101001:AAStagingDoctorToken_abcdefghijklmnop';
const PROD_TOKEN = '7101002:AAProdDoctorToken_abcdefghijklmnopqrs';
const SERVE = "require('http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT))";

interface AppSpec {
  env: Record<string, string>;
  ports?: Record<string, Array<{ HostIp: string; HostPort: string }>>;
}

describe.skipIf(!hasDocker)('lugh doctor: the isolation audit on a real Docker host', () => {
  const run = uniqueName('lugh-test-doctor');
  const names = {
    staging: `${run}-staging-app`,
    production: `${run}-prod-app`,
    db: `${run}-postgres`,
    stagingNet: `${run}-staging-data`,
    prodNet: `${run}-prod-data`,
  };
  let baseImage: string;
  let relay: Relay;
  let roles: { staging: TestRole; production: TestRole };
  let dbs: { staging: TestDatabase; production: TestDatabase };
  let specs: { staging: AppSpec; production: AppSpec };
  const networks: Docker.Network[] = [];

  const limits = {
    staging: { NanoCpus: 0.5e9, Memory: 384 * 2 ** 20, CpuShares: 256, OomScoreAdj: 500 },
    production: { NanoCpus: 1.5e9, Memory: 768 * 2 ** 20, CpuShares: 1024, OomScoreAdj: 0 },
  };

  const remove = (name: string) =>
    docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => {});

  async function startApp(env: 'staging' | 'production', spec: AppSpec) {
    await remove(names[env]);
    const port = spec.env.PORT!;
    const container = await docker.createContainer({
      name: names[env],
      Image: baseImage,
      Cmd: ['node', '-e', SERVE],
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      ExposedPorts: { [`${port}/tcp`]: {} },
      Labels: {
        'lugh.test': run,
        'com.docker.compose.project': env === 'staging' ? `${run}-staging` : `${run}-prod`,
        'com.docker.compose.service': env === 'staging' ? 'staging-app' : 'prod-app',
      },
      HostConfig: {
        NetworkMode: env === 'staging' ? names.stagingNet : names.prodNet,
        PortBindings: spec.ports ?? { [`${port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
        Init: true,
        ...limits[env],
      },
    });
    await container.start();
  }

  /** A TCP forwarder named like the database host, on both data networks, to the test Postgres. */
  async function startDatabase(ports?: AppSpec['ports']) {
    await remove(names.db);
    const [host, port] = relay.address.split(':');
    const forward = `const net = require('net'); net.createServer((a) => { const b = net.connect(${port}, '${host}'); a.pipe(b).pipe(a); a.on('error', () => b.destroy()); b.on('error', () => a.destroy()); }).listen(5432)`;
    const container = await docker.createContainer({
      name: names.db,
      Image: baseImage,
      Cmd: ['node', '-e', forward],
      ExposedPorts: { '5432/tcp': {} },
      Labels: { 'lugh.test': run },
      HostConfig: { NetworkMode: names.stagingNet, PortBindings: ports ?? {}, Init: true },
    });
    await docker.getNetwork(names.prodNet).connect({ Container: names.db });
    await container.start();
    // Listening takes node a moment: the audit must find the forwarder answering.
    const ip = Object.values((await container.inspect()).NetworkSettings.Networks)[0]!.IPAddress;
    for (let i = 0; i < 100 && !(await answers(ip, 5432)); i++) await new Promise((r) => setTimeout(r, 100));
  }

  const failing = async () => {
    const report = await runAudit({
      docker,
      containers: { staging: names.staging, production: names.production },
    });
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.id);
    return { failed, report, text: renderAuditText(report) };
  };

  /** Breaks one property, audits, and puts it back. */
  async function broken(apply: () => Promise<void>, restore: () => Promise<void>) {
    await apply();
    try {
      return await failing();
    } finally {
      await restore();
    }
  }

  const withEnv = (env: 'staging' | 'production', changes: Record<string, string>) => ({
    ...specs[env],
    env: { ...specs[env].env, ...changes },
  });

  beforeAll(async () => {
    baseImage = await ensureBaseImage(docker);
    for (const name of [names.stagingNet, names.prodNet])
      networks.push(await docker.createNetwork({ Name: name, Labels: { 'lugh.test': run } }));
    const gateway = (await networks[0]!.inspect()).IPAM?.Config?.[0]?.Gateway as string;
    relay = await startRelay(gateway, Number(new URL(adminDatabaseUrl()).port));
    roles = { staging: await createTestRole('staging'), production: await createTestRole('prod') };
    dbs = {
      staging: await createTestDatabase('staging_lugh', { owner: roles.staging }),
      production: await createTestDatabase('prod_lugh', { owner: roles.production }),
    };
    await withAdmin(async (client) => {
      for (const db of [dbs.staging, dbs.production])
        await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE "${db.name}" FROM PUBLIC`);
    });
    const url = (role: TestRole, db: TestDatabase) =>
      `postgres://${role.name}:${role.password}@${names.db}:5432/${db.name}`;
    specs = {
      staging: {
        env: {
          APP_ENV: 'staging',
          PORT: '3001',
          DATABASE_URL: url(roles.staging, dbs.staging),
          REDIS_PREFIX: 'staging',
          LUGH_HOME: '/home/lugh/.lugh-staging',
          TELEGRAM_BOT_TOKEN: STAGING_TOKEN,
          FEATURE_RELEASE_TAGS: 'true',
          FEATURE_DEPLOY_ON_PUSH: 'true',
        },
      },
      production: {
        env: {
          APP_ENV: 'production',
          PORT: '3000',
          DATABASE_URL: url(roles.production, dbs.production),
          REDIS_PREFIX: 'prod',
          LUGH_HOME: '/home/lugh/.lugh-prod',
          TELEGRAM_BOT_TOKEN: PROD_TOKEN,
          FEATURE_RELEASE_TAGS: 'false',
          FEATURE_DEPLOY_ON_PUSH: 'false',
        },
      },
    };
    await startDatabase();
    await startApp('staging', specs.staging);
    await startApp('production', specs.production);
  }, 300_000);

  afterAll(async () => {
    await removeTestResources(docker, run);
    for (const n of networks) await n.remove().catch(() => {});
    await relay?.close();
    for (const db of Object.values(dbs ?? {})) await db.drop();
    for (const role of Object.values(roles ?? {})) await role.drop();
  }, 60_000);

  it('passes every check on a setup built to pass, with evidence and no secret in it', async () => {
    const { failed, report, text } = await failing();
    expect(failed, text).toEqual([]);
    expect(report.checks.map((c) => c.id)).toEqual(CHECK_IDS);
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c.evidence]));
    expect(byId.network).toContain(`staging on ${names.stagingNet}; production on ${names.prodNet}`);
    expect(byId.network).toMatch(/do not answer/);
    expect(byId['db-port']).toBe(`${names.db} publishes nothing for port 5432`);
    expect(byId['db-role']).toMatch(/refused, permission denied for database/);
    expect(byId['bot-token']).toBe('staging is bot 7101001; production bot 7101002');
    expect(byId.flags).toBe('on in staging, off in production: release_tags, deploy_on_push');
    for (const secret of [STAGING_TOKEN, PROD_TOKEN, roles.staging.password, roles.production.password])
      expect(text).not.toContain(secret);
  }, 60_000);

  it('catches each broken property with exactly its own check', async () => {
    const prodPort = (await docker.getContainer(names.production).inspect()).NetworkSettings.Ports[
      '3000/tcp'
    ]![0]!.HostPort;
    const restoreStaging = () => startApp('staging', specs.staging);
    const restoreProd = () => startApp('production', specs.production);
    const cases: Array<[string, () => Promise<void>, () => Promise<void>]> = [
      [
        'network',
        () => docker.getNetwork(names.stagingNet).connect({ Container: names.production }),
        () => docker.getNetwork(names.stagingNet).disconnect({ Container: names.production }),
      ],
      [
        'host-ports',
        // The same port number on another loopback address: no clash for the kernel, one for people.
        () =>
          startApp('staging', {
            ...specs.staging,
            ports: { '3001/tcp': [{ HostIp: '127.0.0.2', HostPort: prodPort }] },
          }),
        restoreStaging,
      ],
      [
        'db-port',
        () => startDatabase({ '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }),
        () => startDatabase(),
      ],
      [
        'db-name',
        () =>
          startApp(
            'staging',
            withEnv('staging', {
              DATABASE_URL: `postgres://${roles.staging.name}:${roles.staging.password}@${names.db}:5432/${dbs.production.name}`,
            }),
          ),
        restoreStaging,
      ],
      [
        'db-role',
        () =>
          withAdmin(async (c) => {
            await c.query(`GRANT CONNECT ON DATABASE "${dbs.production.name}" TO "${roles.staging.name}"`);
          }),
        () =>
          withAdmin(async (c) => {
            await c.query(`REVOKE CONNECT ON DATABASE "${dbs.production.name}" FROM "${roles.staging.name}"`);
          }),
      ],
      [
        // The same role for both: staging would log in as production.
        'db-role',
        () =>
          startApp(
            'staging',
            withEnv('staging', {
              DATABASE_URL: `postgres://${roles.production.name}:${roles.production.password}@${names.db}:5432/${dbs.staging.name}`,
            }),
          ),
        restoreStaging,
      ],
      [
        'redis-prefix',
        () => startApp('staging', withEnv('staging', { REDIS_PREFIX: 'prod' })),
        restoreStaging,
      ],
      [
        'home',
        () => startApp('staging', withEnv('staging', { LUGH_HOME: '/home/lugh/.lugh-prod' })),
        restoreStaging,
      ],
      [
        'bot-token',
        () => startApp('staging', withEnv('staging', { TELEGRAM_BOT_TOKEN: PROD_TOKEN })),
        restoreStaging,
      ],
      [
        'priority',
        async () => {
          await docker.getContainer(names.staging).update({ CpuShares: 2048 });
        },
        async () => {
          await docker.getContainer(names.staging).update({ CpuShares: 256 });
        },
      ],
      [
        'identity-production',
        () => startApp('production', withEnv('production', { APP_ENV: 'staging' })),
        restoreProd,
      ],
      [
        'flags',
        () => startApp('production', withEnv('production', { FEATURE_TWO_PERSON_RULE: 'true' })),
        restoreProd,
      ],
    ];
    for (const [check, apply, restore] of cases) {
      const { failed, text } = await broken(apply, restore);
      expect(failed, `breaking ${check}:\n${text}`).toEqual([check]);
      if (check === 'bot-token') expect(text).toContain('both use the token of bot 7101002');
      expect(text).not.toContain(PROD_TOKEN);
    }
    // Everything put back: the audit passes again.
    expect((await failing()).failed).toEqual([]);
  }, 300_000);

  it('`lugh doctor` prints the report and exits 1 when a check fails, 0 when none does', async () => {
    const cli = (production: string) =>
      execFileAsync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli.ts',
          'doctor',
          '--staging-container',
          names.staging,
          '--production-container',
          production,
        ],
        // A missing container's settings come from the committed .env.prod here.
        { cwd: REPO_ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 60_000 },
      ).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    const ok = await cli(names.production);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain(`${CHECK_IDS.length} passed, 0 failed`);
    expect(ok.stdout).not.toContain(STAGING_TOKEN);

    const missing = await cli(`${run}-no-such-app`);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(
      new RegExp(`FAIL  network .*\\n.*there is no container ${run}-no-such-app`),
    );
    expect(missing.stdout).toContain('fix: start production: docker-compose -p lugh-prod');
  }, 120_000);
});
