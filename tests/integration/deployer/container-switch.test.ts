import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planSwitch, snapshotOf } from '../../../src/deployer/container-plan.js';
import { createImageBuilder } from '../../../src/deployer/image-builder.js';
import {
  createDockerRuntime,
  RolledBackError,
  UnhealthyBeforeSwitchError,
} from '../../../src/deployer/runtime/docker-runtime.js';
import type { SwitchTarget } from '../../../src/deployer/runtime/runtime.js';
import type { Forge } from '../../../src/forge/forge.js';
import { freePort } from '../../../src/sandbox/free-port.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';

const { docker, engine } = await testDocker();
const TOKEN = 'ghs_containerSwitchTestToken';

const BAD_SERVER = `require('node:http').createServer((q, s) => { s.writeHead(q.url === '/healthz' ? 500 : 200); s.end('bad'); })
  .listen(process.env.PORT || 8080, () => console.log('bad version up, its health check fails'));
`;
const FLAKY_SERVER = `const began = Date.now();
require('node:http').createServer((q, s) => { const ok = q.url !== '/healthz' || Date.now() - began < 5000; s.writeHead(ok ? 200 : 500); s.end(ok ? 'ok' : 'sick'); })
  .listen(process.env.PORT || 8080, () => console.log('flaky version up, sick after 5 s'));
`;

// Docker's own check runs once an hour: only a deployer that asks the app's /healthz itself
// sees these versions' health within a test's time.
const HOURLY_CHECK_DOCKERFILE = `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
ARG GIT_SHA=unknown
ENV NODE_ENV=production COMMIT_SHA=\${GIT_SHA} PORT=8080
WORKDIR /app
COPY package.json server.js ./
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=1h --start-period=1h CMD ["node", "-e", "process.exit(0)"]
CMD ["node", "server.js"]
`;
const HOURLY_SERVER = `const commit = process.env.COMMIT_SHA || 'unknown';
require('node:http').createServer((q, s) => { s.writeHead(200); s.end(q.url === '/version' ? JSON.stringify({ commit }) : 'ok'); })
  .listen(process.env.PORT || 8080, () => console.log('hourly-check version up'));
process.on('SIGTERM', () => process.exit(0));
`;

describe.skipIf(!engine)('container switch (needs a Docker engine)', () => {
  const repository = uniqueName('lugh-test-switch');
  const name = uniqueName('lugh-test-app');
  let gh: GitHubStandIn;
  let forge: Forge;
  let network: Docker.Network;
  let hostPort: number;
  const images: Record<
    'v1' | 'v2' | 'bad' | 'flaky' | 'hourly' | 'hourlyFlaky',
    { tag: string; sha: string }
  > = {} as never;
  const switcher = createDockerRuntime({ docker, logger });
  /** The switch's phases in a row, as the deploy's steps run them; `onPhase` hears each start. */
  const switchTo = async (
    opts: SwitchTarget & {
      healthDeadlineMs: number;
      verifyMs: number;
      onPhase?: (phase: 'start' | 'health' | 'switch' | 'verify') => void;
    },
  ) => {
    opts.onPhase?.('start');
    const preflight = await switcher.startPreflight(opts);
    opts.onPhase?.('health');
    await switcher.awaitPreflight(preflight, opts.healthDeadlineMs);
    opts.onPhase?.('switch');
    const switched = await switcher.switchOver(preflight, opts.healthDeadlineMs);
    opts.onPhase?.('verify');
    await switcher.verify(switched, opts.verifyMs);
  };

  const version = async () => {
    const res = await fetch(`http://127.0.0.1:${hostPort}/version`).catch(() => undefined);
    return res?.ok ? ((await res.json()) as { commit: string }).commit : undefined;
  };

  beforeAll(async () => {
    const baseImage = await ensureBaseImage(docker);
    const started = await startSeededGitHub(TOKEN);
    const seeded = started.seeded;
    ({ gh, forge } = started);
    const builder = createImageBuilder({ docker, logger, repository });
    const build = async (sha: string) => ({
      sha,
      tag: (
        await builder.ensure({
          env: 'staging',
          sha,
          tarball: () => forge.tarball(sha),
          buildArgs: { BASE_IMAGE: baseImage },
        })
      ).tag,
    });
    images.v1 = await build(seeded.mainSha);
    images.v2 = await build(seeded.developSha);
    images.bad = await build(
      await gh.pushCommit('develop', { message: 'Break health', files: { 'server.js': BAD_SERVER } }),
    );
    images.flaky = await build(
      await gh.pushCommit('develop', { message: 'Sick later', files: { 'server.js': FLAKY_SERVER } }),
    );
    images.hourly = await build(
      await gh.pushCommit('develop', {
        message: 'Docker checks hourly',
        files: { Dockerfile: HOURLY_CHECK_DOCKERFILE, 'server.js': HOURLY_SERVER },
      }),
    );
    images.hourlyFlaky = await build(
      await gh.pushCommit('develop', {
        message: 'Sick later, checked hourly',
        files: { 'server.js': FLAKY_SERVER },
      }),
    );

    network = await docker.createNetwork({ Name: uniqueName('lugh-test-net') });
    hostPort = await freePort();
    const current = await docker.createContainer({
      name,
      Image: images.v1.tag,
      Env: ['PORT=8080', 'APP_ENV=staging'],
      Labels: { 'lugh.env': 'staging', 'lugh.test': repository },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] },
        RestartPolicy: { Name: 'unless-stopped' },
        Memory: 256 * 1024 * 1024,
        NetworkMode: network.id,
      },
    });
    await current.start();
    for (let i = 0; i < 60 && (await version()) !== images.v1.sha; i++)
      await new Promise((r) => setTimeout(r, 500));
  }, 600_000);

  afterAll(async () => {
    await removeTestResources(docker, repository);
    await network?.remove().catch(() => {});
    await gh?.close();
  });

  it('plans the new containers from the running one: same env, network, ports, limits, restart policy', async () => {
    const info = await docker.getContainer(name).inspect();
    const snapshot = snapshotOf(info, (await docker.getImage(info.Image).inspect()).Config);
    // The old image's own ENV (its COMMIT_SHA, NODE_ENV, and PORT=8080, which the container
    // repeats) is not carried over: the new image's defaults apply.
    expect(snapshot.env).toEqual(['APP_ENV=staging']);
    const plan = planSwitch(snapshot, images.v2.tag, images.v2.sha);
    expect(plan.previousName).toBe(`${name}-previous`);
    expect(plan.final).toMatchObject({
      name,
      Image: images.v2.tag,
      // The image bakes its commit into COMMIT_SHA too: the container names the one it runs.
      Env: ['APP_ENV=staging', `GIT_SHA=${images.v2.sha}`, `COMMIT_SHA=${images.v2.sha}`],
      Labels: {
        'lugh.env': 'staging',
        'lugh.test': repository,
        'lugh.sha': images.v2.sha,
        'lugh.role': 'app',
      },
      HostConfig: {
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] },
        RestartPolicy: { Name: 'unless-stopped' },
        Memory: 256 * 1024 * 1024,
        NetworkMode: snapshot.networks && Object.keys(snapshot.networks)[0],
      },
    });
    expect(plan.preflight).toMatchObject({
      name: `${name}-preflight-${images.v2.sha.slice(0, 7)}`,
      Env: [
        'APP_ENV=staging',
        `GIT_SHA=${images.v2.sha}`,
        `COMMIT_SHA=${images.v2.sha}`,
        'LUGH_ROLE=preflight',
      ],
      HostConfig: { PortBindings: {}, RestartPolicy: { Name: 'no' } },
      Labels: { 'lugh.role': 'preflight' },
    });
  });

  it('an unhealthy new version is removed before the switch; the old one never stops', async () => {
    const before = await docker.getContainer(name).inspect();
    const error = await switchTo({
      containerName: name,
      image: images.bad.tag,
      sha: images.bad.sha,
      healthDeadlineMs: 20_000,
      verifyMs: 1_000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnhealthyBeforeSwitchError);
    expect((error as UnhealthyBeforeSwitchError).logTail.join('\n')).toContain('bad version up');
    const after = await docker.getContainer(name).inspect();
    expect([after.Id, after.State.StartedAt, after.State.Running]).toEqual([
      before.Id,
      before.State.StartedAt,
      true,
    ]);
    expect(await docker.listContainers({ all: true, filters: { name: [`${name}-preflight`] } })).toEqual([]);
    expect(await version()).toBe(images.v1.sha);
  }, 120_000);

  it('switches to a healthy version under the same name and port, keeping the previous one stopped', async () => {
    const phases: string[] = [];
    await switchTo({
      containerName: name,
      image: images.v2.tag,
      sha: images.v2.sha,
      healthDeadlineMs: 30_000,
      verifyMs: 3_000,
      onPhase: (p) => phases.push(p),
    });
    expect(phases).toEqual(['start', 'health', 'switch', 'verify']);
    const next = await docker.getContainer(name).inspect();
    expect(next.Config.Image).toBe(images.v2.tag);
    // The gates passed on the app's own answer; Docker's check, every 2 s, agrees once it runs.
    await expect
      .poll(async () => (await docker.getContainer(name).inspect()).State.Health?.Status, { timeout: 30_000 })
      .toBe('healthy');
    expect(await version()).toBe(images.v2.sha);
    const previous = await docker.getContainer(`${name}-previous`).inspect();
    expect([previous.Config.Image, previous.State.Running]).toEqual([images.v1.tag, false]);
  }, 120_000);

  it('a version that falls sick after the switch is rolled back to the previous container', async () => {
    const error = await switchTo({
      containerName: name,
      image: images.flaky.tag,
      sha: images.flaky.sha,
      healthDeadlineMs: 30_000,
      verifyMs: 20_000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolledBackError);
    expect((error as RolledBackError).logTail.join('\n')).toContain('flaky version up');
    // The reason says what the deployer saw (its own probe, 200 ms apart, before Docker's check).
    expect((error as RolledBackError).message).toContain(
      'did not stay healthy for 20 s after the switch (/healthz failed 2 times in a row, last: answered 500)',
    );
    const running = await docker.getContainer(name).inspect();
    expect([running.Config.Image, running.State.Running]).toEqual([images.v2.tag, true]);
    await expect.poll(version, { timeout: 30_000 }).toBe(images.v2.sha);
  }, 180_000);

  // After the old container stops, whatever Docker refuses must put it back, not leave the
  // environment down with the old one stopped as -previous.
  const dockerError = (message: string) =>
    Object.assign(new Error('(HTTP code 500) server error'), { statusCode: 500, json: { message } });

  /** This engine, except that inspecting the containers `failing` names fails. */
  function inspectFailing(failing: { name?: string; id?: string }): Docker {
    const broken = (c: Docker.Container) => {
      c.inspect = (async () => {
        throw dockerError('inspect refused by the test');
      }) as never;
      return c;
    };
    return new Proxy(docker, {
      get(target, prop) {
        if (prop === 'createContainer') {
          return async (spec: Docker.ContainerCreateOptions) => {
            const c = await target.createContainer(spec);
            return spec.name === failing.name ? broken(c) : c;
          };
        }
        if (prop === 'getContainer') {
          return (id: string) => {
            const c = target.getContainer(id);
            return id === failing.id ? broken(c) : c;
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  const gatedPreflight = async (image: { tag: string; sha: string }) => {
    const preflight = await switcher.startPreflight({
      containerName: name,
      image: image.tag,
      sha: image.sha,
    });
    await switcher.awaitPreflight(preflight, 30_000);
    return preflight;
  };

  const expectPutBack = async (before: Docker.ContainerInspectInfo) => {
    const running = await docker.getContainer(name).inspect();
    expect([running.Id, running.Config.Image, running.State.Running]).toEqual([
      before.Id,
      before.Config.Image,
      true,
    ]);
    expect(await docker.listContainers({ all: true, filters: { name: [`^/${name}-`] } })).toEqual([]);
    await expect.poll(version, { timeout: 30_000 }).toBe(images.v2.sha);
  };

  it('a final container Docker refuses to create: the previous one runs again under its name', async () => {
    const before = await docker.getContainer(name).inspect();
    const preflight = await gatedPreflight(images.v1);
    // Below Docker's minimum memory limit: the pre-flight passed, the final plan is refused.
    const refused = {
      ...preflight,
      plan: {
        ...preflight.plan!,
        final: {
          ...preflight.plan!.final,
          HostConfig: { ...preflight.plan!.final.HostConfig, Memory: 1024 },
        },
      },
    };
    const error = await switcher.switchOver(refused, 30_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolledBackError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^${images.v1.tag} could not be created \\(.*memory.*\\); the previous version runs again$`,
        'i',
      ),
    );
    await expectPutBack(before);
  }, 120_000);

  it('Docker failing to inspect the new container during the health wait: rolled back', async () => {
    const before = await docker.getContainer(name).inspect();
    const preflight = await gatedPreflight(images.v1);
    const runtime = createDockerRuntime({ docker: inspectFailing({ name }), logger });
    const error = await runtime.switchOver(preflight, 30_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolledBackError);
    expect((error as Error).message).toBe(
      `${images.v1.tag} could not be watched (inspect refused by the test); the previous version runs again`,
    );
    await expectPutBack(before);
  }, 120_000);

  it('Docker failing to inspect the new container during verify: rolled back', async () => {
    const before = await docker.getContainer(name).inspect();
    const switched = await switcher.switchOver(await gatedPreflight(images.v1), 30_000);
    expect((await docker.getContainer(name).inspect()).Config.Image).toBe(images.v1.tag);
    const runtime = createDockerRuntime({ docker: inspectFailing({ id: switched.nextId }), logger });
    const error = await runtime.verify(switched, 5_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolledBackError);
    expect((error as Error).message).toBe(
      `${images.v1.tag} could not be watched (inspect refused by the test); the previous version runs again`,
    );
    await expectPutBack(before);
  }, 120_000);
  it('converge after a switch killed before verify passed: the container it replaced runs again, the unverified one goes', async () => {
    const before = await docker.getContainer(name).inspect();
    const switched = await switcher.switchOver(await gatedPreflight(images.v1), 30_000);
    // Killed here: the new version runs under the app's name, never verified.
    expect((await docker.getContainer(name).inspect()).Id).toBe(switched.nextId);
    // Without knowing of the switch, a running app is left as it is; and only the very
    // container the switch replaced is put back (not a -previous of an earlier deploy).
    expect(await switcher.converge(name)).toBeUndefined();
    expect(await switcher.converge(name, { replacedId: switched.nextId })).toBeUndefined();
    expect(await switcher.converge(name, { replacedId: before.Id })).toBe(
      `removed the unverified ${name}; started the previous ${name} again`,
    );
    await expectPutBack(before);
  }, 120_000);

  it('the health gates ask the app itself: a version Docker checks only hourly passes them as soon as it answers', async () => {
    await switchTo({
      containerName: name,
      image: images.hourly.tag,
      sha: images.hourly.sha,
      healthDeadlineMs: 30_000,
      verifyMs: 1_000,
    });
    const running = await docker.getContainer(name).inspect();
    // Docker has not run its check yet: the gates passed on the app's own answer.
    expect([running.Config.Image, running.State.Health?.Status]).toEqual([images.hourly.tag, 'starting']);
    expect(await version()).toBe(images.hourly.sha);
  }, 120_000);

  it('verify sees a version fall sick by its own /healthz, before Docker checks, and rolls it back', async () => {
    const error = await switchTo({
      containerName: name,
      image: images.hourlyFlaky.tag,
      sha: images.hourlyFlaky.sha,
      healthDeadlineMs: 30_000,
      verifyMs: 30_000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolledBackError);
    expect((error as RolledBackError).logTail.join('\n')).toContain('flaky version up');
    await expect.poll(version, { timeout: 30_000 }).toBe(images.hourly.sha);
  }, 180_000);
});
