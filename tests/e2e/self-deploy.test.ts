// lugh deploying itself: its own image, built from this repository's Dockerfile on the
// local base image, runs as the staging app container; /deploy staging replaces that very
// container. The deploy runs in a runner container that outlives the switch, the new
// container takes over Telegram without a 409, and a new version with a bug is stopped
// by its health check before the switch.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageBuilder } from '../../src/deployer/image-builder.js';
import { createForge, type Forge } from '../../src/forge/forge.js';
import { createGitHubClient } from '../../src/forge/github-client.js';
import { createLogger } from '../../src/logger.js';
import { type GitHubStandIn, startGitHubStandIn } from '../../src/sandbox/github/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import {
  createDockerClient,
  dockerAvailable,
  ensureBaseImage,
  REPO_ROOT,
  removeTestResources,
  uniqueName,
} from '../helpers/docker.js';
import { ADMIN_ID } from '../helpers/instance-env.js';
import { type Relay, startRelay, throughRelay } from '../helpers/relay.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../helpers/services.js';

const docker = createDockerClient();
const engine = await dockerAvailable(docker);
const TOKEN = '7004001:AASelfDeployStagingToken_abcdefghijk';
const GITHUB_TOKEN = 'ghs_selfDeployTestToken';
const logger = createLogger({ level: 'silent', secrets: [] });
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };

describe.skipIf(!engine)('lugh deploys itself (needs a Docker engine and the npm registry)', () => {
  const run = uniqueName('lugh-test-self');
  const name = `${run}-staging-app`;
  let network: Docker.Network;
  let tg: TelegramStandIn;
  let gh: GitHubStandIn;
  let forge: Forge;
  let db: TestDatabase;
  const relays: Relay[] = [];
  let mainSha: string;

  const runningInfo = () => docker.getContainer(name).inspect();
  const shaOf = (info: Docker.ContainerInspectInfo) =>
    info.Config.Env?.find((e) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length);
  const ask = async (text: string, timeoutMs = 30_000) => {
    const sent = tg.sendText({ token: TOKEN, chat: { id: admin.id, type: 'private' }, from: admin, text });
    return tg.waitForBotMessage(TOKEN, admin.id, (m) => m.message_id > sent.message_id, { timeoutMs });
  };
  const finalOf = (id: number, timeoutMs: number) =>
    tg.waitForBotMessage(
      TOKEN,
      admin.id,
      (m) => new RegExp(`^🧪 STAGING · (✅|❌|↩️) Deploy #${id}\\b`).test(m.text ?? ''),
      {
        timeoutMs,
      },
    );

  beforeAll(async () => {
    const baseImage = await ensureBaseImage(docker);
    network = await docker.createNetwork({ Name: run, Labels: { 'lugh.test': run } });
    const gateway = (await network.inspect()).IPAM?.Config?.[0]?.Gateway as string;

    // The stand-ins listen where both this process and the containers reach them.
    tg = await startTelegramStandIn({ host: gateway });
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    const repoDir = path.join(mkdtempSync(path.join(tmpdir(), 'lugh-self-')), 'repo.git');
    execFileSync('git', ['clone', '--quiet', '--bare', '--no-local', REPO_ROOT, repoDir]);
    mainSha = execFileSync('git', ['-C', repoDir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    for (const branch of ['main', 'develop'])
      execFileSync('git', ['-C', repoDir, 'branch', '-f', branch, mainSha]);
    execFileSync('git', ['-C', repoDir, 'symbolic-ref', 'HEAD', 'refs/heads/main']);
    gh = await startGitHubStandIn({ repoDir, token: GITHUB_TOKEN, host: gateway });
    forge = createForge(
      createGitHubClient({ token: GITHUB_TOKEN, apiUrl: gh.apiUrl, logger, resilient: false }),
      gh.repo,
    );

    db = await createTestDatabase('staging_lugh');
    const pgRelay = await startRelay(gateway, Number(new URL(db.url).port));
    const redisRelay = await startRelay(gateway, Number(new URL(redisUrl()).port));
    relays.push(pgRelay, redisRelay);

    // lugh's own image of main, as `docker build` of this repository makes it.
    const image = await createImageBuilder({ docker, logger, repository: run }).ensure({
      env: 'staging',
      sha: mainSha,
      tarball: () => forge.tarball(mainSha),
      buildArgs: { BASE_IMAGE: baseImage },
    });
    const socketGid = String(statSync('/var/run/docker.sock').gid);
    const container = await docker.createContainer({
      name,
      Image: image.tag,
      Env: [
        'APP_ENV=staging',
        `TELEGRAM_BOT_TOKEN=${TOKEN}`,
        `TELEGRAM_API_ROOT=${tg.apiRoot}`,
        `DATABASE_URL=${throughRelay(db.url, pgRelay)}`,
        `REDIS_URL=${throughRelay(redisUrl(), redisRelay)}`,
        `REDIS_PREFIX=staging:${run.slice(-8)}`,
        'LUGH_HOME=/tmp/.lugh-staging',
        'PORT=3001',
        `ADMIN_IDS=${admin.id}`,
        `GITHUB_TOKEN=${GITHUB_TOKEN}`,
        `GITHUB_REPO=${gh.repo.owner}/${gh.repo.name}`,
        `GITHUB_API_URL=${gh.apiUrl}`,
        `DEPLOY_CONTAINER=${name}`,
        `DEPLOY_IMAGE_REPOSITORY=${run}`,
        `DEPLOY_BASE_IMAGE=${baseImage}`,
        'DEPLOY_HEALTH_SECONDS=150',
        'DEPLOY_VERIFY_SECONDS=5',
        'LOG_LEVEL=info',
      ],
      Labels: { 'lugh.test': run },
      HostConfig: {
        Binds: ['/var/run/docker.sock:/var/run/docker.sock'],
        GroupAdd: [socketGid],
        NetworkMode: run,
        RestartPolicy: { Name: 'unless-stopped' },
        Init: true,
      },
    });
    await container.start();
    // The bot answers from the container (and may write to the admin from now on).
    expect((await ask('/whoami', 90_000)).text).toContain('Role: admin');
  }, 900_000);

  afterAll(async () => {
    for (const c of await docker.listContainers({ all: true, filters: { name: [`^/${name}`] } })) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    }
    await removeTestResources(docker, run);
    await network?.remove().catch(() => {});
    for (const r of relays) await r.close();
    await gh?.close();
    await tg?.close();
    await db?.drop();
  }, 120_000);

  it('/deploy staging from the staging bot replaces its own container and reports to the end', async () => {
    const before = await runningInfo();
    const next = await gh.pushCommit('develop', {
      message: 'A change to ship',
      files: { 'docs/self-deploy-marker.txt': 'shipped by lugh itself\n' },
    });
    const queued = await ask('/deploy staging');
    const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
    const done = await finalOf(id, 600_000);
    expect(done.text).toContain(`✅ Deploy #${id} done`);
    expect(done.text).toContain(`staging runs ${next.slice(0, 7)}`);

    const after = await runningInfo();
    expect(after.Id).not.toBe(before.Id);
    expect(after.State.Running).toBe(true);
    expect(shaOf(after)).toBe(next);
    expect((await docker.getContainer(`${name}-previous`).inspect()).Id).toBe(before.Id);
    // The new container took over the bot: it answers, and no 409 was ever met.
    expect((await ask('/whoami', 60_000)).text).toContain('Role: admin');
    // Its worker re-attached to the runner container the old one started, and removed it.
    await expect
      .poll(
        async () =>
          (await docker.listContainers({ all: true, filters: { name: [`${name}-deploy-`] } })).length,
        {
          timeout: 120_000,
          interval: 2_000,
        },
      )
      .toBe(0);
  }, 900_000);

  it('a new version whose bot token Telegram rejects fails its health check; the running one is untouched', async () => {
    const before = await runningInfo();
    const config = execFileSync('git', ['-C', REPO_ROOT, 'show', 'HEAD:src/config.ts'], { encoding: 'utf8' });
    const broken = config.replace('token: raw.TELEGRAM_BOT_TOKEN,', 'token: `${raw.TELEGRAM_BOT_TOKEN}x`,');
    expect(broken).not.toBe(config);
    await gh.pushCommit('develop', { message: 'Mangle the token', files: { 'src/config.ts': broken } });
    const queued = await ask('/deploy staging');
    const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
    const failed = await finalOf(id, 600_000);
    expect(failed.text).toContain(`❌ Deploy #${id} failed at health`);
    expect(failed.text).toContain('keeps running');
    expect(failed.text).toContain('rejected this token');
    expect(failed.text).not.toContain(TOKEN.split(':')[1]);
    const after = await runningInfo();
    expect([after.Id, after.State.StartedAt, after.State.Running]).toEqual([
      before.Id,
      before.State.StartedAt,
      true,
    ]);
    expect((await ask('/whoami')).text).toContain('Role: admin');
  }, 900_000);
});
