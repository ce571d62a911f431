// A service set deployed from a repository's commits through the real path, on real
// Docker: the GitHub stand-in's commits carry lugh.yml (app ×2 behind HAProxy, a web built
// from its own Dockerfile in a folder, a worker running the app's image with its own
// command), deployments are asked for as chat asks (DeployControl: /deploy, /rollback),
// queued on the environment's BullMQ queue and run by a deploy worker in a process of its
// own (the engine's runner: resolve reads lugh.yml, build builds, the set's switch), which
// reports through the Telegram stand-in. Then the worker is killed with SIGKILL at each
// container's switch and the deployment is resumed by BullMQ's stall check in another
// worker process, with no run by hand.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfig } from '../../../src/config/index.js';
import { createImageBuilder } from '../../../src/deployer/image-builder.js';
import { upstreamOf } from '../../../src/deployer/proxy/upstream.js';
import { createDeployQueue, type DeployJobData, enqueueDeploy } from '../../../src/deployer/queue.js';
import { parseServiceFile } from '../../../src/deployer/service-file.js';
import { containersOf } from '../../../src/deployer/service-set.js';
import { createDeployControl, type DeployControl } from '../../../src/deploys/deploy-control.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { createRedis, type Redis } from '../../../src/store/redis.js';
import {
  ensureBaseImage,
  gitShaOf,
  removeTestResources,
  testDocker,
  uniqueName,
} from '../../helpers/docker.js';
import { haproxyInstalled, pollEvery, type RunningHaproxy, startHaproxy } from '../../helpers/haproxy.js';
import { ADMIN_ID, instanceEnv } from '../../helpers/instance-env.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';
import { openChat } from '../../helpers/telegram.js';

const { docker, engine } = await testDocker();
const GITHUB_TOKEN = 'ghs_setThroughEngineTestToken';
const TOKEN = '7003101:AASetThroughEngineStagingToken_abcd';
const CHILD = path.join(import.meta.dirname, '../../helpers/deploy-worker-child.ts');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The worker: the app's image with its own command (the seeded server, on the worker's port).
const WORKER = `  worker:
    image_of: app
    command: [node, server.js, worker]
    port: 8081
    health: { http: /healthz }
    order: 30
`;
// A worker that answers its health check with 500.
const SICK_WORKER = `  worker:
    image_of: app
    command: [node, -e, "require('node:http').createServer((q, s) => { s.writeHead(500); s.end('sick'); }).listen(process.env.PORT, () => console.log('worker up, sick'))"]
    port: 8081
    health: { http: /healthz }
    order: 30
`;
const SERVICE_FILE = (worker: string, extra = '') => `services:
  app:
    port: 8080
    traffic: true
    replicas: 2
    health: { http: /healthz }
    order: 10
  web:
    build:
      dockerfile: web/Dockerfile
      context: web
    port: 8082
    health: none
    order: 20
${worker}${extra}`;
// A service the first commit does not have (so a rollback to it removes it).
const MAILER = `  mailer:
    image_of: app
    command: [node, server.js, mailer]
    health: none
    order: 40
`;
const WEB_DOCKERFILE = `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
WORKDIR /web
COPY web.js ./
CMD ["node", "web.js"]
`;
const WEB_JS = `require('node:http').createServer((q, s) => { s.end(JSON.stringify({ web: process.env.GIT_SHA })); })
  .listen(Number(process.env.PORT || 8082), () => console.log('web up'));
process.on('SIGTERM', () => process.exit(0));
`;

/** Resolves once `child` wrote `line` (stdout or stderr); rejects if it exits first or takes too long. */
function reached(child: ChildProcess, line: string, timeoutMs = 240_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`no "${line}" within ${timeoutMs} ms: ${out}`)),
      timeoutMs,
    );
    const listen = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', listen);
    child.stderr?.on('data', listen);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited (${code ?? signal}) before "${line}": ${out}`));
    });
  });
}

describe.skipIf(!engine || !haproxyInstalled())(
  'a service set deployed from commits through the deploy engine, its queue and a worker process (needs Docker and HAProxy)',
  () => {
    const run = uniqueName('lugh-test-setengine');
    const base = `${run}-staging-app`;
    let tg: TelegramStandIn;
    let gh: GitHubStandIn;
    let db: TestDatabase;
    let pool: Pool;
    let redis: Redis;
    let queue: Queue<DeployJobData>;
    let deployments: DeploymentStore;
    let control: DeployControl;
    let proxy: RunningHaproxy;
    let env: Record<string, string>;
    let worker: ChildProcess | undefined;
    const commits: Record<'first' | 'second' | 'sick', string> = { first: '', second: '', sick: '' };
    const firstNames = containersOf(parseServiceFile(SERVICE_FILE(WORKER)), base).map((c) => c.name);

    /** A deploy worker process; with `failpoints`, armed (LUGH_FAILPOINTS). */
    const startWorker = async (failpoints?: string): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, LUGH_FAILPOINTS: failpoints ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await reached(child, 'worker ready', 60_000);
      return child;
    };
    const stopWorker = async (child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM') => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    };
    /** Waits for the deployment's row to finish (the worker runs it); its status. */
    const finished = async (id: number): Promise<string> => {
      for (let i = 0; i < 3_000; i++) {
        const d = await deployments.get(id);
        if (d && !['queued', 'running', 'awaiting_confirmation'].includes(d.status)) return d.status;
        await sleep(100);
      }
      throw new Error(`deployment ${id} did not finish`);
    };
    const deploy = async (ref: string) => {
      const asked = await control.request({
        ref,
        trigger: 'manual',
        requester: { id: ADMIN_ID, name: 'Ada' },
        chatId: ADMIN_ID,
        action: '/deploy',
      });
      if (asked.outcome !== 'queued') throw new Error(`not queued: ${asked.outcome}`);
      return asked.deployment.id;
    };
    /** What runs under each name: its commit, or `-` when it does not run. */
    const versions = async (names: readonly string[]) =>
      Promise.all(
        names.map(async (name) => {
          const info = await docker
            .getContainer(name)
            .inspect()
            .catch(() => undefined);
          return info?.State.Running ? gitShaOf(info) : '-';
        }),
      );
    /** The set's containers there are (running or not), kept previous ones and pre-flights included. */
    const present = async () =>
      (await docker.listContainers({ all: true, filters: { name: [`^/${base}`] } }))
        .map((c) => c.Names[0]!.slice(1))
        .sort();
    const isFinal = (id: number, text: string | undefined) =>
      new RegExp(`^🧪 STAGING · (✅|❌|↩️) Deploy #${id}\\b`).test(text ?? '');
    /** Deploy #id's final messages, once the first is sent (the worker tells the chat after the row is finished). */
    const finals = async (id: number) => {
      await tg.waitForBotMessage(TOKEN, ADMIN_ID, (m) => isFinal(id, m.text), { timeoutMs: 60_000 });
      return tg
        .transcript(TOKEN, ADMIN_ID)
        .filter((e) => e.kind === 'bot_message' && isFinal(id, e.text))
        .map((e) => (e.kind === 'bot_message' ? (e.text ?? '') : ''));
    };
    const freeLock = async () =>
      (await pool.query(`SELECT owner FROM locks WHERE expires_at > now()`)).rows.length === 0;

    beforeAll(async () => {
      const baseImage = await ensureBaseImage(docker);
      tg = await startTelegramStandIn();
      tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
      openChat(tg, TOKEN, { id: ADMIN_ID, first_name: 'Ada' });
      const { gh: started, forge, seeded } = await startSeededGitHub(GITHUB_TOKEN);
      gh = started;
      db = await createTestDatabase('staging_lugh');
      await runMigrations({ databaseUrl: db.url, logger });
      pool = createPool(db.url, 'set-through-engine-test');
      deployments = createDeploymentStore(pool);
      // What runs before lugh.yml: one app container, at main's commit.
      const v1 = await createImageBuilder({ docker, logger, repository: run }).ensure({
        env: 'staging',
        sha: seeded.mainSha,
        tarball: () => forge.tarball(seeded.mainSha),
        buildArgs: { BASE_IMAGE: baseImage },
      });
      const network = await docker.createNetwork({ Name: `${run}-net`, Labels: { 'lugh.test': run } });
      const app = await docker.createContainer({
        name: base,
        Image: v1.tag,
        Env: ['APP_ENV=staging', `GIT_SHA=${seeded.mainSha}`],
        Labels: { 'lugh.test': run },
        HostConfig: { NetworkMode: network.id, RestartPolicy: { Name: 'unless-stopped' } },
      });
      await app.start();
      const dial = upstreamOf(await app.inspect())!;
      proxy = await startHaproxy(base, dial, { [base]: { app2: dial } });
      const web = { 'web/Dockerfile': WEB_DOCKERFILE, 'web/web.js': WEB_JS };
      commits.first = await gh.pushCommit('develop', {
        message: 'Services: app ×2, web, worker',
        files: { 'lugh.yml': SERVICE_FILE(WORKER), ...web },
      });
      commits.second = await gh.pushCommit('develop', {
        message: 'A mailer beside the worker',
        files: { 'lugh.yml': SERVICE_FILE(WORKER, MAILER) },
      });
      commits.sick = await gh.pushCommit('develop', {
        message: 'A worker that falls sick',
        files: { 'lugh.yml': SERVICE_FILE(SICK_WORKER, MAILER) },
      });
      env = instanceEnv({
        appEnv: 'staging',
        databaseUrl: db.url,
        apiRoot: tg.apiRoot,
        token: TOKEN,
        extra: {
          GITHUB_TOKEN,
          GITHUB_REPO: `${gh.repo.owner}/${gh.repo.name}`,
          GITHUB_API_URL: gh.apiUrl,
          DEPLOY_CONTAINER: base,
          DEPLOY_IMAGE_REPOSITORY: run,
          DEPLOY_BASE_IMAGE: baseImage,
          DEPLOY_PROXY_ADMIN_URL: proxy.adminUrl,
          DEPLOY_HEALTH_SECONDS: '30',
          DEPLOY_VERIFY_SECONDS: '2',
          LOG_LEVEL: 'warn',
        },
      });
      const config = createConfig(env);
      redis = createRedis(config.redisUrl, { connectionName: 'set-through-engine-test' });
      queue = createDeployQueue(redis, config.redisPrefix);
      control = createDeployControl({
        env: 'staging',
        deployments,
        locks: createLockStore(pool),
        audit: createAuditLog(pool, 'staging'),
        enqueue: (id) => enqueueDeploy(queue, id),
        containerLogs: async () => [],
        confirmMs: 60_000,
        // As chat's: a SHA typed after /deploy names that commit.
        forge,
      });
      worker = await startWorker();
    }, 600_000);

    afterAll(async () => {
      await stopWorker(worker, 'SIGKILL');
      await proxy?.close();
      for (const c of await docker.listContainers({ all: true, filters: { name: [`^/${base}`] } })) {
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
      }
      await removeTestResources(docker, run);
      await docker
        .getNetwork(`${run}-net`)
        .remove()
        .catch(() => {});
      await queue?.close();
      await redis?.quit();
      await pool?.end();
      await db?.drop();
      await gh?.close();
      await tg?.close();
    });

    it('deploys the commit’s set in order through the queue and the worker; app ×2 keeps serving through HAProxy', async () => {
      const client = pollEvery(`${proxy.url}/version`);
      const id = await deploy(commits.first);
      const status = await finished(id);
      const polled = await client.stop();
      expect({ status, error: (await deployments.get(id))?.error }).toEqual({
        status: 'succeeded',
        error: null,
      });
      expect(await versions(firstNames)).toEqual(firstNames.map(() => commits.first));
      expect(firstNames).toEqual([base, `${base}-2`, `${base}-web-1`, `${base}-worker-1`]);
      // In order, one at a time: each container started after the one before it.
      const started = await Promise.all(
        firstNames.map(async (n) => Date.parse((await docker.getContainer(n).inspect()).State.StartedAt)),
      );
      for (let i = 1; i < started.length; i++) expect(started[i]).toBeGreaterThan(started[i - 1]!);
      // Each service as the file says: the worker runs the app's image with its own command; the web its own build.
      const inspect = (n: string) => docker.getContainer(n).inspect();
      const [appInfo, workerInfo, webInfo] = [
        await inspect(base),
        await inspect(`${base}-worker-1`),
        await inspect(`${base}-web-1`),
      ];
      expect(workerInfo.Image).toBe(appInfo.Image);
      expect(workerInfo.Config.Cmd).toEqual(['node', 'server.js', 'worker']);
      expect(webInfo.Image).not.toBe(appInfo.Image);
      expect(webInfo.Config.Cmd).toEqual(['node', 'web.js']);
      // The steps and each container's record read right.
      const steps = await deployments.steps(id);
      expect(steps.find((s) => s.step === 'resolve')?.detail).toBe(
        `${commits.first} · services app ×2, web, worker`,
      );
      expect(steps.map((s) => [s.step, s.status])).toEqual([
        ['resolve', 'succeeded'],
        ['build', 'succeeded'],
        ['backup', 'skipped'],
        ['migrate', 'skipped'],
        ['start', 'succeeded'],
        ['health', 'skipped'],
        ['switch', 'succeeded'],
        ['verify', 'succeeded'],
        ['cleanup', 'succeeded'],
        ['record', 'succeeded'],
      ]);
      expect((await deployments.serviceProgress(id)).map((p) => [p.container, p.state])).toEqual(
        firstNames.map((n) => [n, 'verified']),
      );
      expect(await finals(id)).toEqual([
        expect.stringMatching(new RegExp(`runs ${commits.first.slice(0, 7)}`)),
      ]);
      // The one progress message: a line per service, in the set's order, each done.
      const progress = tg
        .transcript(TOKEN, ADMIN_ID)
        .filter(
          (e) => e.kind === 'bot_message' && /🚀 Deploy #\d+/.exec(e.text ?? '')?.[0] === `🚀 Deploy #${id}`,
        );
      expect(progress).toHaveLength(1);
      const lines = (progress[0]?.kind === 'bot_message' ? (progress[0].text ?? '') : '')
        .split('\n')
        .filter((l) => /^(app|web|worker) /.test(l));
      expect(lines).toEqual([
        expect.stringMatching(/^app ✅ 2\/2 (switched|verified)$/),
        expect.stringMatching(/^web ✅ (switched|verified)$/),
        expect.stringMatching(/^worker ✅ (switched|verified)$/),
      ]);
      expect(await freeLock()).toBe(true);
      // The app's first replica was the one container there was, its second new: the proxy
      // always had one to send to.
      expect({ failed: polled.failed, why: polled.why }).toEqual({ failed: 0, why: [] });
    }, 600_000);

    it('a new service, then a commit whose worker is sick: the set goes back as one, the message naming the worker', async () => {
      const second = await deploy(commits.second);
      expect(await finished(second)).toBe('succeeded');
      const secondNames = [...firstNames, `${base}-mailer-1`];
      expect(await versions(secondNames)).toEqual(secondNames.map(() => commits.second));

      const sick = await deploy(commits.sick);
      expect(await finished(sick)).toBe('rolled_back');
      expect(await versions(secondNames)).toEqual(secondNames.map(() => commits.second));
      const row = await deployments.get(sick);
      expect(row?.error).toMatch(/the service worker \(.*-worker-1\) failed at health/);
      expect(await finals(sick)).toEqual([expect.stringContaining('worker')]);
      expect(await freeLock()).toBe(true);
      // No pre-flight or stray left: each name, and at most its kept previous one (a container
      // put back has none: its switch replaced the one it kept before).
      const allowed = secondNames.flatMap((n) => [n, `${n}-previous`]);
      expect((await present()).filter((n) => !allowed.includes(n))).toEqual([]);
      for (const n of secondNames) expect(await present()).toContain(n);
    }, 600_000);

    it('/rollback to the first deployment takes the whole set back, and the service it did not have is removed', async () => {
      const [first] = (await deployments.recent('staging', 20)).filter((d) => d.sha === commits.first);
      expect(first).toBeDefined();
      const asked = await control.request({
        ref: commits.first,
        sha: commits.first,
        trigger: 'rollback',
        requester: { id: ADMIN_ID, name: 'Ada' },
        chatId: ADMIN_ID,
        action: '/rollback',
        key: `rollback-to-${first!.id}`,
      });
      expect(asked.outcome).toBe('queued');
      const id = (asked as { deployment: { id: number } }).deployment.id;
      expect(await finished(id)).toBe('succeeded');
      expect(await versions(firstNames)).toEqual(firstNames.map(() => commits.first));
      const left = await docker.listContainers({ all: true, filters: { name: [`^/${base}-mailer-`] } });
      expect(left.map((c) => c.Names[0])).toEqual([]);
      expect(await freeLock()).toBe(true);
    }, 600_000);

    // Every container of the first commit's set exists now: each one's switch stops a running one.
    for (const [i, name] of firstNames.entries()) {
      const [service, replica] = i < 2 ? ['app', i + 1] : [name.slice(base.length + 1).replace(/-1$/, ''), 1];
      const failpoint = `switch:after-stop:${service}-${replica}`;
      it(`kill -9 of the worker process at ${failpoint}: BullMQ gives the job to another worker, which converges the set`, async () => {
        await stopWorker(worker);
        const armed = await startWorker(failpoint);
        worker = armed;
        const target = await gh.pushCommit('develop', {
          message: `Back to the first set, noted for ${failpoint}`,
          files: { 'lugh.yml': SERVICE_FILE(WORKER), NOTES: failpoint },
        });
        const id = await deploy(target);
        await reached(armed, `failpoint ${failpoint} reached`);
        await stopWorker(armed, 'SIGKILL');
        expect((await deployments.get(id))?.status).toBe('running');
        expect((await docker.getContainer(name).inspect()).State.Running).toBe(false);
        // No run by hand: the next worker takes the stalled job.
        worker = await startWorker();
        expect({ status: await finished(id), error: (await deployments.get(id))?.error }).toEqual({
          status: 'succeeded',
          error: null,
        });
        expect(await versions(firstNames)).toEqual(firstNames.map(() => target));
        expect((await deployments.serviceProgress(id)).map((p) => p.state)).toEqual(
          firstNames.map(() => 'verified'),
        );
        expect(await present()).toEqual(firstNames.flatMap((n) => [n, `${n}-previous`]).sort());
        for (const n of firstNames)
          expect(gitShaOf(await docker.getContainer(`${n}-previous`).inspect())).not.toBe(target);
        expect(await freeLock()).toBe(true);
        expect(await finals(id)).toHaveLength(1);
      }, 600_000);
    }
  },
);
