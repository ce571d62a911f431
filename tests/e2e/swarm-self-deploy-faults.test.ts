// A self-deploy on Swarm killed at moments of its own update: lugh's own image runs as the
// staging app's Swarm service, `/deploy staging` goes through the real queue, and a lugh
// task is killed with SIGKILL to its container's host pid (as the OOM killer or `kill -9`
// would) at a moment the test sees through the engine's API: right after the service update
// is issued (the old task, which follows it, dies), while both tasks run (the old one dies),
// and right after the old task stopped (the new one, which resumes the deploy, dies). Nobody
// re-runs anything: Swarm restarts what died, the next lugh resumes the deployment from
// Postgres, and each case must end with one task of the new commit running, the row
// succeeded, the lock free in Postgres and Redis, and exactly one final message.
//
// Why the new commit each time: a task killed while Swarm still monitors the update makes
// Swarm roll it back (failure_action rollback); the lugh that then runs (the previous
// version) resumes the deployment, whose switch was never verified, and deploys it again,
// as a resumed Docker deploy switches again. Only a version that fails on its own is a
// rolled-back deploy (swarm-deploy.test.ts, tests of the runtime).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeployLock } from '../../src/store/instance-registry.js';
import { closeRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { testDocker, waitFor } from '../helpers/docker.js';
import { ADMIN_ID } from '../helpers/instance-env.js';
import {
  type LughInSwarm,
  SWARM_SELF_TOKEN,
  type SwarmTask,
  startLughInSwarm,
} from '../helpers/lugh-in-swarm.js';
import { createTestDatabase, redisUrl } from '../helpers/services.js';

const { docker, engine } = await testDocker();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Moment {
  readonly name: string;
  /** Which task dies once the moment came: the old one (it ran the deploy) or the new one. */
  readonly kills: 'old' | 'new';
  /**
   * Whether the moment came, from the service and its tasks (`first`: the task that ran
   * before; `next`: the commit deployed).
   */
  readonly came: (lugh: LughInSwarm, first: SwarmTask, next: string) => Promise<SwarmTask | undefined>;
}

const MOMENTS: readonly Moment[] = [
  {
    name: 'right after the update is issued',
    kills: 'old',
    async came(lugh, first, next) {
      // The deployment's update: its spec at the new commit (the image may be the same one,
      // reused for the new commit's tree), Swarm carrying it out.
      const s = await (await lugh.service()).inspect();
      const env: string[] = s.Spec?.TaskTemplate?.ContainerSpec?.Env ?? [];
      return s.UpdateStatus?.State === 'updating' && env.includes(`GIT_SHA=${next}`) ? first : undefined;
    },
  },
  {
    name: 'while both tasks run',
    kills: 'old',
    async came(lugh, first) {
      const running = await lugh.runningTasks();
      return running.length === 2 && running.some((t) => t.id === first.id) ? first : undefined;
    },
  },
  {
    name: 'right after the old task stopped',
    kills: 'new',
    async came(lugh, first) {
      const tasks = await lugh.tasks();
      const old = tasks.find((t) => t.id === first.id);
      const fresh = tasks.find((t) => t.id !== first.id && t.state === 'running');
      return old && old.state !== 'running' && fresh ? fresh : undefined;
    },
  },
];

describe.skipIf(!engine)(
  'a self-deploy on Swarm killed mid-update converges on its own (needs a swarm manager)',
  () => {
    let redis: Redis;
    beforeAll(() => {
      redis = createRedis(redisUrl(), { connectionName: 'swarm-self-deploy-faults-test' });
    });
    afterAll(async () => {
      await closeRedis(redis);
    });

    for (const moment of MOMENTS) {
      it(`the ${moment.kills} lugh task killed ${moment.name}: one task of the new commit, the row finished, the lock free, one final message`, async () => {
        const db = await createTestDatabase('staging_lugh');
        let lugh: LughInSwarm | undefined;
        let sql: pg.Client | undefined;
        try {
          lugh = await startLughInSwarm(docker, {
            databaseUrl: db.url,
            redisUrl: redisUrl(),
            adminId: ADMIN_ID,
          });
          const world = lugh;
          expect((await world.ask('/whoami', 120_000)).text).toContain('Role: admin');
          sql = new pg.Client({ connectionString: db.url });
          await sql.connect();
          const [first] = await world.runningTasks();
          if (!first) throw new Error('no task runs');

          // A commit that changes nothing the image is built from.
          const next = await world.gh.pushCommit('develop', {
            message: `Fault: ${moment.name}`,
            files: { [`tests/fault-marker-${Date.now()}.txt`]: `${moment.name}\n` },
          });
          const queued = await world.ask('/deploy staging', 60_000);
          const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
          expect(id).toBeGreaterThan(0);

          // The moment, watched every 100 ms; then the kill.
          let victim: SwarmTask | undefined;
          const until = Date.now() + 300_000;
          while (!victim && Date.now() < until) {
            victim = await moment.came(world, first, next).catch(() => undefined);
            if (!victim) await sleep(100);
          }
          if (!victim) throw new Error(`the moment never came: ${moment.name}`);
          expect(await world.killTask(victim)).toBe(true);

          const done = await world.finalOf(id, 400_000);
          expect(done.text).toContain(`✅ Deploy #${id} done`);
          expect(done.text).toContain(`staging runs ${next.slice(0, 7)}`);

          // One task runs, of the new commit.
          const running = await waitFor(
            'one running task',
            async () => {
              const r = await world.runningTasks();
              return r.length === 1 ? r : undefined;
            },
            120_000,
          );
          expect(running.map((t) => t.id)).not.toContain(first.id);
          expect(await world.specSha()).toBe(next);
          const { rows } = await sql.query('SELECT status, sha FROM deployments WHERE id = $1', [id]);
          expect(rows).toEqual([{ status: 'succeeded', sha: next }]);
          expect((await sql.query('SELECT owner FROM locks WHERE expires_at > now()')).rows).toEqual([]);
          expect(await readDeployLock(redis, world.redisPrefix)).toBeUndefined();
          // The new version answers; and no second result came meanwhile.
          expect((await world.ask('/whoami', 90_000)).text).toContain(`Version: ${next.slice(0, 7)}`);
          const finals = world.tg
            .transcript(SWARM_SELF_TOKEN, world.admin.id)
            .filter((e) => e.kind === 'bot_message' && world.isFinal(id, e.text));
          expect(finals).toHaveLength(1);
        } finally {
          await sql?.end();
          await lugh?.close();
          await db.drop();
        }
      }, 900_000);
    }
  },
);
