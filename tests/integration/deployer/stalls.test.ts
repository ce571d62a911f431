// Stalls through the real BullMQ queue, on real Redis and Postgres: a worker that dies
// holding a deploy job (taken, then closed without completing, so its lock lapses) is
// stood in for by another, which resumes the deployment from its row; a job BullMQ gives
// up on is re-driven by the sweeper; two runs of one deployment never overlap. The steps
// are stand-ins that count their runs; short lock and stall settings are injected.
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployNotifier, DeployStep } from '../../../src/deployer/deploy-notifier.js';
import { createDeploySweeper } from '../../../src/deployer/deploy-sweeper.js';
import {
  createDeployWorker,
  DEPLOY_STALLS,
  type DeployStallSettings,
} from '../../../src/deployer/deploy-worker.js';
import type { ImageBuilder } from '../../../src/deployer/image-builder.js';
import {
  createDeployQueue,
  type DeployJobData,
  deployJobId,
  enqueueDeploy,
} from '../../../src/deployer/queue.js';
import type { Runtime } from '../../../src/deployer/runtime/runtime.js';
import { createStepRunner } from '../../../src/deployer/step-runner.js';
import { type Step, succeeded } from '../../../src/deployer/steps/step.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createRedis, type Redis } from '../../../src/store/redis.js';
import { silentLogger as logger } from '../../helpers/logger.js';
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
    const step = (name: DeployStep, restore?: Step['restore']): Step => ({
      name,
      async run(ctx) {
        const key = `${ctx.deployment.id} ${name}`;
        runs.set(key, (runs.get(key) ?? 0) + 1);
        if (name === hangAt) await never;
        if (name === 'start' && gate) await gate;
        if (name === 'resolve') ctx.sha = SHA;
        if (name === 'build') await ctx.deployments.setImage(ctx.deployment.id, `app:${SHA.slice(0, 7)}`);
        if (name === 'record')
          await ctx.deployments.finish(ctx.deployment.id, { status: 'succeeded', sha: ctx.sha });
        return succeeded(name === 'resolve' ? SHA : undefined);
      },
      restore,
    });
    return [
      step('resolve', (ctx, detail) => {
        ctx.sha = detail ?? undefined;
        return detail === SHA;
      }),
      step('build', (ctx) => Boolean(ctx.deployment.image)),
      step('migrate', () => true),
      step('start'),
      step('switch'),
      step('record'),
    ];
  }

  /** One lugh process: its own Postgres pool (so killing it frees its run's claim) and step runner. */
  function processOf(label: string, steps: Step[]) {
    const appName = `stalls-${label}-${randomUUID().slice(0, 8)}`;
    const pool = createPool(db.url, appName);
    const deployments = createDeploymentStore(pool);
    const runner = createStepRunner({
      env: 'staging',
      logger,
      deployments,
      locks: createLockStore(pool),
      source: {
        branchSha: async () => SHA,
        commitTree: () => Promise.reject(new Error('no tree')),
        tarball: () => Promise.reject(new Error('no tarball')),
      },
      builder: {} as ImageBuilder,
      runtime: { converge: async () => undefined } as unknown as Runtime,
      notifier,
      containerName: () => 'lugh-test-stalls-app',
      backup: 'not backed up',
      steps,
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
