// `kill -9` of the deploy runner at every step: running the deployment again (what the
// re-attaching worker does) converges to exactly one running app container, a released
// lock and exactly one final message.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageBuilder } from '../../../src/deployer/image-builder.js';
import type { Forge } from '../../../src/forge/forge.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { ADMIN_ID, instanceEnv } from '../../helpers/instance-env.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { runLugh, spawnLugh } from '../../helpers/lugh-process.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';
import { openChat } from '../../helpers/telegram.js';

const { docker, engine } = await testDocker();
const GITHUB_TOKEN = 'ghs_killConvergenceTestToken';
const TOKEN = '7003001:AAKillConvergenceProdToken_abcdefghij';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A version whose migration takes a moment, so a kill can land inside it.
const DOCKERFILE = `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
ARG GIT_SHA=unknown
ENV COMMIT_SHA=\${GIT_SHA} PORT=8080
WORKDIR /app
COPY package.json server.js ./
LABEL lugh.migrate='["node","-e","setTimeout(() => console.log(\\"migrated\\"), 1500)"]'
HEALTHCHECK --interval=1s --timeout=10s --start-period=5s --retries=2 CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
CMD ["node", "server.js"]
`;

const STEPS = ['resolve', 'build', 'backup', 'migrate', 'start', 'health', 'switch', 'verify', 'cleanup'];
const ORDER = [...STEPS, 'record'];

describe.skipIf(!engine)('kill -9 of the deploy runner at every step (needs a Docker engine)', () => {
  const run = uniqueName('lugh-test-kill');
  const name = `${run}-prod-app`;
  let tg: TelegramStandIn;
  let gh: GitHubStandIn;
  let forge: Forge;
  let db: TestDatabase;
  let client: pg.Client;
  let env: Record<string, string>;
  let target: string;

  beforeAll(async () => {
    const baseImage = await ensureBaseImage(docker);
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughBot', firstName: 'Lugh' });
    // The admin has talked to the bot, so it may write to them (as on Telegram).
    openChat(tg, TOKEN, { id: ADMIN_ID, first_name: 'Ada' });
    let seeded: { mainSha: string };
    ({ gh, forge, seeded } = await startSeededGitHub(GITHUB_TOKEN));
    db = await createTestDatabase('prod_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const v1 = await createImageBuilder({ docker, logger, repository: run }).ensure({
      env: 'production',
      sha: seeded.mainSha,
      tarball: () => forge.tarball(seeded.mainSha),
      buildArgs: { BASE_IMAGE: baseImage },
    });
    const container = await docker.createContainer({
      name,
      Image: v1.tag,
      Env: ['APP_ENV=production', `GIT_SHA=${seeded.mainSha}`],
      Labels: { 'lugh.test': run },
      HostConfig: { RestartPolicy: { Name: 'unless-stopped' } },
    });
    await container.start();
    target = await gh.pushCommit('main', { message: 'Slow migration', files: { Dockerfile: DOCKERFILE } });
    env = instanceEnv({
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
        DEPLOY_HEALTH_SECONDS: '40',
        DEPLOY_VERIFY_SECONDS: '2',
        LOG_LEVEL: 'warn',
      },
    });
  }, 600_000);

  afterAll(async () => {
    await removeTestResources(docker, run);
    for (const c of await docker.listContainers({ all: true, filters: { name: [`^/${name}`] } })) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    }
    await client?.end();
    await db?.drop();
    await gh?.close();
    await tg?.close();
  });

  const query = async (sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows;

  it.each(STEPS)(
    'killed at %s: running the deployment again converges to one running container, a free lock and one final message',
    async (step) => {
      const [row] = await query(
        `INSERT INTO deployments (env, ref, trigger, requested_by) VALUES ('production', 'main', 'manual', $1) RETURNING id`,
        [ADMIN_ID],
      );
      const id = Number(row.id);
      const first = spawnLugh(['deploy-run', String(id)], env);
      let killedAt: string | undefined;
      for (let i = 0; i < 1200 && !killedAt; i++) {
        const [d] = await query('SELECT step, status FROM deployments WHERE id = $1', [id]);
        const reached = d.step && ORDER.indexOf(d.step) >= ORDER.indexOf(step);
        if (reached || d.status !== 'queued') {
          if (reached) {
            first.child.kill('SIGKILL');
            killedAt = d.step;
          }
        }
        if (!killedAt) await sleep(25);
      }
      expect(await first.exited).toBe('SIGKILL');
      const [after] = await query('SELECT status FROM deployments WHERE id = $1', [id]);
      // Killed while running, or (late in record) just after the row was finished.
      expect(killedAt === 'record' ? ['running', 'succeeded'] : ['running']).toContain(after.status);

      const again = await runLugh(['deploy-run', String(id)], env);
      expect(again.code, again.stderr).toBe(0);
      const [done] = await query('SELECT status, sha FROM deployments WHERE id = $1', [id]);
      expect(done).toEqual({ status: 'succeeded', sha: target });

      const containers = await docker.listContainers({ all: true, filters: { name: [`^/${name}`] } });
      const runningOnes = containers.filter((c) => c.State === 'running').map((c) => c.Names[0]);
      expect(runningOnes).toEqual([`/${name}`]);
      expect(containers.map((c) => c.Names[0]).sort()).toEqual([`/${name}`, `/${name}-previous`].sort());
      expect(await query(`SELECT owner FROM locks WHERE expires_at > now()`)).toEqual([]);
      const finals = tg
        .transcript(TOKEN, ADMIN_ID)
        .filter(
          (e) => e.kind === 'bot_message' && new RegExp(`^(✅|❌|↩️) Deploy #${id}\\b`).test(e.text ?? ''),
        );
      expect(finals.map((e) => (e.kind === 'bot_message' ? e.text : ''))).toHaveLength(1);
      const progress = tg
        .transcript(TOKEN, ADMIN_ID)
        .filter((e) => e.kind === 'bot_message' && (e.text ?? '').startsWith(`🚀 Deploy #${id} `));
      // One progress message, edited by both runs; a kill in the few milliseconds between
      // Telegram accepting it and its id reaching Postgres costs a second one.
      expect(progress.length).toBeGreaterThanOrEqual(1);
      expect(progress.length).toBeLessThanOrEqual(2);
    },
    180_000,
  );
});
