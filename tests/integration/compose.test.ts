// The compose files keep staging and production apart: names, networks, ports, limits,
// and (with a real engine) staging commands leave a production container alone.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv, promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  createDockerClient,
  dockerAvailable,
  ensureBaseImage,
  REPO_ROOT,
  uniqueName,
} from '../helpers/docker.js';

const execFileAsync = promisify(execFile);

type Env = 'staging' | 'prod' | 'infra';
const FILES: Record<Env, { compose: string; env: string }> = {
  staging: { compose: 'docker-compose.staging.yml', env: '.env.staging' },
  prod: { compose: 'docker-compose.prod.yml', env: '.env.prod' },
  infra: { compose: 'docker-compose.infra.yml', env: '.env.infra' },
};

interface Service {
  image: string;
  container_name?: string;
  restart?: string;
  init?: boolean;
  cpu_shares?: string | number;
  oom_score_adj?: number;
  environment?: Record<string, string>;
  ports?: Array<string | { target: number; published: number | string }>;
  networks?: Record<string, unknown> | string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  profiles?: string[];
  deploy?: { resources?: { limits?: { cpus?: string | number; memory?: string } } };
  [key: string]: unknown;
}
interface ComposeConfig {
  services: Record<string, Service>;
  networks?: Record<string, { external?: boolean; name?: string; internal?: boolean } | null>;
  [key: string]: unknown;
}

// Only PATH and HOME: a DATABASE_URL or TELEGRAM_BOT_TOKEN in the test's own environment
// would otherwise win over the env files when compose interpolates.
const cleanEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' });

async function compose(args: string[], env: Record<string, string> = {}) {
  return execFileAsync('docker-compose', args, {
    cwd: REPO_ROOT,
    env: {
      ...cleanEnv(),
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      ...env,
    },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 120_000,
  });
}

function projectName(env: Env): string {
  const vars = parseEnv(readFileSync(join(REPO_ROOT, FILES[env].env), 'utf8'));
  return vars.COMPOSE_PROJECT_NAME ?? '';
}

async function composeConfig(env: Env, shellEnv: Record<string, string> = {}): Promise<ComposeConfig> {
  const { stdout } = await compose(
    ['-p', projectName(env), '--env-file', FILES[env].env, '-f', FILES[env].compose, 'config'],
    shellEnv,
  );
  return parse(stdout) as ComposeConfig;
}

/** The one service `up` starts without a profile (docker-compose config lists every profile's too). */
function onlyService(config: ComposeConfig): [string, Service] {
  const entries = Object.entries(config.services).filter(([, s]) => !s.profiles);
  expect(entries).toHaveLength(1);
  return entries[0]!;
}

/** The engine-level names of a service's networks (external ones keep their name). */
function networkNames(config: ComposeConfig, project: string, service: Service): string[] {
  const keys = Array.isArray(service.networks)
    ? service.networks
    : Object.keys(service.networks ?? { default: null });
  return keys.map((key) => config.networks?.[key]?.name ?? `${project}_${key}`).sort();
}

function publishedPorts(service: Service): Array<{ published: number; target: number; hostIp?: string }> {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return { published: Number(port.published), target: Number(port.target) };
    // "127.0.0.1:3001:3001/tcp" or "3001:3001"
    const parts = port.replace(/\/\w+$/, '').split(':');
    const target = Number(parts.pop());
    const published = Number(parts.pop());
    return { published, target, ...(parts[0] ? { hostIp: parts[0] } : {}) };
  });
}

function bytes(memory: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(memory ?? '');
  if (!match) throw new Error(`unparsable memory limit: ${memory}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[
    match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'
  ];
  return Number(match[1]) * unit;
}

const composeAvailable = await execFileAsync('docker-compose', ['version']).then(
  () => true,
  (error: unknown) => {
    // .ci/run installs docker-compose: in CI its absence is a failure, not a skip.
    if (process.env.CI) throw new Error(`CI needs docker-compose: ${String(error)}`);
    return false;
  },
);
const docker = createDockerClient();
const engine = composeAvailable && (await dockerAvailable(docker));

describe.skipIf(!composeAvailable)('compose files (needs docker-compose)', () => {
  let staging: ComposeConfig;
  let prod: ComposeConfig;
  let infra: ComposeConfig;

  beforeAll(async () => {
    [staging, prod, infra] = await Promise.all([
      composeConfig('staging'),
      composeConfig('prod'),
      composeConfig('infra'),
    ]);
  });

  it('validate with the committed placeholders', async () => {
    for (const env of ['staging', 'prod', 'infra'] as const) {
      await compose(['--env-file', FILES[env].env, '-f', FILES[env].compose, 'config', '-q']);
    }
  });

  it('carry distinct compose project names', () => {
    expect(projectName('staging')).toBe('lugh-staging');
    expect(projectName('prod')).toBe('lugh-prod');
    expect(projectName('infra')).toBe('lugh-infra');
  });

  it('use distinct service and container names', () => {
    const services = [staging, prod, infra].flatMap((c) => Object.keys(c.services));
    expect(new Set(services).size).toBe(services.length);
    const containers = [staging, prod, infra].flatMap((c) =>
      Object.values(c.services).map((s) => s.container_name),
    );
    expect(containers).toEqual([
      'lugh-preview-proxy',
      'lugh-staging-app',
      'lugh-prod-app',
      'lugh-postgres',
      'lugh-prometheus', // the profile monitoring's
      'lugh-redis',
    ]);
  });

  it('offer staging Caddy for previews under the profile previews, its admin API on no port and no preview network', async () => {
    const proxy = staging.services['preview-proxy']!;
    expect(proxy.profiles).toEqual(['previews']);
    expect(proxy.container_name).toBe('lugh-preview-proxy');
    // Only the previews' HTTP(S) is published, on 127.0.0.1 unless PREVIEW_BIND_ADDRESS says otherwise.
    expect(publishedPorts(proxy).map((p) => p.target)).toEqual([80, 443]);
    expect(publishedPorts(proxy).every((p) => p.hostIp === '127.0.0.1')).toBe(true);
    expect(networkNames(staging, 'lugh-staging', proxy)).toEqual(['lugh-staging_edge']);
    const script = readFileSync(join(REPO_ROOT, 'deploy/preview-proxy/start.sh'), 'utf8');
    // The admin port is the shell's ${PREVIEW_PROXY_ADMIN_PORT:-2019}.
    expect(script).toMatch(/^port=\$\{PREVIEW_PROXY_ADMIN_PORT:-2019\}$/m);
    expect(script).toContain('"{\\"listen\\":\\"$ip:$port\\"');
    const code = script.split('\n').filter((line) => !line.trimStart().startsWith('#'));
    expect(code.filter((line) => /0\.0\.0\.0|:2019"?\s*$/.test(line))).toEqual([]);
    // Production has no proxy and runs no previews.
    expect(Object.values(prod.services).map((s) => s.container_name)).toEqual(['lugh-prod-app']);
    await compose([
      '-p',
      projectName('staging'),
      '--env-file',
      FILES.staging.env,
      '-f',
      FILES.staging.compose,
      '--profile',
      'previews',
      'config',
      '-q',
    ]);
    await execFileAsync('sh', ['-n', join(REPO_ROOT, 'deploy/preview-proxy/start.sh')]);
  });

  it('put the two apps on networks they do not share, each reaching Postgres and Redis', () => {
    const [, stagingApp] = onlyService(staging);
    const [, prodApp] = onlyService(prod);
    const stagingNets = networkNames(staging, 'lugh-staging', stagingApp);
    const prodNets = networkNames(prod, 'lugh-prod', prodApp);
    expect(stagingNets).toEqual(['lugh-staging-data', 'lugh-staging_edge']);
    expect(prodNets).toEqual(['lugh-prod-data', 'lugh-prod_edge']);
    expect(stagingNets.filter((n) => prodNets.includes(n))).toEqual([]);

    for (const service of Object.values(infra.services)) {
      expect(networkNames(infra, 'lugh-infra', service)).toEqual(['lugh-prod-data', 'lugh-staging-data']);
    }
    // The data networks belong to infra (the apps only join them) and lead nowhere else.
    expect(staging.networks?.data).toMatchObject({ external: true, name: 'lugh-staging-data' });
    expect(prod.networks?.data).toMatchObject({ external: true, name: 'lugh-prod-data' });
    for (const net of Object.values(infra.networks ?? {})) expect(net).toMatchObject({ internal: true });
  });

  it('publish staging on 3001 and production on 3000, and no database port', () => {
    const [, stagingApp] = onlyService(staging);
    const [, prodApp] = onlyService(prod);
    expect(publishedPorts(stagingApp)).toMatchObject([{ published: 3001, target: 3001 }]);
    expect(publishedPorts(prodApp)).toMatchObject([{ published: 3000, target: 3000 }]);
    expect(stagingApp.environment?.PORT).toBe('3001');
    expect(prodApp.environment?.PORT).toBe('3000');
    for (const service of Object.values(infra.services)) expect(service.ports ?? []).toEqual([]);
  });

  it('give production priority over staging', () => {
    const [, stagingApp] = onlyService(staging);
    const [, prodApp] = onlyService(prod);
    const s = stagingApp.deploy?.resources?.limits;
    const p = prodApp.deploy?.resources?.limits;
    expect(Number(p?.cpus)).toBeGreaterThan(Number(s?.cpus));
    expect(bytes(p?.memory)).toBeGreaterThan(bytes(s?.memory));
    // An integer: docker-compose 1.29 refuses an interpolated (string) cpu_shares at `up`.
    expect(typeof prodApp.cpu_shares).toBe('number');
    expect(typeof stagingApp.cpu_shares).toBe('number');
    expect(Number(prodApp.cpu_shares)).toBeGreaterThan(Number(stagingApp.cpu_shares));
    expect(prodApp.oom_score_adj!).toBeLessThan(stagingApp.oom_score_adj!);
  });

  it('restart, health-check and init every service', () => {
    for (const config of [staging, prod, infra]) {
      for (const [name, service] of Object.entries(config.services)) {
        expect(service.restart, name).toBe('unless-stopped');
        expect(service.init, name).toBe(true);
        expect(service.healthcheck?.test?.[0], name).toBe('CMD');
        expect(service.healthcheck?.disable, name).toBeFalsy();
      }
    }
    expect(onlyService(staging)[1].healthcheck?.test).toEqual(['CMD', 'node', 'dist/cli.js', 'healthcheck']);
  });

  it("give each app its own environment's identity", () => {
    const cases = [
      {
        config: staging,
        appEnv: 'staging',
        prefix: 'staging',
        db: 'staging_lugh',
        role: 'lugh_staging',
        home: '.lugh-staging',
        image: 'lugh:staging-latest',
      },
      {
        config: prod,
        appEnv: 'production',
        prefix: 'prod',
        db: 'prod_lugh',
        role: 'lugh_prod',
        home: '.lugh-prod',
        image: 'lugh:prod-latest',
      },
    ];
    for (const { config, appEnv, prefix, db, role, home, image } of cases) {
      const [, app] = onlyService(config);
      const env = app.environment ?? {};
      expect(env.APP_ENV).toBe(appEnv);
      expect(env.REDIS_PREFIX).toBe(prefix);
      const url = new URL(env.DATABASE_URL ?? '');
      expect(url.pathname).toBe(`/${db}`);
      expect(url.username).toBe(role);
      expect(env.LUGH_HOME?.endsWith(`/${home}`)).toBe(true);
      expect(app.image).toBe(image);
    }
    expect(onlyService(staging)[1].environment?.BOT_DISPLAY_NAME).toBe('Lugh Dev');
    expect(onlyService(prod)[1].environment?.BOT_DISPLAY_NAME).toBe('Lugh');
  });

  it('commit placeholders, never secrets', () => {
    for (const config of [staging, prod]) {
      const env = onlyService(config)[1].environment ?? {};
      expect(env.TELEGRAM_BOT_TOKEN).toMatch(/^__SET_IN_\.env\.\w+\.local__$/);
      expect(env.GITHUB_TOKEN ?? '').toMatch(/^(__SET_IN_\.env\.\w+\.local__)?$/);
      expect(new URL(env.DATABASE_URL ?? '').password).toMatch(/^__SET_IN_/);
    }
  });

  it('take secrets and the image tag from the shell, where the .local file is sourced', async () => {
    const config = await composeConfig('staging', {
      TELEGRAM_BOT_TOKEN: '111111:real-token-from-local-file-xxxxxxxxxxxx',
      DATABASE_URL: 'postgres://lugh_staging:s3cret@lugh-postgres:5432/staging_lugh',
      ADMIN_IDS: '4242,4343',
      GITHUB_REPO: 'acme/app',
      LUGH_IMAGE: 'lugh:staging-abc1234',
    });
    const [, app] = onlyService(config);
    // Settings kept in the .local file reach the container, not the committed placeholders.
    expect(app.environment?.ADMIN_IDS).toBe('4242,4343');
    expect(app.environment?.GITHUB_REPO).toBe('acme/app');
    expect(app.environment?.TELEGRAM_BOT_TOKEN).toBe('111111:real-token-from-local-file-xxxxxxxxxxxx');
    expect(app.environment?.DATABASE_URL).toContain(':s3cret@');
    expect(app.image).toBe('lugh:staging-abc1234');
    // The identity is fixed by the compose file, whatever the shell says.
    const crossed = await composeConfig('staging', { APP_ENV: 'production', REDIS_PREFIX: 'prod' });
    expect(onlyService(crossed)[1].environment).toMatchObject({
      APP_ENV: 'staging',
      REDIS_PREFIX: 'staging',
    });
  });
});

describe('env files and deploy scripts', () => {
  it('can be sourced by bash (the scripts do) and read the same as by compose', async () => {
    for (const env of ['staging', 'prod', 'infra'] as const) {
      const { stdout } = await execFileAsync(
        'bash',
        ['-c', `set -euo pipefail; set -a; . ./${FILES[env].env}; set +a; env -0`],
        { cwd: REPO_ROOT, env: cleanEnv() },
      );
      const sourced = Object.fromEntries(
        stdout
          .split('\0')
          .filter(Boolean)
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      const parsed = parseEnv(readFileSync(join(REPO_ROOT, FILES[env].env), 'utf8'));
      expect(sourced).toMatchObject(parsed);
    }
  });

  it('pass bash -n', async () => {
    for (const script of [
      'deploy/make-base-image.sh',
      'deploy/init-databases.sh',
      'deploy/bootstrap.sh',
      '.ci/run',
    ]) {
      await execFileAsync('bash', ['-n', script], { cwd: REPO_ROOT });
    }
  });
});

describe('staging compose commands and a production container', () => {
  const id = uniqueName('t').slice(2);
  const prodProject = `lugh-prod-t${id}`;
  const stagingProject = `lugh-staging-t${id}`;
  const prodContainer = `lugh-prod-app-t${id}`;
  const stagingContainer = `lugh-staging-app-t${id}`;
  const networks = { staging: `lugh-staging-data-t${id}`, prod: `lugh-prod-data-t${id}` };
  let dir = '';
  const file = (env: 'staging' | 'prod') => join(dir, `docker-compose.${env}.yml`);

  /**
   * The real file's resolved config with only what a test on a shared engine must change:
   * a stand-in image that sleeps, unique container and network names, no host ports or
   * host mounts. Project scheme, service names and everything else stay as they are.
   */
  async function standIn(env: 'staging' | 'prod', image: string): Promise<string> {
    const config = await composeConfig(env);
    const [name, service] = onlyService(config);
    service.image = image;
    service.entrypoint = ['sleep', '3600'];
    delete service.command;
    service.container_name = env === 'prod' ? prodContainer : stagingContainer;
    delete service.ports;
    delete service.volumes;
    delete service.group_add;
    service.healthcheck = { disable: true };
    const limits = service.deploy?.resources?.limits;
    if (limits) limits.cpus = Math.min(Number(limits.cpus), availableParallelism());
    config.networks!.data = { external: true, name: networks[env] };
    config.services = { [name]: service };
    const path = file(env);
    writeFileSync(path, stringify(config));
    return path;
  }

  const prodState = async () => {
    const info = await docker.getContainer(prodContainer).inspect();
    return {
      id: info.Id,
      running: info.State.Running,
      startedAt: info.State.StartedAt,
      project: info.Config.Labels['com.docker.compose.project'],
    };
  };

  beforeAll(async () => {
    if (!engine) return;
    dir = mkdtempSync(join(tmpdir(), 'lugh-compose-test-'));
    const image = await ensureBaseImage(docker);
    for (const name of Object.values(networks)) {
      await docker.createNetwork({ Name: name, Internal: true, Labels: { 'lugh.test': id } });
    }
    await standIn('staging', image);
    await standIn('prod', image);
    await compose(['-p', prodProject, '-f', file('prod'), 'up', '-d']);
  }, 180_000);

  afterAll(async () => {
    if (!engine) return;
    for (const [project, env] of [
      [stagingProject, 'staging'],
      [prodProject, 'prod'],
      [prodProject, 'staging'],
    ] as const) {
      await compose(['-p', project, '-f', file(env), 'down', '--remove-orphans', '-t', '1']).catch(() => {});
    }
    for (const name of [prodContainer, stagingContainer]) {
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => {});
    }
    for (const name of Object.values(networks))
      await docker
        .getNetwork(name)
        .remove()
        .catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it.skipIf(!engine)(
    'up, recreate, stop and down of staging leave it running, untouched (needs a Docker engine)',
    async () => {
      const before = await prodState();
      expect(before).toMatchObject({ running: true, project: prodProject });

      const staging = ['-p', stagingProject, '-f', file('staging')];
      await compose([...staging, 'up', '-d', '--remove-orphans']);
      const stagingInfo = await docker.getContainer(stagingContainer).inspect();
      expect(stagingInfo.State.Running).toBe(true);
      expect(await prodState()).toEqual(before);

      await compose([...staging, 'up', '-d', '--force-recreate', '--remove-orphans']);
      expect(await prodState()).toEqual(before);

      await compose([...staging, 'stop', '-t', '1']);
      expect(await prodState()).toEqual(before);

      await compose([...staging, 'down', '--remove-orphans', '-t', '1']);
      expect(await prodState()).toEqual(before);
      await expect(docker.getContainer(stagingContainer).inspect()).rejects.toMatchObject({
        statusCode: 404,
      });
    },
    180_000,
  );

  it.skipIf(!engine)(
    'the project name is what protects it: staging under the prod project name removes it (needs a Docker engine)',
    async () => {
      // What happened to BrandishBot: one project name for both files. This proves the
      // test above could fail.
      await compose(['-p', prodProject, '-f', file('staging'), 'up', '-d', '--remove-orphans']);
      await expect(docker.getContainer(prodContainer).inspect()).rejects.toMatchObject({ statusCode: 404 });
    },
    180_000,
  );
});
