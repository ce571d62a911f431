// The Swarm runtime's plain app deploy and /rollback (BENCH_ONLY=swarm), measured as the
// Docker runtime's are in bench/deploy.ts (whole deploy, median; /rollback, tap → old
// release verified) and bench/traffic.ts (failed requests during each): the seeded app, as
// a Swarm service of BENCH_SWARM_REPLICAS tasks (2) on an overlay network, deployed by the
// in-process runner over the Swarm runtime (production, backup before, verify window 3 s,
// the service's own update monitor: Swarm's 5 s), alternating two commits, then rolled back
// to the release before. Its /healthz is asked every 50 ms, each time of a task Swarm's DNS
// names for the service, by the poller bench/swarm.ts uses for the self-deploy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { backupDatabase } from '../src/deployer/backup.js';
import { createSwarmRuntime } from '../src/deployer/runtime/swarm-runtime.js';
import { createStepRunner } from '../src/deployer/step-runner.js';
import { createLockStore } from '../src/store/locks.js';
import { removeTestResources } from '../tests/helpers/docker.js';
import { silentLogger as logger } from '../tests/helpers/logger.js';
import { removeSwarmResources, TEST_LABEL } from '../tests/helpers/swarm.js';
import { createAppService } from '../tests/helpers/swarm-app-service.js';
import { record } from './figures.js';
import { seededApp } from './seeded-app.js';
import { median } from './stats.js';
import { startHealthPoller } from './swarm-healthz.js';

const DEPLOYS = Number(process.env.BENCH_DEPLOYS ?? 4);
const REPLICAS = Number(process.env.BENCH_SWARM_REPLICAS ?? 2);
const seconds = (ms: number) => ms / 1000;
/** The Docker runtime's references (bench/deploy.ts, bench/traffic.ts), for the same figures. */
const KAMAL_PROXY_POLL = { label: 'kamal-proxy health poll interval', value: 1 } as const;
const KAMAL_PROXY = { label: 'kamal-proxy', value: 0 } as const;

export async function benchSwarmApp(docker: Docker, databaseUrl: string): Promise<void> {
  const { run, name, baseImage, gh, forge, seeded, db, pool, deployments, builder, quiet } = await seededApp(
    docker,
    databaseUrl,
    'swarmapp',
    'ghs_benchSwarmAppToken',
  );
  const backups = mkdtempSync(path.join(tmpdir(), 'lugh-bench-swarm-backups-'));
  const runner = createStepRunner({
    env: 'production',
    logger,
    deployments,
    locks: createLockStore(pool),
    source: forge,
    builder,
    runtime: createSwarmRuntime({ docker, logger }),
    notifier: quiet,
    containerName: () => name,
    backup: async (sha) =>
      (await backupDatabase({ databaseUrl: db.url, dir: backups, keep: 3 }, { env: 'production', sha })).file,
    buildArgs: { BASE_IMAGE: baseImage },
    healthDeadlineMs: 120_000,
    verifyMs: 3_000,
  });
  let poller: Awaited<ReturnType<typeof startHealthPoller>> | undefined;
  try {
    await docker.createNetwork({
      Name: run,
      Driver: 'overlay',
      Attachable: true,
      Labels: { [TEST_LABEL]: run },
    });
    const v1 = await builder.ensure({
      env: 'production',
      sha: seeded.mainSha,
      tarball: () => forge.tarball(seeded.mainSha),
      buildArgs: { BASE_IMAGE: baseImage },
    });
    await createAppService(docker, {
      run,
      name,
      image: v1.tag,
      replicas: REPLICAS,
      env: ['APP_ENV=production'],
      network: run,
      // Patient with a loaded machine (a check that passes ends the start period at once).
      retries: 3,
      startPeriodS: 20,
    });
    poller = await startHealthPoller(docker, { name, network: run, run, port: 8080 });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const watched = poller;

    /** One deployment by the runner: how long, and the /healthz answers meanwhile. */
    const timed = async (sha: string, trigger: 'manual' | 'rollback') => {
      const d = await deployments.create({ env: 'production', ref: sha, sha, trigger });
      const from = Date.now();
      const outcome = await runner.run(d.id);
      const to = Date.now();
      if (outcome !== 'succeeded')
        throw new Error(`swarm bench: deploy #${d.id} ${outcome}: ${(await deployments.get(d.id))?.error}`);
      return { id: d.id, ms: to - from, healthz: await watched.count(from, to) };
    };
    const deploys: Awaited<ReturnType<typeof timed>>[] = [];
    for (let i = 0; i < DEPLOYS; i++)
      deploys.push(await timed(i % 2 === 0 ? seeded.developSha : seeded.mainSha, 'manual'));
    // A rollback from chat: the release before the last deploy, its image still there.
    const before = DEPLOYS % 2 === 0 ? seeded.developSha : seeded.mainSha;
    const back = await timed(before, 'rollback');
    const { rows: rollbackSteps } = await pool.query(
      `SELECT step, extract(epoch FROM finished_at - started_at) AS s FROM deployment_steps
       WHERE deployment_id = $1 ORDER BY started_at`,
      [back.id],
    );
    const rollbackBreakdown = rollbackSteps
      .filter((r) => Number(r.s) >= 0.05)
      .map((r) => `${r.step} ${Number(r.s).toFixed(2)}`)
      .join(', ');

    const totals = deploys.map((d) => d.ms);
    const deployHealthz = deploys.reduce(
      (sum, d) => ({ failed: sum.failed + d.healthz.failed, all: sum.all + d.healthz.all }),
      { failed: 0, all: 0 },
    );
    console.log(
      `deploys of the seeded app on Swarm (production, ${REPLICAS} replicas, start-first, Swarm's 5 s monitor per task; ${DEPLOYS} deploys, the first builds, the others reuse; verify window 3 s; /healthz every 50 ms of a task Swarm's DNS names)`,
    );
    record({
      key: 'swarm.app.whole',
      label: 'Swarm: whole deploy, median',
      value: seconds(median(totals)),
      unit: 's',
      note: `max ${seconds(Math.max(...totals)).toFixed(2)} s; Docker's: deploy.whole`,
    });
    record({
      key: 'swarm.app.rollback',
      label: 'Swarm: /rollback, tap → old release verified',
      value: seconds(back.ms),
      unit: 's',
      reference: KAMAL_PROXY_POLL,
      goal: { max: 5 },
      note: `image kept; from running the deployment row; steps (s): ${rollbackBreakdown}; Docker's: deploy.rollback`,
    });
    record({
      key: 'swarm.switch.failed.deploy',
      label: 'Swarm: failed requests during a deploy',
      value: deployHealthz.failed,
      unit: 'requests',
      reference: KAMAL_PROXY,
      goal: { max: 0 },
      note: `of ${deployHealthz.all} over the ${DEPLOYS} deploys; Docker's: switch.failed.deploy`,
    });
    record({
      key: 'swarm.switch.failed.rollback',
      label: 'Swarm: failed requests during a /rollback',
      value: back.healthz.failed,
      unit: 'requests',
      reference: KAMAL_PROXY,
      goal: { max: 0 },
      note: `of ${back.healthz.all}; Docker's: switch.failed.rollback`,
    });
  } finally {
    await poller?.remove();
    await removeSwarmResources(docker, run);
    await removeTestResources(docker, run);
    await pool.end();
    await db.drop();
    await gh.close();
    rmSync(backups, { recursive: true, force: true });
  }
}
