// lugh deploying itself on Swarm: its own image, built from this repository on the local
// base image, runs as the staging app's Swarm service (DEPLOY_RUNTIME=swarm); /deploy
// staging updates that very service. No runner container: Swarm starts the new task
// while the old one runs (start-first), the old one hands the poller lease over when Swarm
// stops it, and the new task finishes the deployment it was started by: the row, the lock
// and the one final message.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeployLock } from '../../src/store/instance-registry.js';
import { closeRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { testDocker } from '../helpers/docker.js';
import { ADMIN_ID } from '../helpers/instance-env.js';
import { type LughInSwarm, SWARM_SELF_TOKEN, startLughInSwarm } from '../helpers/lugh-in-swarm.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../helpers/services.js';

const { docker, engine } = await testDocker();

describe.skipIf(!engine)(
  'lugh deploys itself on Swarm (needs a Docker engine that is a swarm manager)',
  () => {
    let db: TestDatabase;
    let lugh: LughInSwarm;
    let sql: pg.Client;
    let redis: Redis;

    beforeAll(async () => {
      db = await createTestDatabase('staging_lugh');
      lugh = await startLughInSwarm(docker, { databaseUrl: db.url, redisUrl: redisUrl(), adminId: ADMIN_ID });
      const whoami = await lugh.ask('/whoami', 120_000);
      expect(whoami.text).toContain('Role: admin');
      expect(whoami.text).toContain(`Version: ${lugh.mainSha.slice(0, 7)}`);
      sql = new pg.Client({ connectionString: db.url });
      await sql.connect();
      redis = createRedis(redisUrl(), { connectionName: 'swarm-self-deploy-test' });
    }, 900_000);

    afterAll(async () => {
      await sql?.end();
      if (redis) await closeRedis(redis);
      await lugh?.close();
      await db?.drop();
    }, 120_000);

    it('/deploy staging from the staging bot replaces its own task and reports to the end, once', async () => {
      const [before] = await lugh.runningTasks();
      expect(before).toBeDefined();
      const next = await lugh.gh.pushCommit('develop', {
        message: 'A change to ship on Swarm',
        files: { 'docs/swarm-self-deploy-marker.txt': 'shipped by lugh itself, on Swarm\n' },
      });
      const queued = await lugh.ask('/deploy staging');
      const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
      expect(id).toBeGreaterThan(0);
      const done = await lugh.finalOf(id, 400_000);
      expect(done.text).toContain(`✅ Deploy #${id} done`);
      expect(done.text).toContain(`staging runs ${next.slice(0, 7)}`);

      // One task runs, a new one, of the new commit; the service's spec says so too.
      const running = await lugh.runningTasks();
      expect(running.map((t) => t.id)).toHaveLength(1);
      expect(running[0]?.id).not.toBe(before?.id);
      expect(await lugh.specSha()).toBe(next);
      // The new task answers the chat, with the new version.
      expect((await lugh.ask('/whoami', 60_000)).text).toContain(`Version: ${next.slice(0, 7)}`);

      const { rows } = await sql.query('SELECT status, sha FROM deployments WHERE id = $1', [id]);
      expect(rows).toEqual([{ status: 'succeeded', sha: next }]);
      expect((await sql.query('SELECT owner FROM locks WHERE expires_at > now()')).rows).toEqual([]);
      expect(await readDeployLock(redis, lugh.redisPrefix)).toBeUndefined();
      // The secrets are Docker secrets, read through *_FILE: none is in the spec's plain env.
      const spec = (await (await lugh.service()).inspect()).Spec;
      const env: string[] = spec?.TaskTemplate?.ContainerSpec?.Env ?? [];
      expect(env.filter((e) => /^(TELEGRAM_BOT_TOKEN|GITHUB_TOKEN|DATABASE_URL)=/.test(e))).toEqual([]);
      expect(JSON.stringify(spec)).not.toContain(SWARM_SELF_TOKEN.split(':')[1]);
      // No runner container: Swarm did the switch.
      expect(await docker.listContainers({ all: true, filters: { name: [`${lugh.name}-deploy-`] } })).toEqual(
        [],
      );
      // Exactly one final message, even after the stalled job of the stopped task came back.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const finals = lugh.tg
        .transcript(SWARM_SELF_TOKEN, lugh.admin.id)
        .filter((e) => e.kind === 'bot_message' && lugh.isFinal(id, e.text));
      expect(finals).toHaveLength(1);
    }, 900_000);

    it('every command sent while lugh replaces its own task is answered exactly once, by the old task or the new', async () => {
      const { tg, admin } = lugh;
      const oldVersion = (await lugh.specSha())?.slice(0, 7) ?? '';
      const next = await lugh.gh.pushCommit('develop', {
        message: 'Docs only, shipped while the admin keeps writing',
        files: { 'docs/swarm-self-deploy-updates.txt': 'written while the bot was busy\n' },
      });
      const newVersion = next.slice(0, 7);
      const versionOf = (text: string) =>
        text.includes(newVersion) ? 'new' : text.includes(oldVersion) ? 'old' : undefined;
      const queued = await lugh.ask('/deploy staging');
      const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
      expect(id).toBeGreaterThan(0);

      // One /version every 150 ms, each in a group chat of its own: the bot's answers in that
      // chat are the answers to that one update, whichever task handled it.
      const sent: number[] = [];
      let done = false;
      const streaming = (async () => {
        while (!done) {
          const chatId = -(8_000_000 + sent.length + 1);
          tg.sendText({
            token: SWARM_SELF_TOKEN,
            chat: { id: chatId, type: 'group', title: `stream ${sent.length + 1}` },
            from: admin,
            text: '/version',
          });
          sent.push(chatId);
          await new Promise((resolve) => setTimeout(resolve, 150));
        }
      })();
      try {
        const final = await lugh.finalOf(id, 400_000);
        expect(final.text).toContain(`✅ Deploy #${id} done`);
        // A few more seconds of the stream to the new task.
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      } finally {
        done = true;
        await streaming;
      }
      const answersOf = (chatId: number) =>
        tg.transcript(SWARM_SELF_TOKEN, chatId).flatMap((e) => (e.kind === 'bot_message' ? [e] : []));
      await expect
        .poll(() => sent.filter((c) => answersOf(c).length === 0).length, {
          timeout: 60_000,
          interval: 1_000,
        })
        .toBe(0)
        .catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // time for a second answer to show up
      const answers = sent.map((chatId) => ({ chatId, replies: answersOf(chatId) }));
      const lost = answers.filter((a) => a.replies.length === 0);
      const twice = answers.filter((a) => a.replies.length > 1);
      const by = (v: 'old' | 'new') =>
        answers.filter((a) => versionOf(a.replies[0]?.text ?? '') === v).length;
      console.log(
        `swarm self-deploy updates: ${JSON.stringify({ sent: sent.length, lost: lost.length, twice: twice.length, byOld: by('old'), byNew: by('new') })}`,
      );
      expect(twice.map((a) => a.chatId)).toEqual([]);
      expect(lost.map((a) => a.chatId)).toEqual([]);
      // The handover happened inside the stream: both tasks answered some of it.
      expect(by('old')).toBeGreaterThan(10);
      expect(by('new')).toBeGreaterThan(10);
    }, 900_000);
  },
);
