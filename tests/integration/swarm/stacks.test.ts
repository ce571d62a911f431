// Both environments as Swarm stacks, deployed the way README "Docker Swarm" tells a user to:
//
//   set -a; . ./.env.<env>; . ./.env.<env>.local; set +a
//   python3 deploy/swarm/compose-for-swarm.py docker-compose.<env>.yml |
//     docker stack deploy -c - -c deploy/swarm/<env>.yml <stack>
//
// on the shared single-node swarm, with lugh's image built from this repository. The .local
// file holds every secret too (as a user's does): the overlay must keep them out of the
// service spec anyway, giving them through Docker secrets and *_FILE only.
//
// What differs from a user's run, all through variables the overlay reads or one small
// override file (a third -c, below): unique stack, secret and data network names (the
// swarm is shared), a free published port, a Redis sub-prefix (the test Redis is shared),
// the `lugh.test` label for cleanup, and a 1 s health-check interval. Postgres and Redis are
// the test servers on the host, relayed on the docker_gwbridge gateway, which the stacks'
// edge networks reach (the data networks are internal overlays, as deploy/bootstrap-swarm.sh
// makes them, with nothing on them here: the infra project's containers join them in an
// install).
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FILE_SECRETS, fileVariableOf } from '../../../src/config/secret-files.js';
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
import { PROMOTE_KEYS } from '../../helpers/instance-env.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { runLugh } from '../../helpers/lugh-process.js';
import { type Relay, startRelay, throughRelay } from '../../helpers/relay.js';
import {
  createTestDatabase,
  createTestRole,
  redisUrl,
  type TestDatabase,
  type TestRole,
} from '../../helpers/services.js';
import { ensureSwarm, removeSwarmResources } from '../../helpers/swarm.js';

const execFileAsync = promisify(execFile);
const { docker, engine } = await testDocker();
const swarm = engine && (await ensureSwarm(docker).catch(() => false));
if (process.env.CI && !swarm) throw new Error('CI makes the engine a swarm manager (.ci/run)');

type Env = 'staging' | 'prod';
const ENVS: readonly Env[] = ['staging', 'prod'];
const APP_ENV = { staging: 'staging', prod: 'production' } as const;
const TOKENS = {
  staging: '7017001:AAStacksStagingToken_abcdefghijklmn',
  prod: '7017002:AAStacksProdToken_abcdefghijklmnopq',
};
const ADMIN = { id: 4717, first_name: 'Ada', username: 'ada' };

interface Overlay {
  services: Record<string, { environment: Record<string, string>; secrets: { source: string }[] }>;
  secrets: Record<string, { external: boolean; name: string }>;
}
const overlayOf = (env: Env) =>
  parse(readFileSync(path.join(REPO_ROOT, `deploy/swarm/${env}.yml`), 'utf8')) as Overlay;

/** The overlay's secrets: variable → the stack's secret key (`/run/secrets/<key>`). */
function secretKeys(env: Env): Record<string, string> {
  const [service] = Object.values(overlayOf(env).services);
  return Object.fromEntries(
    Object.entries(service?.environment ?? {})
      .filter(([k, v]) => k.endsWith('_FILE') && String(v).startsWith('/run/secrets/'))
      .map(([k, v]) => [k.slice(0, -'_FILE'.length), String(v).slice('/run/secrets/'.length)]),
  );
}

describe('every secret lugh reads is a Docker secret in each overlay', () => {
  it.each(ENVS)('%s: X_FILE at /run/secrets, X a placeholder, the secret external and mounted', (env) => {
    const overlay = overlayOf(env);
    const [service] = Object.values(overlay.services);
    // Production refuses the promote signing key (it holds only the verify key, not a
    // secret) and never runs previews; staging never reads the refresh's signing and hash keys.
    const expected = FILE_SECRETS.map((s) => s.variable).filter((v) =>
      env === 'staging'
        ? v !== 'REFRESH_SIGNING_KEY' && v !== 'REFRESH_HASH_KEY'
        : v !== 'PROMOTE_SIGNING_KEY' && !v.startsWith('PREVIEW_'),
    );
    const keys = secretKeys(env);
    expect(Object.keys(keys).sort()).toEqual([...expected].sort());
    for (const [variable, key] of Object.entries(keys)) {
      expect(service?.environment[variable]).toBe(`__IN_${fileVariableOf(variable)}__`);
      expect(overlay.secrets[key]?.external).toBe(true);
      expect(service?.secrets.map((s) => s.source)).toContain(key);
    }
  });
});

describe('the compose files as a stack takes them (compose-for-swarm.py)', () => {
  it.each(ENVS)(
    '%s: no service under a profile (a stack has none; docker stack deploy refuses the key)',
    (env) => {
      const out = execFileSync(
        'python3',
        ['deploy/swarm/compose-for-swarm.py', `docker-compose.${env}.yml`],
        {
          cwd: REPO_ROOT,
          encoding: 'utf8',
        },
      );
      const services = (parse(out) as { services: Record<string, { profiles?: unknown }> }).services;
      expect(Object.keys(services)).toContain(`${env}-app`);
      expect(Object.entries(services).filter(([, s]) => s.profiles !== undefined)).toEqual([]);
      if (env === 'staging') expect(Object.keys(services)).not.toContain('preview-proxy');
    },
  );
});

describe.skipIf(!swarm)(
  'both stacks on the shared single-node swarm (docker stack deploy with the overlays)',
  () => {
    const run = uniqueName('lugh-test-stacks');
    const stack = (env: Env) => `${run}-${env}`;
    const service = (env: Env) => `${stack(env)}_${env}-app`;
    const dataNetwork = (env: Env) => `${run}-${env}-data`;
    const secretName = (env: Env, key: string) => `${run}-${env}-${key}`;
    const workdir = mkdtempSync(path.join(tmpdir(), 'lugh-stacks-'));
    const refreshDir = path.join(workdir, 'lugh-refresh');
    mkdirSync(refreshDir);
    chownSync(refreshDir, 10001, 10001);
    const ports: Record<Env, number> = { staging: 0, prod: 0 };
    const secretValues: Record<Env, Record<string, string>> = { staging: {}, prod: {} };
    const relays: Relay[] = [];
    const databases: TestDatabase[] = [];
    const roles: TestRole[] = [];
    let tg: TelegramStandIn;
    let deployOutput = '';

    beforeAll(async () => {
      const gateway = (await docker.getNetwork('docker_gwbridge').inspect()).IPAM?.Config?.[0]
        ?.Gateway as string;
      tg = await startTelegramStandIn({ host: gateway });
      for (const env of ENVS)
        tg.registerBot({ token: TOKENS[env], username: `Stacks${env}Bot`, firstName: `Lugh ${env}` });
      const redisRelay = await startRelay(gateway, Number(new URL(redisUrl()).port));
      relays.push(redisRelay);

      const sha = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
      const image = await createImageBuilder({ docker, logger, repository: run }).ensure({
        env: 'staging',
        sha,
        tarball: async () =>
          execFileSync('git', ['-C', REPO_ROOT, 'archive', '--format=tar.gz', `--prefix=lugh-${sha}/`, sha], {
            maxBuffer: 256 * 1024 * 1024,
          }),
        buildArgs: { BASE_IMAGE: await ensureBaseImage(docker) },
      });

      for (const env of ENVS) {
        const role = await createTestRole(`lugh_${env}`);
        roles.push(role);
        const db = await createTestDatabase(`${env}_lugh`, { owner: role });
        databases.push(db);
        const pgRelay = await startRelay(gateway, Number(new URL(db.url).port));
        relays.push(pgRelay);
        const home = path.join(workdir, `.lugh-${env}`);
        mkdirSync(home);
        chownSync(home, 10001, 10001);
        ports[env] = await freePort();

        const values: Record<string, string> = {
          TELEGRAM_BOT_TOKEN: TOKENS[env],
          DATABASE_URL: throughRelay(db.url, pgRelay),
          REDIS_URL: `redis://:redis-${env}-s3cret@${redisRelay.address}`,
          GITHUB_TOKEN: `ghs_stacks${env}TokenNeverShown`,
          GITHUB_WEBHOOK_SECRET: `gh-webhook-${env}-s3cret-0123`,
          TELEGRAM_WEBHOOK_SECRET: `tg-webhook-${env}-s3cret`,
          DEPLOY_REGISTRY_PASSWORD: `registry-${env}-s3cret`,
          // Optional secrets left unset: empty files, as bootstrap-swarm.sh makes them.
          METRICS_TOKEN: '',
          ...(env === 'prod' ? { REFRESH_SIGNING_KEY: '', REFRESH_HASH_KEY: '' } : {}),
          ...(env === 'staging'
            ? {
                PROMOTE_SIGNING_KEY: PROMOTE_KEYS.signingKey,
                // Previews unused: an empty file, as bootstrap-swarm.sh makes for an optional secret left unset.
                PREVIEW_DATABASE_ADMIN_URL: '',
                PREVIEW_REDIS_URL: '',
              }
            : {}),
        };
        // The test Redis has no password: the URL's is ignored by it, and a secret to look for.
        secretValues[env] = values;
        // The migrations, as deploy/bootstrap-swarm.sh runs them before the first deploy.
        const migrated = await runLugh(['migrate'], {
          APP_ENV: APP_ENV[env],
          TELEGRAM_BOT_TOKEN: TOKENS[env],
          DATABASE_URL: db.url,
          REDIS_URL: redisUrl(),
          ADMIN_IDS: String(ADMIN.id),
          LUGH_HOME: home,
        });
        expect(migrated.code, migrated.stderr).toBe(0);

        for (const [variable, key] of Object.entries(secretKeys(env))) {
          await docker.createSecret({
            Name: secretName(env, key),
            Labels: { 'lugh.test': run },
            Data: Buffer.from(`${values[variable]}\n`).toString('base64'),
          });
        }
        await docker.createNetwork({
          Name: dataNetwork(env),
          Driver: 'overlay',
          Internal: true,
          Attachable: true,
          Labels: { 'lugh.test': run },
        });

        // The user's .env.<env>.local: non-secret settings and every secret.
        const local = path.join(workdir, `env.${env}.local`);
        const localValues: Record<string, string> = {
          ...values,
          ADMIN_IDS: String(ADMIN.id),
          LUGH_HOME: home,
          // One directory for both stacks, as the env files' /home/lugh/lugh-refresh is on a real host.
          REFRESH_DIR: refreshDir,
          TELEGRAM_API_ROOT: tg.apiRoot,
          ...(env === 'prod' ? { PROMOTE_VERIFY_KEY: PROMOTE_KEYS.verifyKey } : {}),
        };
        writeFileSync(
          local,
          `${Object.entries(localValues)
            .map(([k, v]) => `${k}='${v}'`)
            .join('\n')}\n`,
        );
        // Test only (the third -c): cleanup labels, a Redis sub-prefix, a fast health check.
        const override = path.join(workdir, `override.${env}.yml`);
        writeFileSync(
          override,
          [
            'services:',
            `  ${env}-app:`,
            `    labels: { lugh.test: ${run} }`,
            `    environment: { REDIS_PREFIX: "${env}:${run.slice(-8)}", LOG_LEVEL: info }`,
            '    healthcheck: { interval: 1s, start_period: 120s }',
            `    deploy: { labels: { lugh.test: ${run} } }`,
            'networks:',
            `  edge: { labels: { lugh.test: ${run} } }`,
            '',
          ].join('\n'),
        );
        // What the operator chooses beside the files, exported after sourcing them (as
        // deploy/bootstrap-swarm.sh does: .env.<env> sets LUGH_IMAGE and DOCKER_GID too).
        const chosen: Record<string, string> = {
          LUGH_IMAGE: image.tag,
          LUGH_STACK: stack(env),
          LUGH_PUBLISHED_PORT: String(ports[env]),
          LUGH_DATA_NETWORK: dataNetwork(env),
          LUGH_UPDATE_MONITOR: '3s',
          DOCKER_GID: String(statSync('/var/run/docker.sock').gid),
          ...Object.fromEntries(
            Object.entries(secretKeys(env)).map(([variable, key]) => [
              `${variable}_SECRET`,
              secretName(env, key),
            ]),
          ),
        };
        const script = [
          'set -euo pipefail',
          'set -a',
          `. ./.env.${env}`,
          `. ${local}`,
          'set +a',
          ...Object.entries(chosen).map(([k, v]) => `export ${k}='${v}'`),
          `python3 deploy/swarm/compose-for-swarm.py docker-compose.${env}.yml |`,
          `  docker stack deploy -c - -c deploy/swarm/${env}.yml -c ${override} ${stack(env)}`,
        ].join('\n');
        const shellEnv: Record<string, string> = {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
        };
        const { stdout, stderr } = await execFileAsync('bash', ['-c', script], {
          cwd: REPO_ROOT,
          env: shellEnv,
          timeout: 120_000,
        });
        deployOutput += stdout + stderr;
      }
    }, 900_000);

    afterAll(async () => {
      for (const env of ENVS) {
        await execFileAsync('docker', ['stack', 'rm', stack(env)]).catch(() => {});
      }
      await removeSwarmResources(docker, run);
      // The stack's own networks go with the stack, once its tasks are gone.
      for (const env of ENVS)
        await docker
          .getNetwork(`${stack(env)}_edge`)
          .remove()
          .catch(() => {});
      await removeTestResources(docker, run);
      for (const r of relays) await r.close();
      await tg?.close();
      for (const db of databases) await db.drop();
      for (const role of roles) await role.drop();
      rmSync(workdir, { recursive: true, force: true });
    }, 180_000);

    const inspectText = async (name: string) =>
      (await execFileAsync('docker', ['service', 'inspect', name], { maxBuffer: 16 * 1024 * 1024 })).stdout;
    interface ServiceSpec {
      Spec?: {
        TaskTemplate?: {
          ContainerSpec?: { Env?: string[]; Secrets?: { SecretName: string }[] };
          Networks?: { Target: string }[];
          Placement?: { Constraints?: string[] };
        };
        UpdateConfig?: { Order?: string; FailureAction?: string };
        EndpointSpec?: { Ports?: { TargetPort?: number; PublishedPort?: number; PublishMode?: string }[] };
      };
    }
    const spec = async (name: string) => (await docker.getService(name).inspect()) as ServiceSpec;

    // /healthz asked inside the service's task: the routing mesh cannot be reached on this
    // machine (the engine's DOCKER-INGRESS nat chain is not hooked into the host's
    // nftables-based iptables, so a published port answers nothing); the published port is
    // checked in the spec below.
    const healthz = async (env: Env) => {
      const [task] = await docker.listContainers({
        filters: { label: [`com.docker.swarm.service.name=${service(env)}`], status: ['running'] },
      });
      if (!task) return false;
      const script = `fetch('http://127.0.0.1:${env === 'staging' ? 3001 : 3000}/healthz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))`;
      const { code } = await execFileAsync('docker', ['exec', task.Id, 'node', '-e', script]).then(
        () => ({ code: 0 }),
        (e: { code: number }) => ({ code: e.code }),
      );
      return code === 0;
    };

    it('both instances answer /healthz and their bots answer through the Telegram stand-in', async () => {
      for (const env of ENVS) {
        await waitFor(`${service(env)} answering /healthz`, () => healthz(env), 300_000).catch(
          async (error) => {
            const logs = await execFileAsync('docker', [
              'service',
              'logs',
              '--tail',
              '40',
              service(env),
            ]).catch((e) => ({ stdout: String(e), stderr: '' }));
            const ps = await execFileAsync('docker', ['service', 'ps', '--no-trunc', service(env)]).catch(
              (e) => ({ stdout: String(e) }),
            );
            throw new Error(`${String(error)}\n${deployOutput}\n${ps.stdout}\n${logs.stdout}${logs.stderr}`);
          },
        );
        const sent = tg.sendText({
          token: TOKENS[env],
          chat: { id: ADMIN.id, type: 'private' },
          from: ADMIN,
          text: '/whoami',
        });
        const reply = await tg.waitForBotMessage(
          TOKENS[env],
          ADMIN.id,
          (m) => m.message_id > sent.message_id,
          {
            timeoutMs: 60_000,
          },
        );
        expect(reply.text).toContain('Role: admin');
      }
    }, 720_000);

    it('no secret value is in `docker service inspect`: the spec holds *_FILE paths and placeholders', async () => {
      for (const env of ENVS) {
        const text = await inspectText(service(env));
        for (const value of Object.values(secretValues[env]).filter(Boolean)) {
          expect(text).not.toContain(value);
          // The parts lugh itself treats as secrets (a URL's password, the token's secret half).
          for (const part of [value.split(':')[1], URL.canParse(value) ? new URL(value).password : ''])
            if (part && part.length >= 8) expect(text).not.toContain(part);
        }
        const envList = (await spec(service(env))).Spec?.TaskTemplate?.ContainerSpec?.Env ?? [];
        expect(envList).toContain('TELEGRAM_BOT_TOKEN_FILE=/run/secrets/telegram-bot-token');
        expect(envList).toContain('TELEGRAM_BOT_TOKEN=__IN_TELEGRAM_BOT_TOKEN_FILE__');
        expect(envList).toContain('DEPLOY_RUNTIME=swarm');
        expect(envList).toContain(`DEPLOY_CONTAINER=${service(env)}`);
      }
    });

    it('each stack uses only its own secrets and networks; production’s data network is internal', async () => {
      const networkNames = async (ids: string[]) =>
        Promise.all(ids.map(async (id) => (await docker.getNetwork(id).inspect()).Name as string));
      for (const env of ENVS) {
        const other: Env = env === 'staging' ? 'prod' : 'staging';
        const s = (await spec(service(env))).Spec;
        const secrets = (s?.TaskTemplate?.ContainerSpec?.Secrets ?? []).map((x) => x.SecretName);
        expect(secrets.sort()).toEqual(
          Object.values(secretKeys(env))
            .map((k) => secretName(env, k))
            .sort(),
        );
        const networks = await networkNames((s?.TaskTemplate?.Networks ?? []).map((n) => n.Target));
        expect(networks.sort()).toEqual([`${stack(env)}_edge`, dataNetwork(env)].sort());
        expect(networks.some((n) => n.includes(`-${other}`))).toBe(false);
        expect(s?.UpdateConfig).toMatchObject({ Order: 'start-first', FailureAction: 'rollback' });
        expect(s?.EndpointSpec?.Ports).toEqual([
          expect.objectContaining({
            TargetPort: env === 'staging' ? 3001 : 3000,
            PublishedPort: ports[env],
            PublishMode: 'ingress',
          }),
        ]);
        expect(s?.TaskTemplate?.Placement?.Constraints).toEqual(['node.role == manager']);
      }
      const prodData = await docker.getNetwork(dataNetwork('prod')).inspect();
      expect([prodData.Driver, prodData.Internal]).toEqual(['overlay', true]);
    });
  },
);
