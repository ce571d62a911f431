import type Docker from 'dockerode';
import type { DeployNotifier } from '../../src/deployer/deploy-notifier.js';
import { createImageBuilder } from '../../src/deployer/image-builder.js';
import type { Runtime } from '../../src/deployer/runtime/runtime.js';
import { createSwarmRuntime } from '../../src/deployer/runtime/swarm-runtime.js';
import { createStepRunner } from '../../src/deployer/step-runner.js';
import { createDeploymentStore } from '../../src/store/deployments.js';
import { createLockStore } from '../../src/store/locks.js';
import { runMigrations } from '../../src/store/migrate.js';
import { createPool } from '../../src/store/pool.js';
import { createRedis } from '../../src/store/redis.js';
import { ensureBaseImage, removeTestResources } from './docker.js';
import { silentLogger as logger } from './logger.js';
import { startSeededGitHub } from './seeded-github.js';
import { createTestDatabase, redisUrl } from './services.js';
import { removeSwarmResources, TEST_LABEL } from './swarm.js';
import { createAppService, runningTasksOf } from './swarm-app-service.js';

const TOKEN = 'ghs_swarmDeployTestToken';

/** The seeded app's server: healthy until `/tmp/sick` exists (`sick: true`: from the start), then answering 500. */
export const serverJs = (says: string, sick = false) =>
  `const http = require('node:http');
const fs = require('node:fs');
const sick = () => ${sick ? 'true' : "fs.existsSync('/tmp/sick')"};
let told = false;
http.createServer((req, res) => {
  if (sick() && !told) { told = true; console.log('${says}: sick now'); }
  res.writeHead(sick() ? 500 : 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ commit: process.env.COMMIT_SHA }));
}).listen(8080, () => console.log('${says} up'));
process.on('SIGTERM', () => process.exit(0));
`;

type StepRunner = ReturnType<typeof createStepRunner>;

/**
 * The world the Swarm deploy tests share: the GitHub stand-in seeded with the app, a
 * database, and main's commit running as a 2-replica Swarm service with a Docker secret
 * (`<run>-secret`, "sesame") and short health checks, as a stack would run it; a step
 * runner over the Swarm runtime (update monitor 2 s) whose notifier records each step,
 * progress line and outcome.
 */
export async function startSwarmDeployWorld(docker: Docker, run: string) {
  const repository = run;
  const name = `${run}-app`;
  const secretName = `${run}-secret`;
  const baseImage = await ensureBaseImage(docker);
  const { gh, forge, seeded } = await startSeededGitHub(TOKEN);
  const db = await createTestDatabase('staging_lugh');
  await runMigrations({ databaseUrl: db.url, logger });
  const pool = createPool(db.url, 'swarm-deploy-test');
  const deployments = createDeploymentStore(pool);
  const redis = createRedis(redisUrl(), { connectionName: 'swarm-deploy-test' });
  const builder = createImageBuilder({ docker, logger, repository });
  const events: string[] = [];
  const outcomes = new Map<number, { status: string; message: string; logTail?: readonly string[] }>();
  const notifier: DeployNotifier = {
    step: async (id, _env, step) => {
      events.push(`${id} ${step}`);
    },
    progress: async (id) => {
      const running = (await deployments.steps(id)).find((s) => s.status === 'running');
      if (running) events.push(`${id} ${running.step}: ${running.detail}`);
    },
    finished: async (id, _env, outcome) => {
      outcomes.set(id, outcome);
      events.push(`${id} ${outcome.status}`);
    },
  };
  const runtime = () => createSwarmRuntime({ docker, logger, monitorMs: 2_000 });
  const runnerWith = (rt: Runtime): StepRunner =>
    createStepRunner({
      env: 'staging',
      logger,
      deployments,
      locks: createLockStore(pool),
      source: forge,
      builder,
      runtime: rt,
      notifier,
      containerName: () => name,
      backup: 'staging is not backed up before a deploy',
      buildArgs: { BASE_IMAGE: baseImage },
      healthDeadlineMs: 60_000,
      verifyMs: 6_000,
      migrateTimeoutMs: 60_000,
    });
  const runner = runnerWith(runtime());
  let v1Tag: string;
  try {
    v1Tag = (
      await builder.ensure({
        env: 'staging',
        sha: seeded.mainSha,
        tarball: () => forge.tarball(seeded.mainSha),
        buildArgs: { BASE_IMAGE: baseImage },
      })
    ).tag;
    const secret = await docker.createSecret({
      Name: secretName,
      Labels: { [TEST_LABEL]: run },
      Data: Buffer.from('sesame').toString('base64'),
    });
    await createAppService(docker, {
      run,
      name,
      image: v1Tag,
      replicas: 2,
      env: ['APP_ENV=staging'],
      secret: { id: (secret as unknown as { id: string }).id, name: secretName },
      retries: 2,
      startPeriodS: 2,
    });
  } catch (error) {
    // A world half made is removed all the same: the suite's afterAll has nothing to close.
    await removeSwarmResources(docker, run).catch(() => {});
    await removeTestResources(docker, repository).catch(() => {});
    await redis.quit().catch(() => {});
    await pool.end().catch(() => {});
    await db.drop().catch(() => {});
    await gh.close().catch(() => {});
    throw error;
  }

  const service = async () => (await docker.getService(name).inspect()) as Docker.Service;
  return {
    repository,
    name,
    secretName,
    gh,
    forge,
    seeded,
    pool,
    deployments,
    redis,
    v1Tag,
    events,
    outcomes,
    runtime,
    runner,
    runnerWith,
    service,
    specOf: async () => ((await service()).Spec!.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec!,
    /** The service's tasks that should run, each running. */
    runningTasks: () => runningTasksOf(docker, name),
    /** A deploy of `ref`; with `github`, as a GitHub Deployment of that id asked for it (lugh reports its statuses there). */
    deploy: async (ref: string, github?: number) => {
      const d = await deployments.create({ env: 'staging', ref, trigger: 'manual', requestedBy: 1 });
      if (github)
        await pool.query('UPDATE deployments SET github_deployment_id = $2 WHERE id = $1', [d.id, github]);
      return { id: d.id, outcome: await runner.run(d.id) };
    },
    /** A GitHub Deployment's statuses, oldest first, as the GitHub stand-in holds them. */
    statusesOf: async (github: number) => {
      const res = await fetch(
        `${gh.apiUrl}/repos/${gh.repo.owner}/${gh.repo.name}/deployments/${github}/statuses`,
        { headers: { authorization: `token ${TOKEN}` } },
      );
      const list = (await res.json()) as Array<{ state: string; description: string; id: number }>;
      return list.sort((a, b) => a.id - b.id).map((x) => ({ state: x.state, description: x.description }));
    },
    async close() {
      await removeSwarmResources(docker, run);
      await removeTestResources(docker, repository);
      await redis.quit();
      await pool.end();
      await db.drop();
      await gh.close();
    },
  };
}

export type SwarmDeployWorld = Awaited<ReturnType<typeof startSwarmDeployWorld>>;
