// A self-deploy when lugh itself is one of the services: lugh's own image runs as the
// staging app container, and a commit adds lugh.yml with lugh as `app` and a worker beside
// it (built from its own Dockerfile in a folder). `/deploy staging` goes through the real
// queue to the runner container (runner-container.ts); the set is deployed (lugh's own
// container switched first, so the runner outlives it). Then the next deploy's runner is
// killed with SIGKILL (its host pid) at the worker's switch, after the worker stopped:
// Docker restarts the runner, which converges the set and finishes, with no one re-running
// anything.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findContainer, logTail } from '../../src/deployer/docker-helpers.js';
import { gitShaOf, testDocker, waitFor } from '../helpers/docker.js';
import { ADMIN_ID } from '../helpers/instance-env.js';
import { type LughInDocker, startLughInDocker } from '../helpers/lugh-in-docker.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../helpers/services.js';

const { docker, engine } = await testDocker();
const FAILPOINT = 'switch:after-stop:worker-1';

// Under tests/, which lugh's own image leaves out of its build: only the worker's image changes with it.
const WORKER_DIR = 'tests/fixtures/set-worker';
const SERVICE_FILE = `services:
  app:
    order: 10
  worker:
    build:
      dockerfile: ${WORKER_DIR}/Dockerfile
      context: ${WORKER_DIR}
    health: none
    order: 20
`;
const WORKER_DOCKERFILE = `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
CMD ["node", "-e", "console.log('worker up'); setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0))"]
`;

async function killHostPid(name: string): Promise<boolean> {
  const info = await findContainer(docker, name);
  if (!info?.State.Running || !info.State.Pid) return false;
  process.kill(info.State.Pid, 'SIGKILL');
  return true;
}

/**
 * lugh's own image as the staging app container, LUGH_FAILPOINTS armed as `failpoints`
 * (its runners inherit them), started before the describe's tests and closed after.
 */
function selfSetWorld(failpoints: string) {
  let db: TestDatabase;
  let lugh: LughInDocker;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase('staging_lugh');
    lugh = await startLughInDocker(docker, {
      databaseUrl: db.url,
      redisUrl: redisUrl(),
      adminId: ADMIN_ID,
      env: { LUGH_FAILPOINTS: failpoints, DEPLOY_VERIFY_SECONDS: '3' },
    });
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    expect((await lugh.ask('/whoami', 120_000)).text).toContain('Role: admin');
  }, 900_000);

  afterAll(async () => {
    await client?.end();
    await lugh?.close();
    await db?.drop();
  });

  /** Asks for /deploy staging and returns the deployment's id. */
  const deploy = async () => {
    const queued = await lugh.ask('/deploy staging', 60_000);
    const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
    expect(id).toBeGreaterThan(0);
    return id;
  };
  const worker = () => `${lugh.name}-worker-1`;
  /** Every container of the environment but runners: name and state. */
  const containers = async () =>
    (await docker.listContainers({ all: true, filters: { name: [`^/${lugh.name}`] } }))
      .filter((c) => c.Labels['lugh.role'] !== 'runner')
      .map((c) => `${c.Names[0]!.slice(1)} ${c.State}`)
      .sort();
  const settled = async (id: number, sha: string) => {
    const done = await lugh.finalOf(id, 600_000);
    expect(done.text).toContain(`✅ Deploy #${id} done`);
    const runner = `${lugh.name}-deploy-${id}`;
    await waitFor(
      'the runner container to end',
      async () => {
        const info = await findContainer(docker, runner);
        return !info || (!info.State.Running && !info.State.Restarting);
      },
      120_000,
    );
    expect(gitShaOf(await lugh.running())).toBe(sha);
    expect(gitShaOf(await docker.getContainer(worker()).inspect())).toBe(sha);
    const { rows } = await client.query('SELECT status, sha FROM deployments WHERE id = $1', [id]);
    expect(rows).toEqual([{ status: 'succeeded', sha }]);
    expect((await client.query('SELECT owner FROM locks WHERE expires_at > now()')).rows).toEqual([]);
    const finals = lugh.tg
      .transcript('7004001:AASelfDeployStagingToken_abcdefghijk', lugh.admin.id)
      .filter((e) => e.kind === 'bot_message' && lugh.isFinal(id, e.text));
    expect(finals).toHaveLength(1);
  };
  /** Waits for the runner of deployment `id` to say it reached `failpoint`, checks `meanwhile`, then kills it (its host pid). */
  const killRunnerAt = async (
    id: number,
    failpoint: string,
    meanwhile: () => Promise<void> = async () => {},
  ) => {
    const runner = `${lugh.name}-deploy-${id}`;
    const reached = `failpoint ${failpoint} reached`;
    await waitFor(
      reached,
      async () => {
        const info = await findContainer(docker, runner);
        return info
          ? (await logTail(docker.getContainer(info.Id), 2_000)).some((l) => l.includes(reached))
          : false;
      },
      600_000,
    );
    await meanwhile();
    expect(await killHostPid(runner)).toBe(true);
  };
  return { lugh: () => lugh, deploy, worker, containers, settled, killRunnerAt };
}

describe.skipIf(!engine)('a self-deploy of a set in which lugh is the app (needs a Docker engine)', () => {
  const { lugh: world, deploy, worker, containers, settled, killRunnerAt } = selfSetWorld(`${FAILPOINT}*1`);

  it('a commit adding lugh.yml: lugh’s own container and the new worker both run it, through a runner container', async () => {
    const next = await world().gh.pushCommit('develop', {
      message: 'lugh and a worker',
      files: {
        'lugh.yml': SERVICE_FILE,
        [`${WORKER_DIR}/Dockerfile`]: WORKER_DOCKERFILE,
      },
    });
    const id = await deploy();
    await settled(id, next);
    // The worker is a set container, with its own image; the runner, gone, was none of them.
    const info = await docker.getContainer(worker()).inspect();
    expect(info.Config.Labels).toMatchObject({
      'lugh.set': world().name,
      'lugh.service': 'worker',
      'lugh.role': 'app',
    });
    expect(info.Image).not.toBe((await world().running()).Image);
    expect(await containers()).toEqual(
      [`${world().name} running`, `${world().name}-previous exited`, `${worker()} running`].sort(),
    );
  }, 1_500_000);

  it(`the runner killed at ${FAILPOINT}: Docker restarts it, it converges the set and finishes`, async () => {
    const next = await world().gh.pushCommit('develop', {
      message: 'A worker note',
      files: { [`${WORKER_DIR}/NOTES`]: FAILPOINT },
    });
    const id = await deploy();
    await killRunnerAt(id, FAILPOINT, async () => {
      expect((await docker.getContainer(worker()).inspect()).State.Running).toBe(false);
    });
    await settled(id, next);
    expect(await containers()).toEqual(
      [
        `${world().name} running`,
        `${world().name}-previous exited`,
        `${worker()} running`,
        `${worker()}-previous exited`,
      ].sort(),
    );
    // The new lugh answers.
    expect((await world().ask('/whoami', 90_000)).text).toContain(`Version: ${next.slice(0, 7)}`);
  }, 1_500_000);
});

// lugh's own container stopped by the set's first switch, and its runner killed there: no
// app container runs and none will take the job, so only Docker's restart of the runner
// can finish the deploy (the worker is not created yet: it starts fresh after the resume).
describe.skipIf(!engine)(
  'a self-deploy of a set whose runner is killed while lugh’s own container is stopped (needs a Docker engine)',
  () => {
    const {
      lugh: world,
      deploy,
      worker,
      containers,
      settled,
      killRunnerAt,
    } = selfSetWorld('switch:after-stop:app-1*1');

    it('the runner killed at switch:after-stop:app-1 of the first set deploy: Docker restarts it, it puts lugh back, deploys the set and finishes', async () => {
      const next = await world().gh.pushCommit('develop', {
        message: 'lugh and a worker',
        files: { 'lugh.yml': SERVICE_FILE, [`${WORKER_DIR}/Dockerfile`]: WORKER_DOCKERFILE },
      });
      const id = await deploy();
      await killRunnerAt(id, 'switch:after-stop:app-1', async () => {
        expect((await world().running()).State.Running).toBe(false);
      });
      await settled(id, next);
      expect(await containers()).toEqual(
        [`${world().name} running`, `${world().name}-previous exited`, `${worker()} running`].sort(),
      );
      expect((await world().ask('/whoami', 90_000)).text).toContain(`Version: ${next.slice(0, 7)}`);
    }, 1_500_000);
  },
);
