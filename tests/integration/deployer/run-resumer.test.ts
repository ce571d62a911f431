// A deploy left by its process, resumed by the next one at once (on Swarm the task that runs a
// deploy is the one its update replaces): through the real BullMQ queue, Redis and Postgres.
// The process that runs the job is stopped (its engine lets go of the run: `runner.leave`)
// or killed in the switch, which follows the "update" by renewing the lock between polls as
// Swarm's follow does; a second process's resumer finishes the deployment while BullMQ still
// holds the first one's job (its lock has 60 s to lapse). The steps are stand-ins that
// count their runs.
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeployNotifier } from '../../../src/deployer/deploy-notifier.js';
import { createDeployWorker } from '../../../src/deployer/deploy-worker.js';
import {
  createDeployQueue,
  type DeployJobData,
  deployJobId,
  enqueueDeploy,
} from '../../../src/deployer/queue.js';
import { createRunResumer } from '../../../src/deployer/run-resumer.js';
import type { Step } from '../../../src/deployer/steps/step.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createRedis, type Redis } from '../../../src/store/redis.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { scriptedProcess, scriptedSteps } from '../../helpers/scripted-process.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../../helpers/services.js';

const SHA = 'b'.repeat(40);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  for (let i = 0; i < 1_200; i++) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await sleep(100);
  }
  throw new Error(`never happened: ${what}`);
}

describe('a deploy left by its process is resumed at once by the next (real queue, Redis and Postgres)', () => {
  let db: TestDatabase;
  let admin: Pool;
  let redis: Redis;
  /** Each case has its queue of its own: a worker closed by force may still take a next job. */
  const queues: Array<Queue<DeployJobData>> = [];
  let queue: Queue<DeployJobData>;
  let prefix = '';
  const runs = new Map<string, number>();
  const finals: Array<{ id: number; status: string }> = [];
  const ended: Array<() => Promise<void>> = [];
  const notifier: DeployNotifier = {
    step: async () => {},
    finished: async (id, _env, outcome) => {
      finals.push({ id, status: outcome.status });
    },
  };
  const count = (id: number, step: string) => runs.get(`${id} ${step}`) ?? 0;

  /**
   * Stand-ins of the steps. `switch` follows an update that ends only when `updated` says so,
   * renewing the lock between its polls (as a Swarm update is followed); a resumed run's
   * switch finds it ended. The first three keep their work across a crash, as the real ones.
   */
  function stepsOf(updated: () => boolean): Step[] {
    return scriptedSteps({
      sha: SHA,
      runs,
      names: ['resolve', 'build', 'migrate', 'switch', 'verify', 'record'],
      hold: async (name, ctx) => {
        if (name === 'switch') while (!updated()) await ctx.holdLock?.().then(() => sleep(100));
      },
    });
  }

  /**
   * One lugh process (its own pool, so killing it frees its claim); with a worker on the
   * queue when it takes the job (a next process only resumes: its worker would take the
   * other cases' jobs).
   */
  function processOf(label: string, steps: Step[], takesJobs = true) {
    const { pool, deployments, runner, appName } = scriptedProcess({
      databaseUrl: db.url,
      name: 'resume',
      label,
      sha: SHA,
      steps,
      notifier,
    });
    const connection = redis.duplicate();
    // BullMQ's own settings (lock 60 s): a dead worker's job is not back within the test.
    const worker = takesJobs ? createDeployWorker(connection, prefix, runner, logger) : undefined;
    const failures: string[] = [];
    worker?.on('failed', (_job, error) => failures.push(error.message));
    const process = {
      pool,
      deployments,
      runner,
      worker,
      failures,
      /** What the engine does on stop on Swarm: let go of the run, close without waiting; then the process exits. */
      async stop() {
        await runner.leave();
        await worker?.close(true);
        connection.disconnect();
      },
      /** A crash: no completion, no lock renewal, its connections gone. */
      async kill() {
        await worker?.close(true);
        connection.disconnect();
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [appName],
        );
        void pool.end().catch(() => {});
      },
      async end() {
        await worker?.close(true).catch(() => {});
        connection.disconnect();
        await pool.end().catch(() => {});
      },
    };
    ended.push(process.end);
    return process;
  }

  const newDeployment = async () => {
    const { rows } = await admin.query(
      `INSERT INTO deployments (env, ref, trigger, requested_by) VALUES ('staging', 'develop', 'manual', 1) RETURNING id`,
    );
    return Number(rows[0].id);
  };
  const rowOf = async (id: number) =>
    (await admin.query('SELECT status, step, error FROM deployments WHERE id = $1', [id])).rows[0];
  const jobState = async (id: number) => (await queue.getJob(deployJobId(id)))?.getState();

  beforeAll(async () => {
    db = await createTestDatabase('staging_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    admin = createPool(db.url, 'resume-test');
    redis = createRedis(redisUrl(), { connectionName: 'resume-test' });
  });

  beforeEach(() => {
    prefix = `lugh-test-resume-${randomUUID()}`;
    queue = createDeployQueue(redis, prefix);
    queues.push(queue);
  });

  afterAll(async () => {
    for (const end of ended) await end();
    for (const q of queues) {
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
    await redis?.quit();
    await admin?.end();
    await db?.drop();
  });

  for (const how of ['stopped', 'killed'] as const) {
    it(`a run whose process is ${how} in the switch is resumed by the next process's resumer, which finishes it once`, async () => {
      const id = await newDeployment();
      let updated = false;
      const old = processOf(
        `old-${how}`,
        stepsOf(() => updated),
      );
      await enqueueDeploy(queue, id);
      await until('the old process follows the update', async () => (await rowOf(id)).step === 'switch');

      if (how === 'stopped') await old.stop();
      else await old.kill();
      // Meanwhile the update completed, as Swarm's does once the new task is healthy.
      updated = true;
      // The old run stops at its next lock renewal and ends nothing: no failure, no result.
      await sleep(500);
      expect((await rowOf(id)).status).toBe('running');
      expect(finals.filter((f) => f.id === id)).toEqual([]);

      const next = processOf(
        `new-${how}`,
        stepsOf(() => updated),
      );
      const resumer = createRunResumer({
        env: 'staging',
        deployments: next.deployments,
        run: (d) => next.runner.run(d),
        logger,
        retryMs: 200,
      });
      await resumer.resume();

      expect(await rowOf(id)).toEqual({ status: 'succeeded', step: 'record', error: null });
      // BullMQ still holds the old worker's job: the resumer did not wait for it.
      expect(await jobState(id)).toBe('active');
      // Resumed, not started over: only the interrupted switch ran again.
      expect(
        Object.fromEntries(
          ['resolve', 'build', 'migrate', 'switch', 'verify', 'record'].map((s) => [s, count(id, s)]),
        ),
      ).toEqual({ resolve: 1, build: 1, migrate: 1, switch: 2, verify: 1, record: 1 });
      expect(finals.filter((f) => f.id === id)).toEqual([{ id, status: 'succeeded' }]);
      expect((await admin.query('SELECT owner FROM locks WHERE expires_at > now()')).rows).toEqual([]);
      expect(old.failures.filter((f) => !f.includes('left to the next run'))).toEqual([]);
    }, 120_000);
  }

  it('a run another live process holds is not taken: the resumer gives up when its patience ends', async () => {
    const id = await newDeployment();
    let updated = false;
    processOf(
      'live',
      stepsOf(() => updated),
    );
    await enqueueDeploy(queue, id);
    await until('the live process follows the update', async () => (await rowOf(id)).step === 'switch');

    const other = processOf(
      'other',
      stepsOf(() => true),
    );
    const resumer = createRunResumer({
      env: 'staging',
      deployments: other.deployments,
      run: (d) => other.runner.run(d),
      logger,
      patienceMs: 1_000,
      retryMs: 200,
    });
    await resumer.resume();
    expect(count(id, 'switch')).toBe(1);
    expect((await rowOf(id)).status).toBe('running');

    updated = true;
    await until('the live run finished', async () => (await rowOf(id)).status === 'succeeded');
    expect(finals.filter((f) => f.id === id)).toEqual([{ id, status: 'succeeded' }]);
  }, 120_000);
});
