// lugh deploying itself: its own image, built from this repository's Dockerfile on the
// local base image, runs as the staging app container; /deploy staging replaces that very
// container. The deploy runs in a runner container that outlives the switch, the new
// container takes over Telegram without a 409, and a new version with a bug is stopped
// by its health check before the switch.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitShaOf, REPO_ROOT, testDocker } from '../helpers/docker.js';
import { ADMIN_ID } from '../helpers/instance-env.js';
import { type LughInDocker, SELF_TOKEN, startLughInDocker } from '../helpers/lugh-in-docker.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../helpers/services.js';

const { docker, engine } = await testDocker();

describe.skipIf(!engine)('lugh deploys itself (needs a Docker engine and the npm registry)', () => {
  let db: TestDatabase;
  let lugh: LughInDocker;

  beforeAll(async () => {
    db = await createTestDatabase('staging_lugh');
    lugh = await startLughInDocker(docker, { databaseUrl: db.url, redisUrl: redisUrl(), adminId: ADMIN_ID });
    // The bot answers from the container (and may write to the admin from now on).
    const whoami = await lugh.ask('/whoami', 90_000);
    expect(whoami.text).toContain('Role: admin');
    expect(whoami.text).toContain(`Version: ${lugh.mainSha.slice(0, 7)}`);
  }, 900_000);

  afterAll(async () => {
    await lugh?.close();
    await db?.drop();
  }, 120_000);

  it('/deploy staging from the staging bot replaces its own container and reports to the end', async () => {
    const before = await lugh.running();
    const next = await lugh.gh.pushCommit('develop', {
      message: 'A change to ship',
      files: { 'docs/self-deploy-marker.txt': 'shipped by lugh itself\n' },
    });
    const queued = await lugh.ask('/deploy staging');
    const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
    const done = await lugh.finalOf(id, 600_000);
    expect(done.text).toContain(`✅ Deploy #${id} done`);
    expect(done.text).toContain(`staging runs ${next.slice(0, 7)}`);

    const after = await lugh.running();
    expect(after.Id).not.toBe(before.Id);
    expect(after.State.Running).toBe(true);
    expect(gitShaOf(after)).toBe(next);
    expect((await docker.getContainer(`${lugh.name}-previous`).inspect()).Id).toBe(before.Id);
    // The new container took over the bot: it answers with the new version.
    expect((await lugh.ask('/whoami', 60_000)).text).toContain(`Version: ${next.slice(0, 7)}`);
    // Its worker re-attached to the runner container the old one started, and removed it.
    await expect
      .poll(
        async () =>
          (await docker.listContainers({ all: true, filters: { name: [`${lugh.name}-deploy-`] } })).length,
        { timeout: 120_000, interval: 2_000 },
      )
      .toBe(0);
  }, 900_000);

  it('a new version whose bot token Telegram rejects fails its health check; the running one is untouched', async () => {
    const before = await lugh.running();
    const file = 'src/config/core.ts';
    const config = execFileSync('git', ['-C', REPO_ROOT, 'show', `HEAD:${file}`], { encoding: 'utf8' });
    const check =
      ".refine(isBotToken, 'is not a bot token (expected <bot id>:<secret> as @BotFather prints it)')";
    const broken = config.replace(check, `${check}.transform((token) => \`\${token}x\`)`);
    expect(broken).not.toBe(config);
    await lugh.gh.pushCommit('develop', { message: 'Mangle the token', files: { [file]: broken } });
    const queued = await lugh.ask('/deploy staging');
    const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
    const failed = await lugh.finalOf(id, 600_000);
    expect(failed.text).toContain(`❌ Deploy #${id} failed at health`);
    expect(failed.text).toContain('keeps running');
    expect(failed.text).toContain('rejected this token');
    expect(failed.text).not.toContain(SELF_TOKEN.split(':')[1]);
    const after = await lugh.running();
    expect([after.Id, after.State.StartedAt, after.State.Running]).toEqual([
      before.Id,
      before.State.StartedAt,
      true,
    ]);
    expect((await lugh.ask('/whoami')).text).toContain('Role: admin');
  }, 900_000);
});
