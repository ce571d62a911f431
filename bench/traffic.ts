// Requests to the app during a switch: a client asks the app's public port every 50 ms
// while the deploy engine deploys the seeded app (production, real Docker) and then rolls
// it back (/rollback: the previous release again, its image kept), and counts the requests
// that failed (refused, reset, timed out, or not 200). kamal-proxy drops none; lugh's goal
// is the same. Twice: with HAProxy in front (DEPLOY_PROXY_ADMIN_URL; the figure the goal is
// for), and with the app container publishing the port itself (no proxy: stop-first).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { createHaproxyProxy, type TrafficProxy } from '../src/deployer/proxy/haproxy-proxy.js';
import { upstreamOf } from '../src/deployer/proxy/upstream.js';
import { createDockerRuntime } from '../src/deployer/runtime/docker-runtime.js';
import { createStepRunner } from '../src/deployer/step-runner.js';
import { freePort } from '../src/sandbox/free-port.js';
import { createLockStore } from '../src/store/locks.js';
import { createDockerClient, dockerAvailable, removeTestResources } from '../tests/helpers/docker.js';
import { haproxyInstalled, pollEvery, type RunningHaproxy, startHaproxy } from '../tests/helpers/haproxy.js';
import { silentLogger as logger } from '../tests/helpers/logger.js';
import { record } from './figures.js';
import { seededApp } from './seeded-app.js';

const KAMAL_PROXY = { label: 'kamal-proxy', value: 0 };

export async function benchTraffic(databaseUrl: string): Promise<void> {
  const docker = createDockerClient();
  if (!(await dockerAvailable(docker))) {
    console.log('traffic figures skipped: no Docker engine answers');
    return;
  }
  if (haproxyInstalled()) await switchTraffic(docker, databaseUrl, true);
  else console.log('traffic through a proxy skipped: haproxy is not installed (apt-get install -y haproxy)');
  await switchTraffic(docker, databaseUrl, false);
}

/** One deploy and one /rollback of the seeded app, its port asked every 50 ms throughout. */
async function switchTraffic(docker: Docker, databaseUrl: string, withProxy: boolean): Promise<void> {
  const { run, name, baseImage, gh, forge, seeded, db, pool, deployments, builder, quiet } = await seededApp(
    docker,
    databaseUrl,
    'traffic',
    'ghs_benchTrafficToken',
  );
  const port = await freePort();
  let haproxy: RunningHaproxy | undefined;
  // Made at each call: HAProxy starts after the runner is built.
  const real = () => createHaproxyProxy({ adminUrl: haproxy!.adminUrl });
  const proxy: TrafficProxy = {
    sendTo: (backend, dial, server) => real().sendTo(backend, dial, server),
    drained: async (backend, dial, withinMs, server) =>
      (await real().drained?.(backend, dial, withinMs, server)) ?? false,
  };
  const runner = createStepRunner({
    env: 'production',
    logger,
    deployments,
    locks: createLockStore(pool),
    source: forge,
    builder,
    runtime: createDockerRuntime({ docker, logger, proxy: withProxy ? proxy : undefined }),
    notifier: quiet,
    containerName: () => name,
    // The figure is about the switch: no backup (it would only lengthen the run).
    backup: async () => mkdtempSync(path.join(tmpdir(), 'lugh-bench-traffic-')),
    buildArgs: { BASE_IMAGE: baseImage },
    healthDeadlineMs: 60_000,
    verifyMs: 3_000,
  });
  try {
    const ensure = (sha: string) =>
      builder.ensure({
        env: 'production',
        sha,
        tarball: () => forge.tarball(sha),
        buildArgs: { BASE_IMAGE: baseImage },
      });
    // Both images built before measuring: the switch is what is measured.
    const v1 = await ensure(seeded.mainSha);
    await ensure(seeded.developSha);
    // Behind the proxy the app publishes no port: the proxy owns the public one.
    const app = await docker.createContainer({
      name,
      Image: v1.tag,
      Env: ['APP_ENV=production'],
      Labels: { 'lugh.test': run },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        RestartPolicy: { Name: 'unless-stopped' },
        PortBindings: withProxy ? {} : { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
      },
    });
    await app.start();
    if (withProxy) haproxy = await startHaproxy(name, upstreamOf(await app.inspect())!);
    const url = haproxy ? `${haproxy.url}/version` : `http://127.0.0.1:${port}/version`;
    await waitServing(url);

    const during = async (sha: string, trigger: 'manual' | 'rollback') => {
      const d = await deployments.create({ env: 'production', ref: sha, sha, trigger });
      const client = pollEvery(url);
      const outcome = await runner.run(d.id);
      const counts = await client.stop();
      if (outcome !== 'succeeded') throw new Error(`traffic bench: deploy #${d.id} ${outcome}`);
      return counts;
    };
    const deploy = await during(seeded.developSha, 'manual');
    const rollback = await during(seeded.mainSha, 'rollback');

    console.log(
      `requests to the app during a switch (seeded app, production, real Docker; one every 50 ms to its public port, ${withProxy ? 'owned by HAProxy (DEPLOY_PROXY_ADMIN_URL)' : 'published by the app container (no proxy)'})`,
    );
    // The goal is for lugh with the proxy; without it the switch is stop-first, shown for comparison.
    const suffix = withProxy ? '' : '.no-proxy';
    const how = withProxy ? 'through HAProxy' : 'no proxy, stop-first';
    for (const [what, counts] of [
      ['deploy', deploy],
      ['rollback', rollback],
    ] as const) {
      record({
        key: `switch.failed.${what}${suffix}`,
        label: `failed requests during a ${what === 'deploy' ? 'deploy' : '/rollback'} (${withProxy ? 'proxy' : 'no proxy'})`,
        value: counts.failed,
        unit: 'requests',
        ...(withProxy ? { reference: KAMAL_PROXY, goal: { max: 0 } } : {}),
        note: `of ${counts.sent}; ${how}${counts.why.length ? ` (${counts.why.join(', ')})` : ''}`,
      });
    }
  } finally {
    await haproxy?.close();
    await removeTestResources(docker, run);
    for (const c of await docker.listContainers({ all: true, filters: { name: [`^/${name}`] } }))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    await pool.end();
    await db.drop();
    await gh.close();
  }
}

async function waitServing(url: string, deadlineMs = 60_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} never answered 200`);
}
