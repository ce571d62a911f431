import type Docker from 'dockerode';
import { renderAuditText, runAudit } from '../../src/doctor/audit.js';
import type { Settings } from '../../src/doctor/facts.js';
import { ensureBaseImage, removeTestResources, uniqueName, waitFor } from './docker.js';
import { type Relay, startRelay } from './relay.js';
import {
  adminDatabaseUrl,
  createTestDatabase,
  createTestRole,
  type TestDatabase,
  type TestRole,
  withAdmin,
} from './services.js';
import { removeSwarmResources, TEST_LABEL } from './swarm.js';

const SECOND = 1e9;
const MIB = 2 ** 20;
export const STAGING_TOKEN = '7201001:AAStagingSwarmToken_abcdefghijklmno';
export const PROD_TOKEN = '7201002:AAProdSwarmToken_abcdefghijklmnopqr';
type Env = 'staging' | 'production';

/**
 * Two app services built to pass the isolation audit on Swarm (their own overlay networks,
 * production's data network internal, their own secrets read through *_FILE, their own
 * published ports, limits and reservations, a database container that publishes nothing in
 * front of the test Postgres); `update` breaks (or restores) one property of a service's
 * spec, `envFiles` is what `lugh doctor --dir` would read, and `audit` runs the audit.
 */
export async function startSwarmAuditWorld(docker: Docker) {
  const run = uniqueName('lugh-test-doctor-swarm');
  const stack = { staging: `${run}-staging`, production: `${run}-prod` };
  const service = { staging: `${stack.staging}_app`, production: `${stack.production}_app` };
  const db = `${run}-postgres`;
  const net: Record<string, string> = {};
  const secret: Record<string, { id: string; name: string }> = {};
  const published = { staging: 0, production: 0 };
  let image: string;
  let relay: Relay;
  let bridge: Docker.Network;
  let roles: Record<Env, TestRole>;
  let dbs: Record<Env, TestDatabase>;
  /** What `lugh doctor --dir` would read from the env files the secrets were made from. */
  let envFiles: Record<Env, Settings>;

  const label = { [TEST_LABEL]: run };
  const url = (role: TestRole, d: TestDatabase, host = db) =>
    `postgres://${role.name}:${role.password}@${host}:5432/${d.name}`;

  interface Changes {
    env?: Record<string, string>;
    networks?: string[];
    secrets?: Record<string, string>;
    ports?: number;
    limits?: object | null;
    reservations?: object | null;
  }

  /** An app service's spec: the correct one, with `changes` applied. */
  function spec(env: Env, changes: Changes = {}) {
    const short = env === 'staging' ? 's' : 'p';
    const port = env === 'staging' ? 3001 : 3000;
    const vars: Record<string, string> = {
      APP_ENV: env,
      PORT: String(port),
      REDIS_PREFIX: env === 'staging' ? 'staging' : 'prod',
      LUGH_HOME: env === 'staging' ? '/home/lugh/.lugh-staging' : '/home/lugh/.lugh-prod',
      DEPLOY_CONTAINER: service[env],
      // As deploy/swarm/*.yml set them: the variable a placeholder, its value in the file.
      DATABASE_URL: '__IN_DATABASE_URL_FILE__',
      DATABASE_URL_FILE: '/run/secrets/database-url',
      TELEGRAM_BOT_TOKEN: '__IN_TELEGRAM_BOT_TOKEN_FILE__',
      TELEGRAM_BOT_TOKEN_FILE: '/run/secrets/telegram-bot-token',
      FEATURE_RELEASE_TAGS: String(env === 'staging'),
      ...changes.env,
    };
    const secrets = {
      'database-url': `${short}-db-url`,
      'telegram-bot-token': `${short}-token`,
      ...changes.secrets,
    };
    const limits =
      env === 'staging'
        ? { NanoCPUs: 0.5e9, MemoryBytes: 384 * MIB }
        : { NanoCPUs: 1.5e9, MemoryBytes: 768 * MIB };
    const reservations = env === 'staging' ? {} : { MemoryBytes: 256 * MIB };
    return {
      Name: service[env],
      Labels: { ...label, 'com.docker.stack.namespace': stack[env] },
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          Command: ['sleep', 'infinity'],
          Env: Object.entries(vars).map(([k, v]) => `${k}=${v}`),
          Labels: label,
          Init: true,
          StopGracePeriod: SECOND,
          Secrets: Object.entries(secrets).map(([file, key]) => ({
            File: { Name: file, UID: '0', GID: '0', Mode: 0o400 },
            SecretID: secret[key]!.id,
            SecretName: secret[key]!.name,
          })),
        },
        Networks: (changes.networks ?? [`${short}-edge`, `${short}-data`]).map((n) => ({ Target: net[n] })),
        Resources: {
          ...(changes.limits === null ? {} : { Limits: changes.limits ?? limits }),
          ...(changes.reservations === null ? {} : { Reservations: changes.reservations ?? reservations }),
        },
        RestartPolicy: { Condition: 'on-failure', Delay: SECOND, MaxAttempts: 1 },
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: {
        Ports: [
          {
            Protocol: 'tcp' as const,
            TargetPort: port,
            PublishedPort: changes.ports ?? published[env],
            PublishMode: 'host' as const,
          },
        ],
      },
    };
  }

  async function update(env: Env, changes: Changes = {}) {
    const s = docker.getService(service[env]);
    // The manager bumps the version as it carries the last update out: read it again and retry.
    for (let attempt = 1; ; attempt++) {
      const { Version } = await s.inspect();
      try {
        await s.update({ version: Version.Index, ...spec(env, changes) });
        return;
      } catch (error) {
        if (attempt >= 10 || !/out of sequence/.test(String(error))) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /**
   * A TCP forwarder named `name`, to the test Postgres, on the bridge network `<run>-db`
   * (the host reaches it there), publishing `ports`, and on `overlays` beside the swarm, as
   * the infra containers run. Made once each: an attachable overlay is unreliable to re-join
   * right after a container left it.
   */
  async function startDatabase(
    name: string,
    ports: Record<string, Array<{ HostIp: string; HostPort: string }>>,
    overlays: readonly string[],
  ) {
    const [host, port] = relay.address.split(':');
    const forward = `require('net').createServer((a) => { const b = require('net').connect(${port}, '${host}'); a.pipe(b).pipe(a); a.on('error', () => b.destroy()); b.on('error', () => a.destroy()); }).listen(5432)`;
    const c = await docker.createContainer({
      name,
      Image: image,
      Cmd: ['node', '-e', forward],
      ExposedPorts: { '5432/tcp': {} },
      Labels: label,
      HostConfig: { NetworkMode: `${run}-db`, PortBindings: ports, Init: true },
    });
    for (const key of overlays) await docker.getNetwork(`${run}-${key}`).connect({ Container: name });
    await c.start();
    // Node takes a moment to listen; the role check logs in through it.
    await new Promise((r) => setTimeout(r, 1_500));
  }

  const audit = async (fallback = true) => {
    const report = await runAudit({
      docker,
      runtime: 'swarm',
      containers: service,
      ...(fallback
        ? { fallback: (env: Env) => ({ settings: envFiles[env], from: `the ${env} env file` }) }
        : {}),
    });
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.id);
    const skipped = report.checks.filter((c) => c.skipped).map((c) => c.id);
    return { report, failed, skipped, text: renderAuditText(report) };
  };

  /** Removes what the world made: the database containers first (an overlay network they are on cannot go before them). */
  const close = async () => {
    await removeTestResources(docker, run);
    await removeSwarmResources(docker, run);
    await bridge?.remove().catch(() => {});
    await relay?.close();
    for (const d of Object.values(dbs ?? {})) await d.drop();
    for (const role of Object.values(roles ?? {})) await role.drop();
  };

  try {
    image = await ensureBaseImage(docker);
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    published.production = base;
    published.staging = base + 1;
    for (const [key, internal] of [
      ['s-edge', false],
      ['s-data', true],
      ['p-edge', false],
      ['p-data', true],
      ['p-data-open', false],
    ] as const) {
      const n = await docker.createNetwork({
        Name: `${run}-${key}`,
        Driver: 'overlay',
        Attachable: true,
        Internal: internal,
        Labels: label,
      });
      net[key] = n.id;
    }
    bridge = await docker.createNetwork({ Name: `${run}-db`, Labels: label });
    const gateway = (await bridge.inspect()).IPAM?.Config?.[0]?.Gateway as string;
    relay = await startRelay(gateway, Number(new URL(adminDatabaseUrl()).port));
    roles = { staging: await createTestRole('staging'), production: await createTestRole('prod') };
    dbs = {
      staging: await createTestDatabase('staging_lugh', { owner: roles.staging }),
      production: await createTestDatabase('prod_lugh', { owner: roles.production }),
    };
    await withAdmin(async (client) => {
      for (const d of [dbs.staging, dbs.production])
        await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE "${d.name}" FROM PUBLIC`);
    });
    envFiles = {
      staging: {
        DATABASE_URL: url(roles.staging, dbs.staging),
        TELEGRAM_BOT_TOKEN: STAGING_TOKEN,
        DEPLOY_RUNTIME: 'swarm',
      },
      production: {
        DATABASE_URL: url(roles.production, dbs.production),
        TELEGRAM_BOT_TOKEN: PROD_TOKEN,
        DEPLOY_RUNTIME: 'swarm',
      },
    };
    const values: Record<string, string> = {
      's-db-url': envFiles.staging.DATABASE_URL!,
      's-token': STAGING_TOKEN,
      'p-db-url': envFiles.production.DATABASE_URL!,
      'p-token': PROD_TOKEN,
    };
    for (const [key, value] of Object.entries(values)) {
      const name = `${run}-${key}`;
      const created = (await docker.createSecret({
        Name: name,
        Labels: label,
        Data: Buffer.from(value).toString('base64'),
      })) as { id?: string; ID?: string };
      secret[key] = { id: created.id ?? created.ID!, name };
    }
    await startDatabase(db, {}, ['s-data', 'p-data']);
    // The same, publishing its port: production's DATABASE_URL points at it to break db-port.
    await startDatabase(`${db}-published`, { '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, []);
    for (const env of ['staging', 'production'] as const) await docker.createService(spec(env));
    // The network check tries reaching across from inside a running task of each.
    for (const env of ['staging', 'production'] as const)
      await waitFor(
        `a running task of ${service[env]}`,
        async () =>
          (await docker.listTasks({ filters: JSON.stringify({ service: [service[env]] }) })).some(
            (t: { Status?: { State?: string } }) => t.Status?.State === 'running',
          ),
        60_000,
      );
  } catch (error) {
    // A world half made is removed all the same: the suite's afterAll has nothing to close.
    await close().catch(() => {});
    throw error;
  }

  return {
    run,
    stack,
    service,
    db,
    published,
    roles,
    dbs,
    envFiles,
    url,
    update,
    audit,
    close,
  };
}

export type SwarmAuditWorld = Awaited<ReturnType<typeof startSwarmAuditWorld>>;
