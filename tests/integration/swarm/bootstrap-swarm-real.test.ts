// deploy/bootstrap.sh --swarm run for real on the shared single-node swarm manager, as an
// operator runs it from a checkout, against what is already there: no --init (the swarm is
// left as it is), a registry that already answers at REGISTRY_ADDR (startRegistry(), so
// nothing is installed or configured), and every name it makes unique through its
// documented variables (stacks and their secrets, data networks, the infra project with its
// containers and volumes, published ports, LUGH_HOME, the image repository).
//
// What runs for real: the checks, the data overlays, the infra project (Postgres and Redis
// from deploy/make-infra-images.sh, this host's binaries: no image registry to pull the
// official ones from), the databases' roles, the Docker secrets, tagging and pushing the
// image to the registry and deploying it by digest, the migrations as a one-off `docker run`
// on the data network, both `docker stack deploy`s and the wait for them, the removal of
// rotated-out secrets. Not run here: the image build inside the script (the test hands it
// lugh's image, built the deployer's way on lugh-base:node20 under the tag the script looks
// for, <DEPLOY_IMAGE_REPOSITORY>:sha-<sha12>; the script's `docker build` needs the npm
// registry through the engine), `apt-get install docker-registry` and starting it as a
// host service (systemd or the package's init script: the machine's one registry would be
// restarted), and `docker swarm init` (the shared engine is a manager already).
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import { createImageBuilder } from '../../../src/deployer/image-builder.js';
import { freePort } from '../../../src/sandbox/free-port.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import {
  ensureBaseImage,
  REPO_ROOT,
  removeTestResources,
  testDocker,
  uniqueName,
  waitFor,
} from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { type RunningRegistry, registryInstalled, startRegistry } from '../../helpers/registry.js';
import { ensureSwarm, removeSwarmResources } from '../../helpers/swarm.js';

const execFileAsync = promisify(execFile);
const { docker, engine } = await testDocker();
const swarm = engine && (await ensureSwarm(docker).catch(() => false));
const root = process.getuid?.() === 0;

type Env = 'staging' | 'prod';
const ENVS: readonly Env[] = ['staging', 'prod'];
const PORT = { staging: 3001, prod: 3000 } as const;
const KEYS = generatePromoteKeys();
const TOKENS = {
  staging: '7017201:AABootstrapRealStaging_abcdefghijk',
  prod: '7017202:AABootstrapRealProd_abcdefghijklmn',
};

describe.skipIf(!swarm || !root || !registryInstalled())('deploy/bootstrap.sh --swarm, a real run', () => {
  const run = uniqueName('lugh-test-bsreal');
  const stack = (env: Env) => `${run}-${env}`;
  const service = (env: Env) => `${stack(env)}_${env}-app`;
  const dataNetwork = (env: Env) => `${run}-${env}-data`;
  const postgres = `${run}-postgres`;
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-bootstrap-swarm-real-'));
  const checkout = path.join(dir, 'lugh');
  const passwords = {
    postgres: 'pg-real-s3cret-9f1',
    staging: 'stg-db-s3cret-4b7',
    prod: 'prd-db-s3cret-2c8',
  };
  const secretValues: Record<Env, Record<string, string>> = { staging: {}, prod: {} };
  let registry: RunningRegistry;
  let tg: TelegramStandIn;
  let sha12 = '';
  let first = '';

  const env = () => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    REGISTRY_ADDR: registry.address,
    LUGH_STACK_STAGING: stack('staging'),
    LUGH_STACK_PROD: stack('prod'),
    LUGH_DATA_NETWORK_STAGING: dataNetwork('staging'),
    LUGH_DATA_NETWORK_PROD: dataNetwork('prod'),
    LUGH_INFRA_PREFIX: run,
    LUGH_STACK_OVERRIDE_STAGING: path.join(dir, 'override.staging.yml'),
    LUGH_STACK_OVERRIDE_PROD: path.join(dir, 'override.prod.yml'),
  });
  const bootstrap = async () => {
    const { stdout, stderr } = await execFileAsync('bash', ['deploy/bootstrap.sh', '--swarm'], {
      cwd: checkout,
      env: env(),
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((e: { message: string; stdout?: string; stderr?: string }) => {
      throw new Error(`bootstrap failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    });
    return stdout + stderr;
  };
  const writeLocal = (name: string, values: Record<string, string>) =>
    writeFileSync(
      path.join(checkout, `.env.${name}.local`),
      `${Object.entries(values)
        .map(([k, v]) => `${k}='${v}'`)
        .join('\n')}\n`,
    );
  const localOf = (e: Env, ports: Record<Env, number>) => ({
    ...secretValues[e],
    ADMIN_IDS: '4242',
    LUGH_HOME: path.join(dir, `.lugh-${e}`),
    // One directory for both, as the env files' /home/lugh/lugh-refresh is on a real host.
    REFRESH_DIR: path.join(dir, 'lugh-refresh'),
    TELEGRAM_API_ROOT: tg.apiRoot,
    DEPLOY_IMAGE_REPOSITORY: run,
    LUGH_PUBLISHED_PORT: String(ports[e]),
    LUGH_UPDATE_MONITOR: '3s',
    ...(e === 'prod' ? { PROMOTE_VERIFY_KEY: KEYS.verifyKey } : {}),
  });
  const ports: Record<Env, number> = { staging: 0, prod: 0 };

  /** The running task's container of a service (the newest, during an update). */
  const task = async (e: Env) => {
    const [c] = (
      await docker.listContainers({
        filters: { label: [`com.docker.swarm.service.name=${service(e)}`], status: ['running'] },
      })
    ).sort((a, b) => b.Created - a.Created);
    return c;
  };
  const exec = async (id: string, args: string[]) =>
    execFileAsync('docker', ['exec', id, ...args]).then(
      ({ stdout }) => ({ code: 0, out: stdout }),
      (e: { code: number; stdout?: string; stderr?: string }) => ({
        code: e.code,
        out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
      }),
    );
  /** /healthz asked inside the task: the routing mesh answers nothing on this machine. */
  const healthz = async (e: Env) => {
    const c = await task(e);
    if (!c) return false;
    const script = `fetch('http://127.0.0.1:${PORT[e]}/healthz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))`;
    return (await exec(c.Id, ['node', '-e', script])).code === 0;
  };
  interface ServiceView {
    Version?: { Index?: number };
    Spec?: {
      TaskTemplate?: { ContainerSpec?: { Image?: string; Secrets?: { SecretName: string }[] } };
      EndpointSpec?: { Ports?: { TargetPort?: number; PublishedPort?: number }[] };
    };
    UpdateStatus?: { State?: string };
  }
  const inspect = async (e: Env) => (await docker.getService(service(e)).inspect()) as ServiceView;
  const secretNames = async () =>
    (await docker.listSecrets({ filters: JSON.stringify({ name: [run] }) }))
      .map((s) => s.Spec?.Name ?? '')
      .filter((n) => n.startsWith(`${run}-`))
      .sort();

  beforeAll(async () => {
    registry = await startRegistry();
    const gateway = (await docker.getNetwork('docker_gwbridge').inspect()).IPAM?.Config?.[0]
      ?.Gateway as string;
    tg = await startTelegramStandIn({ host: gateway });
    for (const e of ENVS)
      tg.registerBot({ token: TOKENS[e], username: `BsReal${e}Bot`, firstName: `Lugh ${e}` });

    // A checkout as an operator has one: the repository's files, committed.
    for (const entry of [
      'deploy',
      'docker-compose.staging.yml',
      'docker-compose.prod.yml',
      'docker-compose.infra.yml',
      '.env.staging',
      '.env.prod',
      '.env.infra',
    ])
      cpSync(path.join(REPO_ROOT, entry), path.join(checkout, entry), { recursive: true });
    execFileSync('git', ['init', '-q', checkout]);
    execFileSync('git', ['-C', checkout, 'add', '-A']);
    execFileSync('git', ['-C', checkout, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'x']);
    const sha = execFileSync('git', ['-C', checkout, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    sha12 = sha.slice(0, 12);

    // lugh's image for the checkout's commit, under the tag bootstrap looks for: this
    // repository's HEAD built the deployer's way (the build is not what is tested here).
    const head = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    await createImageBuilder({ docker, logger, repository: run }).ensure({
      env: 'staging',
      sha,
      tarball: async () =>
        execFileSync('git', ['-C', REPO_ROOT, 'archive', '--format=tar.gz', `--prefix=lugh-${sha}/`, head], {
          maxBuffer: 256 * 1024 * 1024,
        }),
      buildArgs: { BASE_IMAGE: await ensureBaseImage(docker) },
    });
    await execFileAsync('bash', ['deploy/make-infra-images.sh'], { cwd: REPO_ROOT, timeout: 300_000 });

    writeLocal('infra', {
      POSTGRES_PASSWORD: passwords.postgres,
      STAGING_DB_PASSWORD: passwords.staging,
      PROD_DB_PASSWORD: passwords.prod,
      POSTGRES_IMAGE: 'lugh-postgres:15-local',
      REDIS_IMAGE: 'lugh-redis:7-local',
    });
    for (const e of ENVS) {
      ports[e] = await freePort();
      secretValues[e] = {
        TELEGRAM_BOT_TOKEN: TOKENS[e],
        DATABASE_URL: `postgres://lugh_${e}:${passwords[e]}@${postgres}:5432/${e}_lugh`,
        REDIS_URL: `redis://${run}-redis:6379`,
        GITHUB_TOKEN: `ghs_bsreal${e}TokenNeverShown01`,
        GITHUB_WEBHOOK_SECRET: `gh-webhook-${e}-real-s3cret`,
        ...(e === 'staging' ? { PROMOTE_SIGNING_KEY: KEYS.signingKey } : {}),
      };
      writeLocal(e, localOf(e, ports));
      // The operator's extra stack file: cleanup labels and a fast health check. Every 2 s
      // (every 1 s started a node a second in staging's small CPU share), with a long
      // timeout: a check's node starting slowly on a busy machine is not sickness (with the
      // image's 5 s, three such in a row had Swarm replace healthy tasks).
      writeFileSync(
        path.join(dir, `override.${e}.yml`),
        [
          'services:',
          `  ${e}-app:`,
          `    labels: { lugh.test: ${run} }`,
          '    healthcheck: { interval: 2s, timeout: 20s, start_period: 60s }',
          `    deploy: { labels: { lugh.test: ${run} } }`,
          'networks:',
          `  edge: { labels: { lugh.test: ${run} } }`,
          '',
        ].join('\n'),
      );
    }
    first = await bootstrap();
  }, 900_000);

  afterAll(async () => {
    for (const e of ENVS) await execFileAsync('docker', ['stack', 'rm', stack(e)]).catch(() => {});
    await removeSwarmResources(docker, run);
    for (const name of [postgres, `${run}-redis`])
      await docker
        .getContainer(name)
        .remove({ force: true, v: true })
        .catch(() => {});
    for (const name of await secretNames().catch(() => []))
      await docker
        .getSecret(name)
        .remove()
        .catch(() => {});
    // The stacks' edge networks go once their tasks are gone; the data overlays after infra.
    for (const name of [...ENVS.map((e) => `${stack(e)}_edge`), ...ENVS.map(dataNetwork)])
      await waitFor(
        `network ${name} removed`,
        () =>
          docker
            .getNetwork(name)
            .remove()
            .then(
              () => true,
              (e: { statusCode?: number }) => e.statusCode === 404,
            ),
        60_000,
      ).catch(() => {});
    for (const name of [`${run}-pgdata`, `${run}-redisdata`])
      await docker
        .getVolume(name)
        .remove()
        .catch(() => {});
    if (sha12)
      await docker
        .getImage(`${registry?.address}/${run}:sha-${sha12}`)
        .remove({ noprune: true })
        .catch(() => {});
    await removeTestResources(docker, run);
    await registry?.close();
    await tg?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  it('deploys both stacks from the registry by digest; each task answers /healthz', async () => {
    const digest = await execFileAsync('docker', [
      'image',
      'inspect',
      '-f',
      '{{range .RepoDigests}}{{println .}}{{end}}',
      `${registry.address}/${run}:sha-${sha12}`,
    ]);
    const pushed = digest.stdout.split('\n').find((d) => d.startsWith(`${registry.address}/${run}@sha256:`));
    expect(pushed, first).toBeTruthy();
    for (const e of ENVS) {
      const s = await inspect(e);
      expect(s.Spec?.TaskTemplate?.ContainerSpec?.Image).toBe(pushed);
      // Published on the port its .local file chose (the routing mesh itself is not asked).
      expect(s.Spec?.EndpointSpec?.Ports).toEqual([
        expect.objectContaining({ TargetPort: PORT[e], PublishedPort: ports[e] }),
      ]);
      await waitFor(`${service(e)} answering /healthz`, () => healthz(e), 180_000).catch(async (error) => {
        const logs = await execFileAsync('docker', ['service', 'logs', '--tail', '40', service(e)]).catch(
          (x) => ({ stdout: String(x), stderr: '' }),
        );
        throw new Error(`${String(error)}\n${first}\n${logs.stdout}${logs.stderr}`);
      });
    }
    // The registry holds the pushed tag.
    const tags = (await (await fetch(`${registry.apiUrl}${run}/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toContain(`sha-${sha12}`);
  }, 400_000);

  it('mounts the env files’ values as Docker secrets, none of them in the service spec or the output', async () => {
    for (const e of ENVS) {
      const c = await task(e);
      expect(c, `a running task of ${service(e)}`).toBeTruthy();
      for (const [file, variable] of [
        ['telegram-bot-token', 'TELEGRAM_BOT_TOKEN'],
        ['database-url', 'DATABASE_URL'],
        ['github-token', 'GITHUB_TOKEN'],
      ] as const) {
        const read = await exec(c?.Id as string, ['cat', `/run/secrets/${file}`]);
        expect(read).toEqual({ code: 0, out: `${secretValues[e][variable]}\n` });
      }
      const text = (await execFileAsync('docker', ['service', 'inspect', service(e)])).stdout;
      for (const value of Object.values(secretValues[e])) {
        expect(text).not.toContain(value);
        expect(first).not.toContain(value);
      }
      for (const password of Object.values(passwords)) {
        expect(text).not.toContain(password);
        expect(first).not.toContain(password);
      }
    }
  });

  it('ran the migrations: each database has lugh’s tables', async () => {
    for (const e of ENVS) {
      const { stdout } = await execFileAsync('docker', [
        'exec',
        '-u',
        'postgres',
        postgres,
        'psql',
        '-d',
        `${e}_lugh`,
        '-Atc',
        "select table_name from information_schema.tables where table_schema = 'public' order by 1",
      ]);
      expect(stdout.split('\n')).toEqual(expect.arrayContaining(['deployments', 'promotions', 'locks']));
    }
  });

  it('a second run changes nothing; a changed secret value is rotated to a new version the service uses', async () => {
    const before = {
      secrets: await secretNames(),
      services: await Promise.all(ENVS.map(async (e) => (await inspect(e)).Spec)),
      tasks: await Promise.all(ENVS.map(async (e) => (await task(e))?.Id)),
      infra: await Promise.all(
        [postgres, `${run}-redis`].map(async (n) => (await docker.getContainer(n).inspect()).Id),
      ),
    };
    const again = await bootstrap();
    expect(again).toContain('unchanged');
    expect(await secretNames()).toEqual(before.secrets);
    expect(await Promise.all(ENVS.map(async (e) => (await inspect(e)).Spec))).toEqual(before.services);
    // When a task was replaced, the message shows why (Swarm's task history, errors and all).
    const history = async () =>
      (
        await Promise.all(
          ENVS.map((e) =>
            execFileAsync('docker', ['service', 'ps', '--no-trunc', service(e)]).then(
              (r) => r.stdout,
              (error: unknown) => String(error),
            ),
          ),
        )
      ).join('\n');
    const tasksNow = await Promise.all(ENVS.map(async (e) => (await task(e))?.Id));
    expect(tasksNow, tasksNow.join() === before.tasks.join() ? '' : `${again}\n${await history()}`).toEqual(
      before.tasks,
    );
    expect(
      await Promise.all(
        [postgres, `${run}-redis`].map(async (n) => (await docker.getContainer(n).inspect()).Id),
      ),
    ).toEqual(before.infra);

    // Staging's GitHub token changes in its .local file.
    const token = 'ghs_bsrealStagingRotatedToken02';
    secretValues.staging.GITHUB_TOKEN = token;
    writeLocal('staging', localOf('staging', ports));
    const rotated = await bootstrap();
    expect(rotated).not.toContain(token);
    const v2 = `${stack('staging')}-github-token-v2`;
    const stagingSecrets = (await inspect('staging')).Spec?.TaskTemplate?.ContainerSpec?.Secrets?.map(
      (s) => s.SecretName,
    );
    expect(stagingSecrets).toContain(v2);
    expect(stagingSecrets).not.toContain(`${stack('staging')}-github-token`);
    // Bootstrap returns once Swarm has finished the update (only then is the old version
    // unused: a rollback would still need it): one task, reading the new value at the same
    // path, and healthy.
    expect((await inspect('staging')).UpdateStatus?.State, rotated).toBe('completed');
    const tasks = await docker.listContainers({
      filters: { label: [`com.docker.swarm.service.name=${service('staging')}`], status: ['running'] },
    });
    expect(tasks).toHaveLength(1);
    expect(await exec(tasks[0]?.Id as string, ['cat', '/run/secrets/github-token'])).toEqual({
      code: 0,
      out: `${token}\n`,
    });
    expect(await healthz('staging')).toBe(true);
    // The version no service mounts any more is gone; production's are untouched.
    const names = await secretNames();
    expect(names).toContain(v2);
    expect(names).not.toContain(`${stack('staging')}-github-token`);
    expect(names.filter((n) => n.startsWith(`${stack('prod')}-`))).toEqual(
      before.secrets.filter((n) => n.startsWith(`${stack('prod')}-`)),
    );
    expect(existsSync(path.join(dir, '.lugh-staging'))).toBe(true);
    expect(statSync(path.join(dir, '.lugh-staging')).uid).toBe(10001);
  }, 600_000);

  it('a rotated value the new task cannot run with: Swarm rolls back, bootstrap stops and keeps the secret it rolls back to', async () => {
    const previous = `${stack('staging')}-telegram-bot-token`;
    // A token the Telegram stand-in does not know: the new task is never ready.
    const wrong = '7017299:AABootstrapRealUnknownToken_abcdef';
    writeLocal('staging', { ...localOf('staging', ports), TELEGRAM_BOT_TOKEN: wrong });
    const failed = await execFileAsync('bash', ['deploy/bootstrap.sh', '--swarm'], {
      cwd: checkout,
      env: env(),
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    expect(failed.code, failed.out).toBe(1);
    expect(failed.out).toContain(`the update of ${service('staging')} failed`);
    expect(failed.out).not.toContain(wrong);
    // Swarm puts back the previous spec, whose token secret is still there.
    await waitFor(
      'staging rolled back',
      async () => (await inspect('staging')).UpdateStatus?.State === 'rollback_completed',
      180_000,
    );
    expect(
      (await inspect('staging')).Spec?.TaskTemplate?.ContainerSpec?.Secrets?.map((s) => s.SecretName),
    ).toContain(previous);
    expect(await secretNames()).toContain(previous);
    await waitFor('staging answering /healthz after the rollback', () => healthz('staging'), 120_000);
    const c = await task('staging');
    expect(await exec(c?.Id as string, ['cat', '/run/secrets/telegram-bot-token'])).toEqual({
      code: 0,
      out: `${TOKENS.staging}\n`,
    });
  }, 600_000);
});
