// Figures for the deploy engine on the real Docker engine: how long each step takes, how
// long a rollback takes, and what a self-deploy costs the bot's users (the update gap, and
// updates lost or handled twice: both must be 0).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { backupDatabase } from '../src/deployer/backup.js';
import { DEPLOY_STEPS } from '../src/deployer/deploy-notifier.js';
import { createDockerRuntime } from '../src/deployer/runtime/docker-runtime.js';
import { createStepRunner } from '../src/deployer/step-runner.js';
import { createLockStore } from '../src/store/locks.js';
import { createDockerClient, dockerAvailable, removeTestResources } from '../tests/helpers/docker.js';
import { silentLogger as logger } from '../tests/helpers/logger.js';
import { SELF_TOKEN, startLughInDocker } from '../tests/helpers/lugh-in-docker.js';
import { record } from './figures.js';
import { probeAnswers, sendProbes } from './probes.js';
import { createBenchDatabase } from './promote.js';
import { seededApp } from './seeded-app.js';
import { median } from './stats.js';

const DEPLOYS = Number(process.env.BENCH_DEPLOYS ?? 4);
const PROBE_MS = Number(process.env.BENCH_PROBE_MS ?? 250);
/** How often the bench itself asks the sick version's /healthz (the issue's 50 ms). */
const WATCH_MS = 50;
const seconds = (ms: number) => ms / 1000;
/** kamal-proxy's health poll interval, the issue's reference for a rollback. */
const KAMAL_PROXY_POLL = { label: 'kamal-proxy health poll interval', value: 1 } as const;

/**
 * The bench's own watch on the app under `name`, every WATCH_MS: when the version `sickSha`
 * first answered its /healthz with anything but 2xx (its first failed health check, whoever
 * asked), and when, after that, a container of another version answered 2xx under the name.
 */
function watchSickSwitch(docker: Docker, name: string, sickSha: string) {
  let stopped = false;
  let firstFailedAt: number | undefined;
  let backAt: number | undefined;
  let sickAnswered = false;
  let stoppedAt = 0;
  const ask = async (url: string) => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  };
  const done = (async () => {
    while (backAt === undefined && !(stopped && performance.now() > stoppedAt + 30_000)) {
      const info = await docker
        .getContainer(name)
        .inspect()
        .catch(() => undefined);
      const address =
        info && Object.values(info.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
      if (info?.State.Running && address) {
        const at = performance.now();
        const ok = await ask(`http://${address}:8080/healthz`);
        const sick = info.Config.Labels?.['lugh.sha'] === sickSha;
        // Not listening yet is starting, not failing: only after its first 2xx.
        if (sick && ok) sickAnswered = true;
        if (sick && !ok && sickAnswered && firstFailedAt === undefined) firstFailedAt = at;
        if (!sick && ok && firstFailedAt !== undefined) backAt = performance.now();
      }
      await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
    }
  })();
  return {
    /** Once the deploy has finished: the previous version may still be starting, so it waits for it (up to 30 s). */
    async stop() {
      stopped = true;
      stoppedAt = performance.now();
      await done;
      return { firstFailedAt, backAt };
    },
  };
}

/** Deploys of the seeded app, alternating two commits (built once each), by the in-process runner. */
async function stepDurations(docker: Docker, databaseUrl: string) {
  const { run, name, baseImage, gh, forge, seeded, db, pool, deployments, builder, quiet } = await seededApp(
    docker,
    databaseUrl,
    'deploy',
    'ghs_benchDeployToken',
  );
  const backups = mkdtempSync(path.join(tmpdir(), 'lugh-bench-backups-'));
  const runtime = createDockerRuntime({ docker, logger });
  const runnerWith = (verifyMs: number) =>
    createStepRunner({
      env: 'production',
      logger,
      deployments,
      locks: createLockStore(pool),
      source: forge,
      builder,
      runtime,
      notifier: quiet,
      containerName: () => name,
      backup: async (sha) =>
        (await backupDatabase({ databaseUrl: db.url, dir: backups, keep: 3 }, { env: 'production', sha }))
          .file,
      buildArgs: { BASE_IMAGE: baseImage },
      healthDeadlineMs: 60_000,
      verifyMs,
    });
  const runner = runnerWith(3_000);
  try {
    const v1 = await builder.ensure({
      env: 'production',
      sha: seeded.mainSha,
      tarball: () => forge.tarball(seeded.mainSha),
      buildArgs: { BASE_IMAGE: baseImage },
    });
    await (
      await docker.createContainer({
        name,
        Image: v1.tag,
        Env: ['APP_ENV=production'],
        Labels: { 'lugh.test': run },
        HostConfig: { RestartPolicy: { Name: 'unless-stopped' } },
      })
    ).start();
    const totals: number[] = [];
    for (let i = 0; i < DEPLOYS; i++) {
      const sha = i % 2 === 0 ? seeded.developSha : seeded.mainSha;
      const d = await deployments.create({ env: 'production', ref: sha, sha, trigger: 'manual' });
      const t0 = performance.now();
      const outcome = await runner.run(d.id);
      if (outcome !== 'succeeded') throw new Error(`bench deploy #${d.id} ${outcome}`);
      totals.push(performance.now() - t0);
    }
    const { rows } = await pool.query(
      `SELECT step, extract(epoch FROM finished_at - started_at) * 1000 AS ms, deployment_id
       FROM deployment_steps WHERE status IN ('succeeded', 'skipped') ORDER BY deployment_id`,
    );
    const first = Math.min(...rows.map((r) => Number(r.deployment_id)));
    console.log(
      `deploy steps (seeded app, production, real Docker; ${DEPLOYS} deploys, the first builds, the others reuse; verify window 3 s)`,
    );
    for (const step of DEPLOY_STEPS) {
      const all = rows.filter((r) => r.step === step).map((r) => Number(r.ms));
      const built = rows.find((r) => r.step === step && Number(r.deployment_id) === first);
      record({
        key: `deploy.step.${step}`,
        label: `${step} step, median`,
        value: seconds(median(all)),
        unit: 's',
        note: `max ${seconds(Math.max(...all)).toFixed(2)} s${step === 'build' && built ? `; the first, building: ${seconds(Number(built.ms)).toFixed(2)} s` : ''}`,
      });
    }
    record({
      key: 'deploy.whole',
      label: 'whole deploy, median',
      value: seconds(median(totals)),
      unit: 's',
      note: `max ${seconds(Math.max(...totals)).toFixed(2)} s`,
    });

    // A rollback from chat: the previous release again, its image still there.
    const back = await deployments.create({
      env: 'production',
      ref: seeded.developSha,
      sha: seeded.developSha,
      trigger: 'rollback',
    });
    const r0 = performance.now();
    await runner.run(back.id);
    const rollback = performance.now() - r0;
    const { rows: rollbackSteps } = await pool.query(
      `SELECT step, extract(epoch FROM finished_at - started_at) AS s FROM deployment_steps
       WHERE deployment_id = $1 ORDER BY started_at`,
      [back.id],
    );
    const rollbackBreakdown = rollbackSteps
      .filter((r) => Number(r.s) >= 0.05)
      .map((r) => `${r.step} ${Number(r.s).toFixed(2)}`)
      .join(', ');

    // An automatic rollback: a version that falls sick after the switch.
    const sick = await gh.pushCommit('develop', {
      message: 'Sick after a while',
      files: {
        'server.js': `const started = Date.now();\nrequire('node:http').createServer((q, s) => { s.writeHead(Date.now() - started > 8000 ? 500 : 200); s.end('ok'); }).listen(8080);\n`,
      },
    });
    const bad = await deployments.create({ env: 'production', ref: sick, sha: sick, trigger: 'manual' });
    const watch = watchSickSwitch(docker, name, sick);
    // A verify window long enough to see it fall sick.
    await runnerWith(30_000).run(bad.id);
    const finishedAt = performance.now();
    const { firstFailedAt, backAt } = await watch.stop();
    const status = (await deployments.get(bad.id))?.status;
    record({
      key: 'deploy.rollback',
      label: '/rollback, tap → old release verified',
      value: seconds(rollback),
      unit: 's',
      reference: KAMAL_PROXY_POLL,
      goal: { max: 5 },
      note: `image kept; from running the deployment row; steps (s): ${rollbackBreakdown}`,
    });
    record({
      key: 'deploy.autoRollback',
      label: 'automatic rollback, first failed check → old',
      value:
        firstFailedAt !== undefined && backAt !== undefined ? seconds(backAt - firstFailedAt) : Number.NaN,
      unit: 's',
      goal: { max: 5 },
      note: `${status}; from the sick version's first non-2xx /healthz answer (the bench asks every ${WATCH_MS} ms; it falls sick 8 s after it starts) to the previous version answering /healthz again; the deploy finished ${firstFailedAt !== undefined ? seconds(finishedAt - firstFailedAt).toFixed(2) : 'n/a'} s after that first failed check`,
    });
  } finally {
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

/** The app container's die and start events (Docker's clock, ms) between two instants, in order. */
async function containerEvents(docker: Docker, name: string, fromMs: number, toMs: number) {
  const stream = (await docker.getEvents({
    since: Math.floor(fromMs / 1000),
    until: Math.ceil(toMs / 1000) + 1,
    filters: { type: ['container'], event: ['die', 'start'], container: [name] },
  })) as unknown as AsyncIterable<Buffer>;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map(
      (line) =>
        JSON.parse(line) as { Action: string; timeNano: number; Actor?: { Attributes?: { name?: string } } },
    )
    .filter((e) => e.Actor?.Attributes?.name === name)
    .map((e) => ({ action: e.Action, at: e.timeNano / 1e6 }))
    .sort((x, y) => x.at - y.at);
}

/**
 * lugh replacing its own container while users keep writing: each probe is /whoami from a
 * chat of its own, so a lost update is a chat without a reply and a duplicate one with two.
 */
async function selfDeployGap(docker: Docker, databaseUrl: string, redisUrl: string) {
  const db = await createBenchDatabase(databaseUrl, 'staging_lugh');
  const lugh = await startLughInDocker(docker, { databaseUrl: db.url, redisUrl, adminId: 1001 });
  try {
    await lugh.ask('/whoami', 120_000);
    await lugh.gh.pushCommit('develop', {
      message: 'Bench change',
      files: { 'docs/bench-marker.txt': `${Date.now()}\n` },
    });
    const queued = await lugh.ask('/deploy staging');
    const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
    const token = SELF_TOKEN;
    const probesFrom = Date.now();
    let done = false;
    const final = lugh.finalOf(id, 900_000).then((m) => {
      done = true;
      return m;
    });
    const probes = await sendProbes(lugh.tg, token, 70_000, PROBE_MS, () => done);
    const result = await final;
    const deployEndedAt = Date.now();
    // Stragglers: the new container answers what was queued while nobody polled.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    // Which container answered: the old one until it died, the new one from its start
    // (both under the app's name; the bot's /whoami names the new version only once recorded).
    const events = await containerEvents(docker, lugh.name, probesFrom, deployEndedAt);
    const oldDied = events.find((e) => e.action === 'die')?.at ?? Number.NaN;
    const newStarted = events.find((e) => e.action === 'start' && e.at > oldDied)?.at ?? Number.NaN;
    const { lost, twice, longestWait, answeredAt } = probeAnswers(lugh.tg, token, probes);
    let lastOld = Number.NaN;
    let firstNew = Number.NaN;
    for (const at of answeredAt) {
      if (at <= oldDied && !(at <= lastOld)) lastOld = at;
      if (at >= newStarted && !(at >= firstNew)) firstNew = at;
    }
    console.log(
      'self-deploy of lugh’s own image (staging bot deploying staging, runner container, real Docker)',
    );
    console.log(`  result: ${(result.text ?? '').split('\n')[0]}`);
    record({
      key: 'selfDeploy.gap',
      label: 'self-deploy update gap',
      value: seconds(firstNew - lastOld),
      unit: 's',
      goal: { max: 2 },
      note: `from the old bot's last answer to the new one's first: the old container died ${seconds(oldDied - lastOld).toFixed(2)} s after its last answer, the new one started ${seconds(newStarted - oldDied).toFixed(2)} s after that and answered ${seconds(firstNew - newStarted).toFixed(2)} s after its start; the longest any update waited for its answer: ${seconds(longestWait).toFixed(2)} s`,
    });
    record({
      key: 'selfDeploy.lost',
      label: 'self-deploy, updates lost',
      value: lost,
      unit: 'updates',
      goal: { max: 0 },
      note: `of ${probes.length} sent every ${PROBE_MS} ms`,
    });
    record({
      key: 'selfDeploy.twice',
      label: 'self-deploy, updates handled twice',
      value: twice,
      unit: 'updates',
      goal: { max: 0 },
    });
  } finally {
    await lugh.close();
    await db.drop();
  }
}

export async function benchDeploys(databaseUrl: string, redisUrl: string): Promise<void> {
  const docker = createDockerClient();
  if (!(await dockerAvailable(docker))) {
    console.log('deploy figures skipped: no Docker engine answers');
    return;
  }
  await stepDurations(docker, databaseUrl);
  if (process.env.BENCH_SELF_DEPLOY !== '0') await selfDeployGap(docker, databaseUrl, redisUrl);
}

/** The self-deploy's update gap alone (BENCH_ONLY=self-deploy). */
export async function benchSelfDeploy(databaseUrl: string, redisUrl: string): Promise<void> {
  const docker = createDockerClient();
  if (!(await dockerAvailable(docker))) {
    console.log('self-deploy figures skipped: no Docker engine answers');
    return;
  }
  await selfDeployGap(docker, databaseUrl, redisUrl);
}
