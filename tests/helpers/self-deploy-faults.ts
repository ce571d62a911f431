// Supervision of a self-deploy, faults as they really happen (the cases live in
// tests/e2e/self-deploy-faults-*.test.ts, split so that vitest runs them side by side): lugh's own image runs as the
// staging app container, `/deploy staging` goes through the real BullMQ queue to the real
// runner container, and the runner is killed with SIGKILL (its host pid, as the OOM killer
// or `kill -9` would: `docker kill` would mark it stopped by hand, which restart policies
// respect) at every step and every phase inside the switch, some twice, some with the app
// container too. Nobody re-runs anything: each case must converge on its own to one running
// app container of the new commit, the row finished, the lock free in Postgres and in
// Redis, exactly one final message, and no runner container left.
//
// Each case starts its own world with LUGH_FAILPOINTS set on the app container (the runner
// inherits it), so the runner pauses exactly there and says so in its log. The commits
// deployed change only a file the image's build context leaves out, so every build is
// served from Docker's layer cache.
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findContainer, logTail } from '../../src/deployer/docker-helpers.js';
import { readDeployLock } from '../../src/store/instance-registry.js';
import { closeRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { gitShaOf, testDocker, waitFor } from './docker.js';
import { ADMIN_ID } from './instance-env.js';
import { type LughInDocker, SELF_TOKEN, startLughInDocker } from './lugh-in-docker.js';
import { createTestDatabase, redisUrl } from './services.js';

export interface Fault {
  /** The failpoint the runner pauses at (each pause is a kill). */
  readonly at: string;
  /** How many times it is killed there in one deployment. */
  readonly times?: number;
  /** The app container is killed at the same instant as the runner. */
  readonly app?: boolean;
  /** Production deploys itself instead of staging (confirmed by its button; backed up first). */
  readonly env?: 'production';
}

const title = (f: Fault) =>
  `${f.env ? `${f.env}: ` : ''}${f.app ? 'runner and app' : 'runner'} killed at ${f.at}${f.times ? ` twice` : ''}: converges with no one re-running it`;

/** Only the listed ones: LUGH_FAULTS=switch:after-stop,step:build picks a few cases. */
const picked = (f: Fault) => {
  const only = process.env.LUGH_FAULTS?.split(',').map((s) => s.trim());
  return !only || only.includes(f.at) || only.includes(`${f.at}*${f.times ?? 1}`);
};

/** SIGKILL to a container's process as the host sees it: Docker restarts it by its policy. */
async function killHostPid(docker: Docker, name: string): Promise<boolean> {
  const info = await findContainer(docker, name);
  if (!info?.State.Running || !info.State.Pid) return false;
  process.kill(info.State.Pid, 'SIGKILL');
  return true;
}

async function logsOf(docker: Docker, name: string): Promise<string[]> {
  const info = await findContainer(docker, name);
  return info ? logTail(docker.getContainer(info.Id), 2_000) : [];
}

/** What a command prints to stdout in a running container (stderr dropped). */
async function execIn(docker: Docker, name: string, cmd: string[]): Promise<string> {
  const exec = await docker.getContainer(name).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out: Buffer[] = [];
  docker.modem.demuxStream(
    stream,
    new PassThrough().on('data', (b: Buffer) => out.push(b)),
    new PassThrough(),
  );
  await new Promise<void>((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  return Buffer.concat(out).toString('utf8');
}

/** What a wait for a failpoint knows of the deploy it waits in. */
interface FailpointWait {
  readonly docker: Docker;
  readonly client: pg.Client;
  readonly world: LughInDocker;
  readonly id: number;
  readonly runner: string;
  /** The runner's line, `failpoint <name> reached`. */
  readonly reached: string;
  /** How many times it must have been reached (once per life of the runner). */
  readonly kill: number;
}

const stateOf = (info: Docker.ContainerInspectInfo | undefined) =>
  !info
    ? 'no such container'
    : `${info.State.Status}${info.State.Restarting ? ' (restarting)' : ''}, exit code ${info.State.ExitCode}, restarts ${info.RestartCount}`;

/** The deploy as far as a test can see it: its row and steps, the chat's last words, both containers' last lines. */
async function explainDeploy(
  w: Pick<FailpointWait, 'docker' | 'client' | 'world' | 'id' | 'runner'>,
): Promise<string> {
  const { docker, client, world, id, runner } = w;
  const rows = async (sql: string) =>
    (await client.query(sql, [id]).catch((error: unknown) => ({ rows: [{ error: String(error) }] }))).rows;
  const [row] = await rows('SELECT status, step, error, finished_at FROM deployments WHERE id = $1');
  const steps = await rows(
    'SELECT step, status, detail FROM deployment_steps WHERE deployment_id = $1 ORDER BY started_at',
  );
  const chat = world.tg
    .transcript(SELF_TOKEN, world.admin.id)
    .filter((e) => e.kind === 'bot_message')
    .slice(-2)
    .map((e) => `  ${e.kind === 'bot_message' ? e.text : ''}`);
  const tail = async (name: string) => {
    const info = await findContainer(docker, name).catch(() => undefined);
    const lines = await logsOf(docker, name).catch((error: unknown) => [String(error)]);
    return [`${name}: ${stateOf(info)}; its last lines:`, ...lines.slice(-30).map((l) => `  ${l}`)];
  };
  return [
    `deployment #${id}: ${JSON.stringify(row ?? 'no row')}`,
    `its steps: ${steps.map((r) => `${r.step} ${r.status}${r.detail ? ` (${r.detail})` : ''}`).join('; ') || 'none'}`,
    'the chat’s last bot messages:',
    ...chat,
    ...(await tail(runner)),
    ...(await tail(world.name)),
  ].join('\n');
}

/**
 * Waits until the runner has said `reached` `kill` times. Fails at once, saying why, when the
 * deploy cannot get there any more: its row is finished, or the runner (once seen) has
 * ended and Docker does not start it again; on a timeout it says the same.
 */
async function awaitFailpoint(w: FailpointWait, timeoutMs: number): Promise<void> {
  const { docker, client, id, runner, reached, kill } = w;
  const isReached = async () =>
    (await logsOf(docker, runner).catch(() => [])).filter((l) => l.includes(reached)).length >= kill;
  const until = Date.now() + timeoutMs;
  let seen = false;
  let endedPolls = 0;
  for (;;) {
    if (await isReached()) return;
    const finished = await client
      .query('SELECT finished_at FROM deployments WHERE id = $1', [id])
      .then((r) => r.rows[0]?.finished_at != null)
      .catch(() => false);
    const info = await findContainer(docker, runner).catch(() => undefined);
    const live = !!info && (info.State.Running || info.State.Restarting);
    seen ||= !!info;
    // A killed runner is restarted by its policy; three polls in a row without it is an end.
    endedPolls = seen && !live ? endedPolls + 1 : 0;
    const why = finished
      ? 'the deployment finished'
      : endedPolls >= 3
        ? 'the runner ended and is not started again'
        : Date.now() > until
          ? `timed out after ${Math.round(timeoutMs / 1000)} s`
          : undefined;
    if (why) {
      if (await isReached()) return;
      throw new Error(`${why} before "${reached}" (${kill}):\n${await explainDeploy(w)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** One test per fault, named by it; each starts its own world. */
export async function describeFaults(part: string, faults: readonly Fault[]): Promise<void> {
  const { docker, engine } = await testDocker();
  describe.skipIf(!engine)(
    `a self-deploy killed ${part} converges on its own (needs a Docker engine)`,
    () => {
      let redis: Redis;

      beforeAll(() => {
        redis = createRedis(redisUrl(), { connectionName: 'self-deploy-faults-test' });
      });
      afterAll(async () => {
        await closeRedis(redis);
      });

      for (const fault of faults.filter(picked)) {
        it(title(fault), async () => {
          const times = fault.times ?? 1;
          const env = fault.env ?? 'staging';
          const db = await createTestDatabase(env === 'staging' ? 'staging_lugh' : 'prod_lugh');
          let lugh: LughInDocker | undefined;
          let client: pg.Client | undefined;
          try {
            lugh = await startLughInDocker(docker, {
              databaseUrl: db.url,
              redisUrl: redisUrl(),
              adminId: ADMIN_ID,
              appEnv: env,
              env: { LUGH_FAILPOINTS: `${fault.at}*${times}`, DEPLOY_VERIFY_SECONDS: '3' },
            });
            client = new pg.Client({ connectionString: db.url });
            await client.connect();
            const world = lugh;
            expect((await world.ask('/whoami', 120_000)).text).toContain('Role: admin');

            // A commit that changes nothing the image is built from.
            const next = await world.gh.pushCommit(env === 'staging' ? 'develop' : 'main', {
              message: `Fault ${fault.at}`,
              files: { [`tests/fault-marker-${Date.now()}.txt`]: `${fault.at}\n` },
            });
            const queued = await world.ask(`/deploy ${env}`, 60_000);
            let id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
            if (env === 'production') {
              // Production asks first: the Deploy button carries the deployment's id.
              const button = queued.reply_markup?.inline_keyboard.flat().find((b) => b.text === 'Deploy');
              id = Number(button?.callback_data?.match(/^deploy:yes:(\d+)$/)?.[1]);
              expect(id).toBeGreaterThan(0);
              world.tg.pressButton({
                token: SELF_TOKEN,
                chatId: world.admin.id,
                messageId: queued.message_id,
                data: button?.callback_data ?? '',
                from: world.admin,
              });
            }
            expect(id).toBeGreaterThan(0);
            const runner = `${world.name}-deploy-${id}`;
            const reached = `failpoint ${fault.at} reached`;

            for (let kill = 1; kill <= times; kill++) {
              await awaitFailpoint({ docker, client, world, id, runner, reached, kill }, 400_000);
              if (fault.app) await killHostPid(docker, world.name);
              expect(await killHostPid(docker, runner)).toBe(true);
            }

            const seen = { docker, client, world, id, runner };
            const done = await world.finalOf(id, 600_000).catch(async (error: unknown) => {
              throw new Error(`${String(error)}\n${await explainDeploy(seen)}`);
            });
            expect(done.text).toContain(`✅ Deploy #${id} done`);
            expect(done.text).toContain(`${env} runs ${next.slice(0, 7)}`);

            // The runner ends once the deploy is told; no life of it runs or is about to run again.
            // (The launcher, or the app's sweep of leftovers, removes it later: runner-supervision.test.ts.)
            await waitFor(
              'the runner container to end',
              async () => {
                const info = await findContainer(docker, runner);
                return !info || (!info.State.Running && !info.State.Restarting);
              },
              120_000,
            );
            const containers = (
              await docker.listContainers({ all: true, filters: { name: [`^/${world.name}`] } })
            ).filter((c) => c.Labels['lugh.role'] !== 'runner');
            const running = containers.filter((c) => c.State === 'running').map((c) => c.Names[0]);
            expect(running).toEqual([`/${world.name}`]);
            const app = await world.running();
            expect(gitShaOf(app)).toBe(next);
            // No half-made container is left: only the app and the previous version.
            expect(containers.map((c) => c.Names[0]).sort()).toEqual(
              [`/${world.name}`, `/${world.name}-previous`].sort(),
            );

            const { rows } = await client.query('SELECT status, sha FROM deployments WHERE id = $1', [id]);
            expect(rows).toEqual([{ status: 'succeeded', sha: next }]);
            expect((await client.query('SELECT owner FROM locks WHERE expires_at > now()')).rows).toEqual([]);
            expect(await readDeployLock(redis, world.redisPrefix)).toBeUndefined();

            const finals = world.tg
              .transcript(SELF_TOKEN, world.admin.id)
              .filter((e) => e.kind === 'bot_message' && world.isFinal(id, e.text));
            expect(finals).toHaveLength(1);
            if (env === 'production') {
              // The backup the killed step did not take, taken once by the runner's next life,
              // in LUGH_HOME/backups (a volume the app and its runner share): backup.ts's name.
              const backups = (await execIn(docker, world.name, ['ls', '-1', `${world.home}/backups`]))
                .split('\n')
                .filter(Boolean);
              expect(backups).toHaveLength(1);
              expect(backups[0]).toMatch(
                new RegExp(`^production-\\d{8}T\\d{6}Z-${next.slice(0, 7)}\\.dump$`),
              );
            }
            // The new version answers the chat.
            expect((await world.ask('/whoami', 90_000)).text).toContain(`Version: ${next.slice(0, 7)}`);
          } finally {
            await client?.end();
            await lugh?.close();
            await db.drop();
          }
        }, 1_500_000);
      }
    },
  );
}
