// The Swarm runtime's figures (BENCH_ONLY=swarm), beside the Docker runtime's of the deploy,
// traffic and self-deploy sections: first the seeded app's plain deploy and /rollback
// (bench/swarm-app.ts), then lugh's own image as the staging app's Swarm service
// (tests/helpers/lugh-in-swarm.ts) deploys itself once, with an admin writing to it every
// PROBE_MS and /healthz asked every 50 ms, then deploys a version whose health check never
// passes, which Swarm rolls back. /healthz is asked from a container on the service's
// overlay network, each time of a task Swarm's DNS names for the service (`tasks.<service>`:
// the tasks it calls running, which with a health check means healthy), as a client that
// follows Swarm's service discovery. Not through the routing mesh's published port nor the
// service's virtual IP: on this machine both answer nothing (EHOSTUNREACH; the engine's
// ingress and load-balancer rules are not hooked into the host's nftables).
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { createDockerClient, dockerAvailable, REPO_ROOT } from '../tests/helpers/docker.js';
import { SWARM_SELF_TOKEN, startLughInSwarm } from '../tests/helpers/lugh-in-swarm.js';
import { ensureSwarm } from '../tests/helpers/swarm.js';
import { record } from './figures.js';
import { probeAnswers, sendProbes } from './probes.js';
import { createBenchDatabase } from './promote.js';
import { benchSwarmApp } from './swarm-app.js';
import { startHealthPoller } from './swarm-healthz.js';

const PROBE_MS = Number(process.env.BENCH_PROBE_MS ?? 250);
const seconds = (ms: number) => ms / 1000;

const stepTimes = async (sql: pg.Client, id: number) =>
  new Map(
    (
      await sql.query<{ step: string; started_at: Date; finished_at: Date | null }>(
        'SELECT step, started_at, finished_at FROM deployment_steps WHERE deployment_id = $1',
        [id],
      )
    ).rows.map((r) => [r.step, r]),
  );

export async function benchSwarm(databaseUrl: string, redisUrl: string): Promise<void> {
  const docker = createDockerClient();
  if (!(await dockerAvailable(docker)) || !(await ensureSwarm(docker).catch(() => false))) {
    console.log('swarm figures skipped: no Docker engine that is (or can become) a swarm manager');
    return;
  }
  // A plain app deploy and /rollback first: the Docker runtime's deploy and traffic figures.
  await benchSwarmApp(docker, databaseUrl);
  const db = await createBenchDatabase(databaseUrl, 'staging_lugh');
  const lugh = await startLughInSwarm(docker, {
    databaseUrl: db.url,
    redisUrl,
    adminId: 1001,
    healthStartSeconds: 20,
  });
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  try {
    await lugh.ask('/whoami', 120_000);
    const poller = await startHealthPoller(docker, {
      name: lugh.name,
      network: lugh.run,
      run: lugh.run,
      port: 3001,
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    // 1. lugh deploys itself, the admin writing every PROBE_MS.
    await lugh.gh.pushCommit('develop', {
      message: 'Bench change',
      files: { 'docs/bench-marker.txt': `${Date.now()}\n` },
    });
    const askedAt = Date.now();
    const queued = await lugh.ask('/deploy staging');
    const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
    let done = false;
    const final = lugh.finalOf(id, 900_000).then((m) => {
      done = true;
      return m;
    });
    const probes = await sendProbes(lugh.tg, SWARM_SELF_TOKEN, 90_000, PROBE_MS, () => done);
    const result = await final;
    const endedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 15_000)); // stragglers
    const { lost, twice, longestWait } = probeAnswers(lugh.tg, SWARM_SELF_TOKEN, probes);
    const steps = await stepTimes(sql, id);
    const switchFrom = steps.get('start')?.started_at.getTime() ?? askedAt;
    const switchTo = steps.get('verify')?.finished_at?.getTime() ?? endedAt;
    const health = await poller.count(switchFrom, switchTo);
    console.log('self-deploy on Swarm (staging deploying its own service, start-first, no runner container)');
    console.log(`  result: ${(result.text ?? '').split('\n')[0]}`);
    record({
      key: 'swarm.deploy.whole',
      label: 'Swarm: whole self-deploy, /deploy → final message',
      value: seconds(endedAt - askedAt),
      unit: 's',
      note: `start → switch done ${seconds((steps.get('switch')?.finished_at?.getTime() ?? endedAt) - switchFrom).toFixed(1)} s; Docker's: deploy.whole, selfDeploy.*`,
    });
    record({
      key: 'swarm.selfDeploy.gap',
      label: 'Swarm: self-deploy update gap (longest wait of an update)',
      value: seconds(longestWait),
      unit: 's',
      note: `of ${probes.length} updates sent every ${PROBE_MS} ms while lugh replaced its own task`,
    });
    record({
      key: 'swarm.selfDeploy.lost',
      label: 'Swarm: self-deploy, updates lost',
      value: lost,
      unit: 'updates',
      goal: { max: 0 },
      note: `of ${probes.length}`,
    });
    record({
      key: 'swarm.selfDeploy.twice',
      label: 'Swarm: self-deploy, updates handled twice',
      value: twice,
      unit: 'updates',
      goal: { max: 0 },
      note: `of ${probes.length}`,
    });
    record({
      key: 'swarm.switch.failedHealthz',
      label: 'Swarm: failed /healthz during the switch (every 50 ms, a task Swarm DNS names)',
      value: health.failed,
      unit: 'requests',
      goal: { max: 0 },
      note: `of ${health.all} asked from the update's start to verify's end`,
    });

    // 2. A version whose health check never passes (its bot token mangled): Swarm rolls it back.
    const file = 'src/config/core.ts';
    const config = execFileSync('git', ['-C', REPO_ROOT, 'show', `HEAD:${file}`], { encoding: 'utf8' });
    const check =
      ".refine(isBotToken, 'is not a bot token (expected <bot id>:<secret> as @BotFather prints it)')";
    await lugh.gh.pushCommit('develop', {
      message: 'Mangle the token',
      files: { [file]: config.replace(check, `${check}.transform((token) => \`\${token}x\`)`) },
    });
    const sick = Number((await lugh.ask('/deploy staging')).text?.match(/Deploy #(\d+)/)?.[1]);
    const back = await lugh.finalOf(sick, 900_000);
    const sickSteps = await stepTimes(sql, sick);
    const { rows } = await sql.query<{ finished_at: Date }>(
      'SELECT finished_at FROM deployments WHERE id = $1',
      [sick],
    );
    const issued = sickSteps.get('start')?.finished_at?.getTime() ?? Number.NaN;
    const rolledBack = await poller.count(issued, rows[0]?.finished_at.getTime() ?? Date.now());
    console.log(`  sick version: ${(back.text ?? '').split('\n')[0]}`);
    record({
      key: 'swarm.autoRollback',
      label: 'Swarm: automatic rollback, update issued → old version back, told',
      value: seconds((rows[0]?.finished_at.getTime() ?? Number.NaN) - issued),
      unit: 's',
      note: `health check every 1 s, 3 retries, 20 s start period (the new task is unhealthy only after it); ${rolledBack.failed} of ${rolledBack.all} /healthz failed meanwhile; Docker's: deploy.autoRollback`,
    });
  } finally {
    await sql.end();
    await lugh.close();
    await db.drop();
  }
}
