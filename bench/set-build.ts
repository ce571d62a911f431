// Figures for a service set's build step (lugh.yml) on the real Docker engine: three
// services from two builds (the worker runs the app's image), beside one service built the
// same way as the reference, and a commit with the same tree again (nothing to build).
import type { DeployNotifier } from '../src/deployer/deploy-notifier.js';
import { createImageBuilder } from '../src/deployer/image-builder.js';
import { createDockerRuntime } from '../src/deployer/runtime/docker-runtime.js';
import { createStepRunner } from '../src/deployer/step-runner.js';
import { buildStep } from '../src/deployer/steps/build.js';
import { resolveStep } from '../src/deployer/steps/resolve.js';
import { createDeploymentStore } from '../src/store/deployments.js';
import { createLockStore } from '../src/store/locks.js';
import { runMigrations } from '../src/store/migrate.js';
import { createPool } from '../src/store/pool.js';
import {
  createDockerClient,
  dockerAvailable,
  ensureBaseImage,
  removeTestResources,
  uniqueName,
} from '../tests/helpers/docker.js';
import { silentLogger as logger } from '../tests/helpers/logger.js';
import { startSeededGitHub } from '../tests/helpers/seeded-github.js';
import { record } from './figures.js';
import { createBenchDatabase } from './promote.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_SET_BUILDS ?? 3);
const seconds = (ms: number) => ms / 1000;

const SET = `services:
  worker:
    image_of: app
    command: ["node", "-e", "setInterval(() => {}, 1000)"]
  app:
    port: 8080
  web:
    build: { dockerfile: web/Dockerfile, context: web }
    port: 8081
`;
const WEB_DOCKERFILE = `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
WORKDIR /site
COPY . .
CMD ["node", "-e", "require('node:http').createServer((q, s) => s.end('web')).listen(8081)"]
`;

/** resolve and build of each commit, by the in-process step runner; the build step's seconds. */
export async function benchSetBuilds(databaseUrl: string): Promise<void> {
  const docker = createDockerClient();
  if (!(await dockerAvailable(docker))) {
    console.log('set-build: no Docker engine, skipped');
    return;
  }
  const run = uniqueName('lugh-bench-set');
  const name = `${run}-app`;
  const baseImage = await ensureBaseImage(docker);
  const { gh, forge } = await startSeededGitHub('ghs_benchSetBuildToken');
  const db = await createBenchDatabase(databaseUrl, 'staging_lugh');
  await runMigrations({ databaseUrl: db.url, logger });
  const pool = createPool(db.url, 'bench-set-build');
  const deployments = createDeploymentStore(pool);
  const quiet: DeployNotifier = { step: async () => {}, finished: async () => {} };
  const runner = createStepRunner({
    env: 'staging',
    logger,
    deployments,
    locks: createLockStore(pool),
    source: forge,
    builder: createImageBuilder({ docker, logger, repository: run }),
    runtime: createDockerRuntime({ docker, logger }),
    notifier: quiet,
    containerName: () => name,
    backup: 'not backed up',
    buildArgs: { BASE_IMAGE: baseImage },
    steps: [resolveStep, buildStep],
  });
  /** The build step's seconds for the branch's head, and what it says it did. */
  const buildOf = async (branch: string) => {
    const d = await deployments.create({ env: 'staging', ref: branch, trigger: 'manual' });
    const outcome = await runner.run(d.id);
    if (outcome !== 'succeeded') throw new Error(`bench set build #${d.id} ${outcome}`);
    const { rows } = await pool.query(
      `SELECT extract(epoch FROM finished_at - started_at) * 1000 AS ms, detail FROM deployment_steps
        WHERE deployment_id = $1 AND step = 'build'`,
      [d.id],
    );
    return { ms: Number(rows[0].ms), detail: String(rows[0].detail) };
  };
  try {
    await (
      await docker.createContainer({
        name,
        Image: baseImage,
        Cmd: ['node', '-e', 'setInterval(() => {}, 1000)'],
        Labels: { 'lugh.test': run },
      })
    ).start();
    // The set lives on develop, one service on main; each run changes what both builds copy.
    await gh.pushCommit('develop', {
      message: 'Declare a worker and a web front',
      files: { 'lugh.yml': SET, 'web/Dockerfile': WEB_DOCKERFILE },
    });
    const one: number[] = [];
    const set: number[] = [];
    const same: number[] = [];
    let details = '';
    for (let i = 0; i < RUNS; i++) {
      const change = `// run ${i} ${run}\n`;
      await gh.pushCommit('main', { message: `Change ${i}`, files: { 'server.js': change } });
      one.push((await buildOf('main')).ms);
      await gh.pushCommit('develop', {
        message: `Change ${i}`,
        files: { 'server.js': change, 'web/index.html': `<p>${i}</p>\n` },
      });
      const built = await buildOf('develop');
      set.push(built.ms);
      await gh.pushCommit('develop', {
        message: `Same tree ${i}`,
        files: { 'web/index.html': `<p>${i}</p>\n` },
      });
      const again = await buildOf('develop');
      same.push(again.ms);
      details = `${built.detail} | then ${again.detail}`;
    }
    console.log(`set builds (${RUNS} runs; the last: ${details})`);
    const reference = {
      label: 'build step of one service, a changed tree, median',
      value: seconds(median(one)),
    };
    record({
      key: 'set-build.one-service',
      label: reference.label,
      value: reference.value,
      unit: 's',
    });
    record({
      key: 'set-build.three-services',
      label: 'build step of 3 services from 2 builds, median',
      value: seconds(median(set)),
      unit: 's',
      reference,
      note: `max ${seconds(Math.max(...set)).toFixed(2)} s; the worker shares the app's image`,
    });
    record({
      key: 'set-build.same-tree',
      label: 'build step of 3 services, same tree again',
      value: seconds(median(same)),
      unit: 's',
      reference,
      note: 'nothing built: each build found by its tree',
    });
  } finally {
    await removeTestResources(docker, run);
    await pool.end();
    await db.drop();
    await gh.close();
  }
}
