// A switch behind a reverse proxy (DEPLOY_PROXY_ADMIN_URL): a real HAProxy owns the app's
// public port, the app container publishes none, and every request through HAProxy succeeds
// during a deploy and a /rollback (counted, not timed). A deploy killed at each phase of the
// switch converges with HAProxy pointing at the app container that runs, and no request
// through HAProxy fails from the kill until the resumed deploy has finished.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageBuilder } from '../../../src/deployer/image-builder.js';
import { createHaproxyProxy } from '../../../src/deployer/proxy/haproxy-proxy.js';
import { upstreamOf } from '../../../src/deployer/proxy/upstream.js';
import { createDockerRuntime } from '../../../src/deployer/runtime/docker-runtime.js';
import { createStepRunner } from '../../../src/deployer/step-runner.js';
import type { Forge } from '../../../src/forge/forge.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool } from '../../../src/store/pool.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { haproxyInstalled, pollEvery, type RunningHaproxy, startHaproxy } from '../../helpers/haproxy.js';
import { ADMIN_ID, instanceEnv } from '../../helpers/instance-env.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { runLugh, spawnLugh } from '../../helpers/lugh-process.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';
import { openChat } from '../../helpers/telegram.js';

const { docker, engine } = await testDocker();
const GITHUB_TOKEN = 'ghs_proxySwitchTestToken';
const TOKEN = '7003002:AAProxySwitchProdToken_abcdefghijkl';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!engine || !haproxyInstalled())('a switch behind HAProxy (needs Docker and haproxy)', () => {
  const run = uniqueName('lugh-test-proxy');
  const name = `${run}-prod-app`;
  let tg: TelegramStandIn;
  let gh: GitHubStandIn;
  let forge: Forge;
  let seeded: { mainSha: string; developSha: string };
  let db: TestDatabase;
  let pool: pg.Pool;
  let proxy: RunningHaproxy;
  let baseImage: string;

  beforeAll(async () => {
    baseImage = await ensureBaseImage(docker);
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughBot', firstName: 'Lugh' });
    openChat(tg, TOKEN, { id: ADMIN_ID, first_name: 'Ada' });
    ({ gh, forge, seeded } = await startSeededGitHub(GITHUB_TOKEN));
    db = await createTestDatabase('prod_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'proxy-switch-test');
    const v1 = await createImageBuilder({ docker, logger, repository: run }).ensure({
      env: 'production',
      sha: seeded.mainSha,
      tarball: () => forge.tarball(seeded.mainSha),
      buildArgs: { BASE_IMAGE: baseImage },
    });
    // No host port: HAProxy owns the public one.
    const app = await docker.createContainer({
      name,
      Image: v1.tag,
      Env: ['APP_ENV=production', `GIT_SHA=${seeded.mainSha}`],
      Labels: { 'lugh.test': run },
      HostConfig: { RestartPolicy: { Name: 'unless-stopped' } },
    });
    await app.start();
    proxy = await startHaproxy(name, upstreamOf(await app.inspect())!);
  }, 600_000);

  afterAll(async () => {
    await proxy?.close();
    await removeTestResources(docker, run);
    for (const c of await docker.listContainers({ all: true, filters: { name: [`^/${name}`] } })) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    }
    await pool?.end();
    await db?.drop();
    await gh?.close();
    await tg?.close();
  });

  /** Where HAProxy sends the app's requests now, and where the running app container is. */
  const routing = async () => {
    const dials = [await proxy.upstream()];
    const running = (await docker.listContainers({ all: true, filters: { name: [`^/${name}`] } })).filter(
      (c) => c.State === 'running',
    );
    const app = await docker.getContainer(name).inspect();
    return {
      dials,
      app: upstreamOf(app),
      running: running.map((c) => c.Names[0]),
    };
  };

  /** An in-process deploy runner for the app behind HAProxy, verifying for `verifyMs`. */
  const proxiedRunner = (verifyMs: number) =>
    createStepRunner({
      env: 'production',
      logger,
      deployments: createDeploymentStore(pool),
      locks: createLockStore(pool),
      source: forge,
      builder: createImageBuilder({ docker, logger, repository: run }),
      runtime: createDockerRuntime({
        docker,
        logger,
        proxy: createHaproxyProxy({ adminUrl: proxy.adminUrl }),
      }),
      notifier: { step: async () => {}, finished: async () => {} },
      containerName: () => name,
      backup: async () => mkdtempSync(path.join(tmpdir(), 'lugh-proxy-backup-')),
      buildArgs: { BASE_IMAGE: baseImage },
      healthDeadlineMs: 60_000,
      verifyMs,
    });

  /** A deploy (or a /rollback) of `sha` while a client asks HAProxy every 50 ms; its outcome and the requests. */
  const during = async (sha: string, trigger: 'manual' | 'rollback') => {
    const d = await createDeploymentStore(pool).create({ env: 'production', ref: sha, sha, trigger });
    // Built before the client starts: the switch is what is watched.
    if (trigger === 'manual')
      await createImageBuilder({ docker, logger, repository: run }).ensure({
        env: 'production',
        sha,
        tarball: () => forge.tarball(sha),
        buildArgs: { BASE_IMAGE: baseImage },
      });
    const client = pollEvery(`${proxy.url}/version`);
    const outcome = await proxiedRunner(2_000).run(d.id);
    return { outcome, ...(await client.stop()) };
  };

  it('no request through HAProxy fails during a deploy and during a /rollback', async () => {
    const deploy = await during(seeded.developSha, 'manual');
    expect(deploy.outcome).toBe('succeeded');
    expect(deploy.sent).toBeGreaterThan(20);
    expect({ failed: deploy.failed, why: deploy.why }).toEqual({ failed: 0, why: [] });
    const version = (await (await fetch(`${proxy.url}/version`)).json()) as { commit: string };
    expect(version.commit).toBe(seeded.developSha);

    const back = await during(seeded.mainSha, 'rollback');
    expect(back.outcome).toBe('succeeded');
    expect({ failed: back.failed, why: back.why }).toEqual({ failed: 0, why: [] });
    const after = await routing();
    expect(after.running).toEqual([`/${name}`]);
    expect(after.dials).toEqual([after.app]);
  }, 300_000);

  it('a request HAProxy sent before a move is answered where it went: a version answering in 200 ms that exits at once on SIGTERM is deployed and rolled back with none failing', async () => {
    // Each request is in flight 200 ms, so about four are at every move of HAProxy: the
    // pre-flight's when the final container takes over (deploy), the running slow one's
    // when the pre-flight takes over (rollback). Each must be answered before its
    // container goes; a vanished address makes HAProxy retry there until it answers 503.
    const slow = await gh.pushCommit('slow-answers', {
      message: 'Slow answers',
      files: {
        'server.js': `const server = require('node:http').createServer((q, s) => setTimeout(() => { s.writeHead(200); s.end(JSON.stringify({ commit: process.env.GIT_SHA })); }, 200))
  .listen(process.env.PORT || 8080);
process.on('SIGTERM', () => process.exit(0));
`,
      },
    });
    const before = (await (await fetch(`${proxy.url}/version`)).json()) as { commit: string };
    const deploy = await during(slow, 'manual');
    expect(deploy.outcome).toBe('succeeded');
    expect(deploy.sent).toBeGreaterThan(20);
    expect({ failed: deploy.failed, why: deploy.why }).toEqual({ failed: 0, why: [] });
    const back = await during(before.commit, 'rollback');
    expect(back.outcome).toBe('succeeded');
    expect({ failed: back.failed, why: back.why }).toEqual({ failed: 0, why: [] });
    const now = (await (await fetch(`${proxy.url}/version`)).json()) as { commit: string };
    expect(now.commit).toBe(before.commit);
    const after = await routing();
    expect(after.running).toEqual([`/${name}`]);
    expect(after.dials).toEqual([after.app]);
  }, 300_000);

  it('no request through HAProxy fails while a version that fell sick is rolled back: the sick one serves until the previous one answers', async () => {
    // Sick by its /healthz 5 s after it starts; its other paths still answer.
    // On a branch of its own: the tests after this one deploy develop.
    const flaky = await gh.pushCommit('sick-later', {
      message: 'Sick later',
      files: {
        'server.js': `const began = Date.now();
require('node:http').createServer((q, s) => { const ok = q.url !== '/healthz' || Date.now() - began < 5000; s.writeHead(ok ? 200 : 500); s.end(JSON.stringify({ commit: process.env.GIT_SHA })); })
  .listen(process.env.PORT || 8080);
`,
      },
    });
    const deployments = createDeploymentStore(pool);
    const builder = createImageBuilder({ docker, logger, repository: run });
    await builder.ensure({
      env: 'production',
      sha: flaky,
      tarball: () => forge.tarball(flaky),
      buildArgs: { BASE_IMAGE: baseImage },
    });
    const runner = proxiedRunner(15_000);
    const before = (await (await fetch(`${proxy.url}/version`)).json()) as { commit: string };
    const d = await deployments.create({ env: 'production', ref: flaky, sha: flaky, trigger: 'manual' });
    const client = pollEvery(`${proxy.url}/version`);
    const outcome = await runner.run(d.id);
    const requests = await client.stop();
    expect(outcome).toBe('rolled_back');
    expect(requests.sent).toBeGreaterThan(20);
    expect({ failed: requests.failed, why: requests.why }).toEqual({ failed: 0, why: [] });
    const now = (await (await fetch(`${proxy.url}/version`)).json()) as { commit: string };
    expect(now.commit).toBe(before.commit);
    const after = await routing();
    expect(after.running).toEqual([`/${name}`]);
    expect(after.dials).toEqual([after.app]);
  }, 300_000);

  it.each([
    'switch:after-stop',
    'switch:after-rename',
    'switch:after-create',
    'switch:after-start',
    'switch:during-health',
    'verify:during',
  ])(
    'killed at %s: the resumed run converges with HAProxy sending requests to the app container that runs, and finishes, with no request through HAProxy failing',
    async (failpoint) => {
      const env = instanceEnv({
        appEnv: 'production',
        databaseUrl: db.url,
        apiRoot: tg.apiRoot,
        token: TOKEN,
        extra: {
          GITHUB_TOKEN,
          GITHUB_REPO: `${gh.repo.owner}/${gh.repo.name}`,
          GITHUB_API_URL: gh.apiUrl,
          DEPLOY_CONTAINER: name,
          DEPLOY_IMAGE_REPOSITORY: run,
          DEPLOY_BASE_IMAGE: baseImage,
          DEPLOY_BACKUP: 'off',
          DEPLOY_HEALTH_SECONDS: '40',
          DEPLOY_VERIFY_SECONDS: '2',
          DEPLOY_PROXY_ADMIN_URL: proxy.adminUrl,
          LOG_LEVEL: 'warn',
        },
      });
      const { rows } = await pool.query(
        `INSERT INTO deployments (env, ref, trigger, requested_by) VALUES ('production', 'develop', 'manual', $1) RETURNING id`,
        [ADMIN_ID],
      );
      const id = Number(rows[0].id);
      const killedAt = async (at: string) => {
        const run = spawnLugh(['deploy-run', String(id)], { ...env, LUGH_FAILPOINTS: at });
        for (let i = 0; i < 2400 && !run.stderr().includes(`failpoint ${at} reached`); i++) {
          if (run.child.exitCode !== null) break;
          await sleep(25);
        }
        expect(run.stderr()).toContain(`failpoint ${at} reached`);
        return run;
      };
      // A client asks HAProxy every 50 ms from before the deploy starts until it has finished.
      const client = pollEvery(`${proxy.url}/version`);
      const first = await killedAt(failpoint);
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');

      // The resumed run, paused once it has converged (its start step begins the switch
      // again): HAProxy already sends to the container that runs, not to a removed one.
      const resumed = await killedAt('step:start');
      const converged = await routing();
      expect(converged.running).toEqual([`/${name}`]);
      expect(converged.dials).toEqual([converged.app]);
      expect((await fetch(`${proxy.url}/version`)).status).toBe(200);
      resumed.child.kill('SIGKILL');
      expect(await resumed.exited).toBe('SIGKILL');

      const again = await runLugh(['deploy-run', String(id)], env);
      expect(again.code, again.stderr).toBe(0);
      const [done] = (await pool.query('SELECT status FROM deployments WHERE id = $1', [id])).rows;
      expect(done.status).toBe('succeeded');
      const after = await routing();
      expect(after.running).toEqual([`/${name}`]);
      expect(after.dials).toEqual([after.app]);
      expect((await fetch(`${proxy.url}/version`)).status).toBe(200);
      // What served when the run was killed (a pre-flight, the unverified container) kept
      // serving until the container put back answered: no request met a removed container.
      const requests = await client.stop();
      expect(requests.sent).toBeGreaterThan(20);
      expect({ failed: requests.failed, why: requests.why }).toEqual({ failed: 0, why: [] });
    },
    180_000,
  );
});
