// Stalls through the real BullMQ queue, on real Redis and Postgres: a worker that dies
// holding a deploy job (taken, then closed without completing, so its lock lapses) is
// stood in for by another, which resumes the deployment from its row; a job BullMQ gives
// up on is re-driven by the sweeper; two runs of one deployment never overlap. The steps
// are stand-ins that count their runs; short lock and stall settings are injected.
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDeployEnded, deployCountClaim } from '../../../src/deployer/deploy-metrics.js';
import type { DeployNotifier, DeployStep } from '../../../src/deployer/deploy-notifier.js';
import { createDeploySweeper, MAX_REDRIVES } from '../../../src/deployer/deploy-sweeper.js';
import {
  createDeployWorker,
  DEPLOY_STALLS,
  type DeployStallSettings,
} from '../../../src/deployer/deploy-worker.js';
import {
  createDeployQueue,
  type DeployJobData,
  deployJobId,
  enqueueDeploy,
} from '../../../src/deployer/queue.js';
import type { Step } from '../../../src/deployer/steps/step.js';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createRedis, type Redis } from '../../../src/store/redis.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { scriptedProcess, scriptedSteps } from '../../helpers/scripted-process.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../../helpers/services.js';

const SHA = 'a'.repeat(40);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const never = new Promise<never>(() => {});
// Short enough for a test; the order of lock, check and count is what is tested, not times.
const SHORT: DeployStallSettings = { ...DEPLOY_STALLS, lockDurationMs: 1_000, stalledIntervalMs: 500 };

async function until<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  for (let i = 0; i < 1_200; i++) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await sleep(100);
  }
  throw new Error(`never happened: ${what}`);
}

describe('deploy jobs that stall or fail (real queue, Redis and Postgres)', () => {
  let db: TestDatabase;
  let admin: Pool;
  let redis: Redis;
  let queue: Queue<DeployJobData>;
  const prefix = `lugh-test-stalls-${randomUUID()}`;
  /** Runs of each step of each deployment, in every process. */
  const runs = new Map<string, number>();
  const finals: Array<{ id: number; status: string }> = [];
  const processes: Array<{ kill(): Promise<void> }> = [];

  const notifier: DeployNotifier = {
    step: async () => {},
    finished: async (id, _env, outcome) => {
      finals.push({ id, status: outcome.status });
    },
  };
  const count = (id: number, step: string) => runs.get(`${id} ${step}`) ?? 0;

  /** Stand-ins of the deploy's steps; the first three keep their work across a crash, as the real ones do. */
  function stepsOf(hangAt: DeployStep | undefined, gate?: Promise<void>): Step[] {
    return scriptedSteps({
      sha: SHA,
      runs,
      names: ['resolve', 'build', 'migrate', 'start', 'switch', 'record'],
      hold: async (name) => {
        if (name === hangAt) await never;
        if (name === 'start' && gate) await gate;
      },
    });
  }

  /** One lugh process: its own Postgres pool (so killing it frees its run's claim) and step runner. */
  function processOf(label: string, steps: Step[]) {
    const { pool, deployments, runner, appName } = scriptedProcess({
      databaseUrl: db.url,
      name: 'stalls',
      label,
      sha: SHA,
      steps,
      notifier,
    });
    return { pool, deployments, runner, appName };
  }

  /** A worker process; `kill` is a crash: no completion, no lock renewal, its connections gone. */
  function workerOf(label: string, steps: Step[], stalls: DeployStallSettings = SHORT) {
    const p = processOf(label, steps);
    const connection = redis.duplicate();
    const worker = createDeployWorker(connection, prefix, p.runner, logger, stalls);
    const failures: string[] = [];
    worker.on('failed', (_job, error) => failures.push(error.message));
    const handle = {
      ...p,
      worker,
      failures,
      async kill() {
        await worker.close(true);
        connection.disconnect();
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [p.appName],
        );
        // Not awaited: the dead run never gives back the client holding its claim.
        void p.pool.end().catch(() => {});
      },
    };
    processes.push(handle);
    return handle;
  }

  const newDeployment = async () => {
    const { rows } = await admin.query(
      `INSERT INTO deployments (env, ref, trigger, requested_by) VALUES ('staging', 'develop', 'manual', 1) RETURNING id`,
    );
    return Number(rows[0].id);
  };
  const rowOf = async (id: number) =>
    (await admin.query('SELECT status, step, sha FROM deployments WHERE id = $1', [id])).rows[0];

  beforeAll(async () => {
    db = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    admin = createPool(db.url, 'stalls-test');
    redis = createRedis(redisUrl(), { connectionName: 'stalls-test' });
    queue = createDeployQueue(redis, prefix);
  });

  afterAll(async () => {
    for (const p of processes) await p.kill().catch(() => {});
    await queue?.obliterate({ force: true }).catch(() => {});
    await queue?.close();
    await redis?.quit();
    await admin?.end();
    await db?.drop();
  });

  it('a job whose worker dies twice is taken back both times and the deployment resumes from its row, finishing once', async () => {
    const id = await newDeployment();
    const first = workerOf('first', stepsOf('migrate'));
    await enqueueDeploy(queue, id);
    await until('the first worker is in migrate', async () => (await rowOf(id)).step === 'migrate');

    const second = workerOf('second', stepsOf('switch'));
    await first.kill();
    await until('the second worker is in switch', async () => (await rowOf(id)).step === 'switch');

    const third = workerOf('third', stepsOf(undefined));
    await second.kill();
    await until('the deployment succeeded', async () => (await rowOf(id)).status === 'succeeded');
    const job = await until('the job completed', async () => {
      const j = await queue.getJob(deployJobId(id));
      return j && (await j.getState()) === 'completed' ? j : undefined;
    });

    expect(job.returnvalue).toBe('succeeded');
    expect(third.failures).toEqual([]);
    // Resumed, never started over: what an earlier run finished was not done again.
    expect(
      Object.fromEntries(
        ['resolve', 'build', 'migrate', 'start', 'switch', 'record'].map((s) => [s, count(id, s)]),
      ),
    ).toEqual({
      resolve: 1,
      build: 1,
      migrate: 2,
      start: 2,
      switch: 2,
      record: 1,
    });
    expect(finals.filter((f) => f.id === id)).toEqual([{ id, status: 'succeeded' }]);
    expect((await admin.query(`SELECT owner FROM locks WHERE expires_at > now()`)).rows).toEqual([]);
    await third.kill();
  }, 120_000);

  it('a job BullMQ fails as stalled more than allowed is re-driven by the sweeper and the deployment finishes once', async () => {
    const id = await newDeployment();
    const noStalls = { ...SHORT, maxStalledCount: 0 };
    const first = workerOf('dying', stepsOf('start'), noStalls);
    await enqueueDeploy(queue, id);
    await until('the worker is in start', async () => (await rowOf(id)).step === 'start');

    const live = workerOf('live', stepsOf(undefined), noStalls);
    await first.kill();
    await until('BullMQ failed the job', async () => live.failures.length > 0);
    expect(live.failures).toEqual(['job stalled more than allowable limit']);
    expect((await rowOf(id)).status).toBe('running');

    const sweeper = createDeploySweeper({
      env: 'staging',
      queue,
      deployments: live.deployments,
      abandon: (d, why) => live.runner.abandon(d, why),
      logger,
    });
    await sweeper.sweep();
    await until('the deployment succeeded', async () => (await rowOf(id)).status === 'succeeded');
    const job = await until('the new job completed', async () => {
      const j = await queue.getJob(deployJobId(id));
      return j && (await j.getState()) === 'completed' ? j : undefined;
    });
    expect(job.data).toEqual({ deploymentId: id, redrives: 1 });
    expect([count(id, 'resolve'), count(id, 'migrate'), count(id, 'start'), count(id, 'record')]).toEqual([
      1, 1, 2, 1,
    ]);
    expect(finals.filter((f) => f.id === id)).toEqual([{ id, status: 'succeeded' }]);
    // A finished deployment is left alone.
    await sweeper.sweep();
    expect((await queue.getJob(deployJobId(id)))?.id).toBe(job.id);
    expect(await (await queue.getJob(deployJobId(id)))?.getState()).toBe('completed');
    await live.kill();
  }, 120_000);

  it('a deployment whose job failed more than MAX_REDRIVES times is abandoned by the sweeper and counted once, as abandoned', async () => {
    const id = await newDeployment();
    const noStalls = { ...SHORT, maxStalledCount: 0 };
    const first = workerOf('dying-last', stepsOf('start'), noStalls);
    await enqueueDeploy(queue, id, MAX_REDRIVES);
    await until('the worker is in start', async () => (await rowOf(id)).step === 'start');
    const live = workerOf('live-last', stepsOf(undefined), noStalls);
    await first.kill();
    await until('BullMQ failed the job', async () => live.failures.length > 0);

    const prometheus = createPrometheusMetrics({ env: 'staging' });
    const counting = {
      deployments: live.deployments,
      metrics: prometheus.metrics,
      claim: deployCountClaim(redis, prefix),
      logger,
    };
    const abandoned = async () => {
      const body = (await prometheus.render()).body;
      return body
        .split('\n')
        .filter((l) => l.startsWith('lugh_deploys_total{'))
        .map((l) => ({ line: l, value: Number(l.split(' ').at(-1)) }));
    };
    const sweeper = createDeploySweeper({
      env: 'staging',
      queue,
      deployments: live.deployments,
      abandon: (d, why) => live.runner.abandon(d, why),
      counted: (d) => countDeployEnded(counting, d, 'abandoned'),
      logger,
    });
    await sweeper.sweep();
    expect((await rowOf(id)).status).toBe('failed');
    expect(await abandoned()).toEqual([
      {
        line: 'lugh_deploys_total{trigger="manual",outcome="abandoned",environment="staging"} 1',
        value: 1,
      },
    ]);
    // Another sweep, and a job that sees the ended row afterwards, count nothing again.
    await sweeper.sweep();
    await countDeployEnded(counting, id);
    expect((await abandoned()).map((s) => s.value)).toEqual([1]);
    await live.kill();
  }, 120_000);

  it('two runs of one deployment never overlap: the second steps aside while the first runs', async () => {
    const id = await newDeployment();
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const a = processOf('run-a', stepsOf(undefined, gate));
    const b = processOf('run-b', stepsOf(undefined));
    try {
      const first = a.runner.run(id);
      await until('the first run is in start', async () => (await rowOf(id)).step === 'start');
      expect(await b.runner.run(id)).toBe('running_elsewhere');
      open();
      expect(await first).toBe('succeeded');
      expect([count(id, 'resolve'), count(id, 'start'), count(id, 'record')]).toEqual([1, 1, 1]);
      expect(finals.filter((f) => f.id === id)).toEqual([{ id, status: 'succeeded' }]);
    } finally {
      await a.pool.end();
      await b.pool.end();
    }
  }, 120_000);
});
