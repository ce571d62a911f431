// The switch plan carries over every setting the compose files give an app container.
// Each compose file's own service is brought up by docker-compose on the real engine; the
// running container is snapshotted, the switch plan's containers for a new image are
// created from it, and `docker inspect` of the two is compared field by field: every
// field of Config and HostConfig, the networks with their aliases, and the mounts.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv, promisify } from 'node:util';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { planSwitch, snapshotOf } from '../../../src/deployer/container-plan.js';
import { createFrom, removeQuietly } from '../../../src/deployer/runtime/docker-containers.js';
import { freePort } from '../../../src/sandbox/free-port.js';
import {
  ensureBaseImage,
  REPO_ROOT,
  removeTestResources,
  testDocker,
  uniqueName,
} from '../../helpers/docker.js';

const execFileAsync = promisify(execFile);
const composeAvailable = await execFileAsync('docker-compose', ['version']).then(
  () => true,
  (error: unknown) => {
    if (process.env.CI) throw new Error(`CI needs docker-compose: ${String(error)}`);
    return false;
  },
);
const { docker, engine } = await testDocker();

const ENVS = {
  staging: { compose: 'docker-compose.staging.yml', env: '.env.staging' },
  prod: { compose: 'docker-compose.prod.yml', env: '.env.prod' },
} as const;
const SHA = 'b'.repeat(40);

/**
 * Stand-ins for lugh's image: the runtime stage's own config (ENV, WORKDIR, USER,
 * STOPSIGNAL, LABEL, HEALTHCHECK as in the Dockerfile), sleeping instead of running lugh.
 * The two versions differ in their GIT_SHA only, as two builds of lugh do.
 */
const standInDockerfile = (base: string, run: string, version: string) => `FROM ${base}
ENV NODE_ENV=production GIT_SHA=${version}
WORKDIR /app
USER 10001:10001
STOPSIGNAL SIGTERM
LABEL lugh.migrate='["node","dist/cli.js","migrate"]' lugh.test=${run}
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/cli.js", "healthcheck"]
ENTRYPOINT ["sleep"]
CMD ["3600"]
`;

/**
 * Fields that differ between the running container and the final one, and why; every
 * other field of Config and HostConfig, the networks and the mounts must be equal.
 */
const FINAL_DIFFERS: Record<string, string> = {
  Image: 'the image id: the new version is the point of the switch',
  'Config.Image': 'the new image tag',
  'Config.Hostname': "Docker's default hostname is the container's own short id",
  'Config.Env': 'GIT_SHA names the new commit (the rest is checked equal below)',
  'Config.Labels': 'lugh.sha and lugh.role record commit and role (the rest is checked equal below)',
};

/**
 * The pre-flight container's deliberate differences on top: it takes no traffic (no host
 * port, no network alias: nothing may reach it by the service's name), is never
 * restarted by Docker, and runs as LUGH_ROLE=preflight (in Config.Env) so it takes no
 * deploy jobs.
 */
const PREFLIGHT_DIFFERS: Record<string, string> = {
  ...FINAL_DIFFERS,
  Name: 'it runs beside the app container, under its own name',
  'HostConfig.PortBindings': 'no host port: it cannot take traffic',
  'HostConfig.RestartPolicy': "'no': it is removed once its health is known",
  Networks: 'the same networks, without aliases',
};

/** What the compose files set on an app container; all of it must be among the equal fields. */
const COMPOSE_SETTINGS = [
  'Config.User',
  'Config.WorkingDir',
  'Config.ExposedPorts',
  'Config.Volumes',
  'Config.Healthcheck',
  'Config.StopSignal',
  'Config.StopTimeout',
  'HostConfig.Binds',
  'HostConfig.GroupAdd',
  'HostConfig.Init',
  'HostConfig.CpuShares',
  'HostConfig.NanoCpus',
  'HostConfig.Memory',
  'HostConfig.MemoryReservation',
  'HostConfig.OomScoreAdj',
  'HostConfig.LogConfig',
  'Mounts',
];

const ROLE_VARS = /^(GIT_SHA|LUGH_ROLE)=/;
const PLAN_LABELS = new Set(['lugh.sha', 'lugh.role']);

// The engine reports a list it was sent empty as [] and one never sent as null: the same.
const orNull = (value: unknown) => (Array.isArray(value) && value.length === 0 ? null : value);

/** `docker inspect` flattened to the fields compared, made comparable across two containers. */
function fieldsOf(info: Docker.ContainerInspectInfo): Record<string, unknown> {
  const shortId = info.Id.slice(0, 12);
  const fields: Record<string, unknown> = { Name: info.Name, Image: info.Image };
  for (const [key, value] of Object.entries(info.Config)) fields[`Config.${key}`] = orNull(value);
  for (const [key, value] of Object.entries(info.HostConfig)) fields[`HostConfig.${key}`] = orNull(value);
  fields.Networks = Object.fromEntries(
    Object.entries(info.NetworkSettings.Networks).map(([name, net]) => [
      name,
      ((net.Aliases ?? []) as string[]).filter((a) => a !== shortId).sort(),
    ]),
  );
  // Inspect lists mounts in no particular order.
  fields.Mounts = info.Mounts.map(({ Type, Source, Destination, Mode, RW, Propagation }) => ({
    Type,
    Source,
    Destination,
    Mode,
    RW,
    Propagation,
  })).sort((x, y) => x.Destination.localeCompare(y.Destination));
  return fields;
}

/** Compares field by field: returns the fields that are equal, and those that differ. */
function compare(running: Docker.ContainerInspectInfo, planned: Docker.ContainerInspectInfo) {
  const a = fieldsOf(running);
  const b = fieldsOf(planned);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const equal: string[] = [];
  const differ: Array<{ field: string; running: unknown; planned: unknown }> = [];
  for (const field of keys) {
    if (JSON.stringify(a[field]) === JSON.stringify(b[field])) equal.push(field);
    else differ.push({ field, running: a[field], planned: b[field] });
  }
  return { equal, differ };
}

describe.skipIf(!composeAvailable || !engine)(
  'a switch keeps the compose settings (needs docker-compose and a Docker engine)',
  () => {
    const run = uniqueName('lugh-test-settings');
    const dir = mkdtempSync(join(tmpdir(), 'lugh-settings-test-'));
    const made: { projects: Array<[string, string]>; networks: string[] } = { projects: [], networks: [] };
    let oldImage = '';
    let newImage = '';

    const compose = (args: string[], env: Record<string, string> = {}) =>
      execFileAsync('docker-compose', args, {
        cwd: REPO_ROOT,
        // Only PATH and HOME: the test's own environment must not win over the env files.
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
          ...env,
        },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 120_000,
      });

    async function buildStandIn(base: string, version: string): Promise<string> {
      const context = join(dir, `image-${version}`);
      mkdirSync(context);
      writeFileSync(join(context, 'Dockerfile'), standInDockerfile(base, run, version));
      const tag = `${run}:${version}`;
      const stream = await docker.buildImage({ context, src: ['Dockerfile'] }, { t: tag });
      await new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(stream, (error, events) => {
          const failed = (events as Array<{ error?: string }>).find((e) => e.error);
          if (error || failed) reject(error ?? new Error(failed?.error));
          else resolve();
        }),
      );
      return tag;
    }

    /**
     * Brings up the compose file's own service, the way the scripts do (its env file, the
     * image and LUGH_HOME from the shell), changing only what a shared engine forces:
     * a unique project, container name and data network, a free host port, and no more
     * CPUs than the machine has.
     */
    async function upService(envName: keyof typeof ENVS): Promise<string> {
      const { compose: file, env } = ENVS[envName];
      const project = `${parseEnv(readFileSync(join(REPO_ROOT, env), 'utf8')).COMPOSE_PROJECT_NAME}-t${run.slice(-8)}`;
      const home = join(dir, `home-${envName}`);
      mkdirSync(home);
      const refreshDir = join(dir, 'lugh-refresh');
      mkdirSync(refreshDir, { recursive: true });
      const shell = { LUGH_IMAGE: oldImage, LUGH_HOME: home, REFRESH_DIR: refreshDir };
      const { stdout } = await compose(['-p', project, '--env-file', env, '-f', file, 'config'], shell);
      const config = parse(stdout) as {
        services: Record<string, Record<string, unknown>>;
        networks: Record<string, { external?: boolean; name?: string }>;
      };
      // The app: the one service under no profile (staging's optional preview-proxy has one).
      for (const [name, s] of Object.entries(config.services)) if (s.profiles) delete config.services[name];
      const [service] = Object.values(config.services);
      if (!service) throw new Error(`${file} has no service`);
      const containerName = `${service.container_name}-${run.slice(-8)}`;
      service.container_name = containerName;
      const hostPort = await freePort();
      service.ports = (service.ports as string[]).map((p) => p.replace(/:\d+:/, `:${hostPort}:`));
      const limits = (service.deploy as { resources: { limits: { cpus: string } } }).resources.limits;
      limits.cpus = String(Math.min(Number(limits.cpus), availableParallelism()));
      const dataNetwork = `${config.networks.data?.name}-${run.slice(-8)}`;
      await docker.createNetwork({ Name: dataNetwork, Internal: true, Labels: { 'lugh.test': run } });
      made.networks.push(dataNetwork);
      config.networks.data = { external: true, name: dataNetwork };
      const path = join(dir, file);
      writeFileSync(path, stringify(config));
      made.projects.push([project, path]);
      await compose(['-p', project, '-f', path, 'up', '-d'], shell);
      return containerName;
    }

    beforeAll(async () => {
      const base = await ensureBaseImage(docker);
      oldImage = await buildStandIn(base, 'v1');
      newImage = await buildStandIn(base, 'v2');
    }, 300_000);

    afterAll(async () => {
      for (const [project, path] of made.projects)
        await compose(['-p', project, '-f', path, 'down', '--remove-orphans', '-t', '1']).catch(() => {});
      await removeTestResources(docker, run);
      for (const name of made.networks)
        await docker
          .getNetwork(name)
          .remove()
          .catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }, 120_000);

    for (const envName of Object.keys(ENVS) as Array<keyof typeof ENVS>) {
      it(`${ENVS[envName].compose}: the pre-flight and the final container equal the running one but for the listed fields`, async () => {
        const name = await upService(envName);
        const running = await docker.getContainer(name).inspect();
        const snapshot = snapshotOf(running, (await docker.getImage(running.Image).inspect()).Config);
        const plan = planSwitch(snapshot, newImage, SHA);

        // The pre-flight container, beside the running one, as startPreflight makes it.
        const preflight = await createFrom(docker, plan.preflight, plan.extraNetworks.preflight);
        let preflightInfo: Docker.ContainerInspectInfo;
        try {
          await preflight.start();
          preflightInfo = await preflight.inspect();
        } finally {
          await removeQuietly(preflight);
        }

        // The final container in the running one's place, as switchOver makes it.
        const old = docker.getContainer(running.Id);
        await old.stop({ t: 1 });
        await old.rename({ name: plan.previousName });
        const next = await createFrom(docker, plan.final, plan.extraNetworks.final);
        await next.start();
        const finalInfo = await next.inspect();

        const final = compare(running, finalInfo);
        expect(final.differ.filter((d) => !(d.field in FINAL_DIFFERS))).toEqual([]);
        expect(final.differ.map((d) => d.field).sort()).toEqual(Object.keys(FINAL_DIFFERS).sort());
        expect(final.equal).toEqual(expect.arrayContaining([...COMPOSE_SETTINGS, 'Name', 'Networks']));

        const pre = compare(running, preflightInfo);
        expect(pre.differ.filter((d) => !(d.field in PREFLIGHT_DIFFERS))).toEqual([]);
        expect(pre.differ.map((d) => d.field).sort()).toEqual(Object.keys(PREFLIGHT_DIFFERS).sort());
        expect(pre.equal).toEqual(expect.arrayContaining(COMPOSE_SETTINGS));

        // Inside the fields that differ, only what the plan means to change.
        const envOf = (info: Docker.ContainerInspectInfo) =>
          info.Config.Env.filter((e) => !ROLE_VARS.test(e));
        const labelsOf = (info: Docker.ContainerInspectInfo) =>
          Object.fromEntries(Object.entries(info.Config.Labels).filter(([k]) => !PLAN_LABELS.has(k)));
        for (const [planned, role] of [
          [finalInfo, undefined],
          [preflightInfo, 'preflight'],
        ] as const) {
          expect(envOf(planned).sort()).toEqual(envOf(running).sort());
          expect(planned.Config.Env.filter((e) => ROLE_VARS.test(e)).sort()).toEqual(
            [`GIT_SHA=${SHA}`, ...(role ? [`LUGH_ROLE=${role}`] : [])].sort(),
          );
          expect(labelsOf(planned)).toEqual(labelsOf(running));
          expect(planned.Config.Labels).toMatchObject({ 'lugh.sha': SHA, 'lugh.role': role ?? 'app' });
          expect(planned.Config.Image).toBe(newImage);
        }
        expect(preflightInfo.HostConfig.PortBindings).toEqual({});
        expect(preflightInfo.HostConfig.RestartPolicy?.Name).toBe('no');
        expect(fieldsOf(preflightInfo).Networks).toEqual(
          Object.fromEntries(Object.keys(running.NetworkSettings.Networks).map((n) => [n, []])),
        );
      }, 180_000);
    }
  },
);
