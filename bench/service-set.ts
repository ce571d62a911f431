// A service set (lugh.yml: app ×2, web, worker) deployed on real Docker through the real
// step runner and Postgres (tests/helpers/set-deploy.ts): the whole deploy's time while a
// client asks the app through HAProxy every 50 ms (its failed requests during the roll of
// app ×2: the issue's goal is 0), and the time the set takes to roll back when its last
// service (the worker) fails its health gate after the others switched.
import { randomBytes } from 'node:crypto';
import type { DeployNotifier } from '../src/deployer/deploy-notifier.js';
import { upstreamOf } from '../src/deployer/proxy/upstream.js';
import { createDeploymentStore } from '../src/store/deployments.js';
import { runMigrations } from '../src/store/migrate.js';
import { createPool } from '../src/store/pool.js';
import {
  createDockerClient,
  dockerAvailable,
  ensureBaseImage,
  removeTestResources,
  uniqueName,
} from '../tests/helpers/docker.js';
import { haproxyInstalled, pollEvery, type RunningHaproxy, startHaproxy } from '../tests/helpers/haproxy.js';
import { silentLogger as logger } from '../tests/helpers/logger.js';
import { buildSetImages, SET, type SetDeployInput, setDeployRunner } from '../tests/helpers/set-deploy.js';
import { record } from './figures.js';
import { createBenchDatabase } from './promote.js';

export async function benchServiceSet(databaseUrl: string): Promise<void> {
  const docker = createDockerClient();
  if (!(await dockerAvailable(docker))) {
    console.log('service set figures skipped: no Docker engine answers');
    return;
  }
  if (!haproxyInstalled()) {
    console.log('service set figures skipped: haproxy is not installed (apt-get install -y haproxy)');
    return;
  }
  const run = uniqueName('lugh-bench-set');
  const base = `${run}-app`;
  const baseImage = await ensureBaseImage(docker);
  const db = await createBenchDatabase(databaseUrl, 'staging_lugh');
  await runMigrations({ databaseUrl: db.url, logger });
  const pool = createPool(db.url, 'bench-service-set');
  const deployments = createDeploymentStore(pool);
  const images = { good: `${run}:good`, bad: `${run}:bad-worker` };
  await buildSetImages(docker, baseImage, images);
  const network = await docker.createNetwork({ Name: `${run}-net`, Labels: { 'lugh.test': run } });
  let proxy: RunningHaproxy | undefined;
  let workerFailedAt: number | undefined;
  const notifier: DeployNotifier = {
    step: async () => {},
    finished: async () => {},
    services: async (id) => {
      const worker = (await deployments.serviceProgress(id)).find((p) => p.service === 'worker');
      if (worker?.state === 'failed') workerFailedAt ??= performance.now();
    },
  };
  const deploy = async (image: string) => {
    const sha = randomBytes(20).toString('hex');
    const input: SetDeployInput = {
      set: SET,
      sha,
      images: { app: images.good, web: images.good, worker: image },
    };
    const d = await deployments.create({ env: 'staging', ref: 'develop', trigger: 'manual', requestedBy: 1 });
    const runner = setDeployRunner({
      pool,
      docker,
      containerName: base,
      input,
      proxyAdminUrl: proxy!.adminUrl,
      notifier,
      healthDeadlineMs: 10_000,
      verifyMs: 2_000,
    });
    return runner.run(d.id);
  };
  try {
    const app = await docker.createContainer({
      name: base,
      Image: images.good,
      Env: ['APP_ENV=staging', `GIT_SHA=${'0'.repeat(40)}`],
      Labels: { 'lugh.test': run },
      HostConfig: { NetworkMode: network.id, RestartPolicy: { Name: 'unless-stopped' } },
    });
    await app.start();
    const dial = upstreamOf(await app.inspect())!;
    proxy = await startHaproxy(base, dial, { [base]: { app2: dial }, [`${base}-web`]: { app: dial } });
    // The set's first deploy creates app's second replica, web and worker, while app's one
    // container is replaced: its requests too must all be served.
    const first = pollEvery(`${proxy.url}/`);
    if ((await deploy(images.good)) !== 'succeeded') throw new Error('the set’s first deploy failed');
    const firstPolled = await first.stop();
    record({
      key: 'set.first.failed',
      label: 'failed requests while app 1 → ×2 (the set’s first deploy)',
      value: firstPolled.failed,
      unit: 'requests',
      goal: { max: 0 },
      note: `of ${firstPolled.sent}, one every 50 ms through HAProxy${firstPolled.why.length ? `; ${firstPolled.why.join(', ')}` : ''}`,
    });

    const client = pollEvery(`${proxy.url}/`);
    const began = performance.now();
    const outcome = await deploy(images.good);
    const took = performance.now() - began;
    const polled = await client.stop();
    if (outcome !== 'succeeded') throw new Error(`the set deploy ended ${outcome}`);
    record({
      key: 'set.deploy',
      label: 'set deploy (app ×2, web, worker)',
      value: took / 1000,
      unit: 's',
      note: '4 containers one at a time, each pre-flight + gate + switch; verify 2 s',
    });
    record({
      key: 'set.roll.failed',
      label: 'failed requests while app ×2 rolls',
      value: polled.failed,
      unit: 'requests',
      goal: { max: 0 },
      note: `of ${polled.sent}, one every 50 ms through HAProxy${polled.why.length ? `; ${polled.why.join(', ')}` : ''}`,
    });

    workerFailedAt = undefined;
    const rolled = await deploy(images.bad);
    const ended = performance.now();
    if (rolled !== 'rolled_back' || workerFailedAt === undefined)
      throw new Error(`the set with a sick worker ended ${rolled}`);
    record({
      key: 'set.rollback',
      label: 'set rollback (app ×2, web back)',
      value: (ended - workerFailedAt) / 1000,
      unit: 's',
      note: 'from the worker failing its gate to the deploy ended, 3 containers put back',
    });
  } finally {
    await proxy?.close();
    for (const c of await docker.listContainers({ all: true, filters: { name: [`^/${base}`] } })) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    }
    await removeTestResources(docker, run);
    await network.remove().catch(() => {});
    await pool.end();
    await db.drop();
  }
}
