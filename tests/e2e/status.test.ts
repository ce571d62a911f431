// /status: both environments, develop against main, CI and the open promotion, each
// source asked at once with its own deadline, so a dead or hanging one is "unknown — why".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Instance, startInstance } from '../../src/cli.js';
import { createConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { freePort } from '../../src/sandbox/free-port.js';
import type { GitHubStandIn } from '../../src/sandbox/github/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import {
  createDockerClient,
  dockerAvailable,
  ensureBaseImage,
  removeTestResources,
  uniqueName,
} from '../helpers/docker.js';
import { ADMIN_ID, instanceEnv, STRANGER_ID } from '../helpers/instance-env.js';
import { startSeededGitHub } from '../helpers/seeded-github.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

const docker = createDockerClient();
const engine = await dockerAvailable(docker);
const TOKENS = {
  staging: '7006001:AAStatusTestsStagingToken_abcdefghijk',
  production: '7006002:AAStatusTestsProdToken_abcdefghijklmn',
};
const GITHUB_TOKEN = 'ghs_statusTestToken';
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const stranger = { id: STRANGER_ID, first_name: 'Sam', username: 'sam' };

describe('/status', () => {
  const run = uniqueName('lugh-test-status');
  let tg: TelegramStandIn;
  let gh: GitHubStandIn;
  const dbs: TestDatabase[] = [];
  const instances: Instance[] = [];
  const sub = run.slice(-8);

  const start = async (env: 'staging' | 'production') => {
    const db = await createTestDatabase(env === 'staging' ? 'staging_lugh' : 'prod_lugh');
    dbs.push(db);
    const config = createConfig(
      instanceEnv({
        appEnv: env,
        databaseUrl: db.url,
        apiRoot: tg.apiRoot,
        token: TOKENS[env],
        port: await freePort(),
        redisSub: sub,
        extra: {
          GITHUB_TOKEN,
          GITHUB_REPO: `${gh.repo.owner}/${gh.repo.name}`,
          GITHUB_API_URL: gh.apiUrl,
          DEPLOY_CONTAINER: `${run}-${env}-app`,
          GIT_SHA: env === 'staging' ? 'a'.repeat(40) : 'b'.repeat(40),
          LOG_LEVEL: 'warn',
        },
      }),
    );
    const instance = await startInstance(config, createLogger({ level: 'silent', secrets: [] }), {
      resilientGitHub: false,
    });
    instances.push(instance);
    await instance.telegram.ready;
    return instance;
  };
  const ask = async (env: 'staging' | 'production', from: typeof admin, text = '/status') => {
    const sent = tg.sendText({ token: TOKENS[env], chat: { id: from.id, type: 'private' }, from, text });
    return tg.waitForBotMessage(TOKENS[env], from.id, (m) => m.message_id > sent.message_id, {
      timeoutMs: 15_000,
    });
  };

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKENS.staging, username: 'LughDevBot', firstName: 'Lugh Dev' });
    tg.registerBot({ token: TOKENS.production, username: 'LughBot', firstName: 'Lugh' });
    ({ gh } = await startSeededGitHub(GITHUB_TOKEN));
    if (engine) {
      // Staging's app container: a real one, so its state, CPU and memory show.
      const container = await docker.createContainer({
        name: `${run}-staging-app`,
        Image: await ensureBaseImage(docker),
        Cmd: ['sleep', '600'],
        Labels: { 'lugh.test': run },
      });
      await container.start();
    }
    await start('staging');
  }, 300_000);

  afterAll(async () => {
    for (const i of instances) await i.stop().catch(() => {});
    if (engine) await removeTestResources(docker, run);
    await gh?.close();
    await tg?.close();
    for (const db of dbs) await db.drop();
  });

  it('with production not started: its part is "unknown — why", the rest is there', async () => {
    const text = (await ask('staging', admin)).text ?? '';
    expect(text).toContain('staging (this bot)');
    expect(text).toContain('version aaaaaaa · up');
    expect(text).toContain('health ✅ db · ✅ redis · ✅ telegram');
    expect(text).toContain(
      'production\n  instance ❔ unknown — the production instance has not reported in the last minute',
    );
    expect(text).toContain('develop vs main develop 3 ahead, 0 behind');
    expect(text).toContain('promotion none in flight');
    if (engine)
      expect(text).toMatch(
        new RegExp(`container ${run}-staging-app running · CPU \\d+\\.\\d % · memory \\d+ MiB`),
      );
  }, 60_000);

  it('both environments, and a hanging GitHub only makes its lines unknown', async () => {
    await start('production');
    // Production publishes its status as soon as its bot connects.
    let both = '';
    await expect
      .poll(
        async () => {
          both = (await ask('staging', admin)).text ?? '';
          return both;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toContain('version bbbbbbb · up');
    expect(both).toContain('version bbbbbbb · up');
    expect(both).toContain(`container ❔ unknown — there is no container ${run}-production-app`);
    expect(both).toContain('no deploy running');
    expect(both).toContain('not locked');

    gh.injectFault({ route: 'GET /repos/{owner}/{repo}/compare/{basehead}', kind: 'hang', times: 1 });
    const hung = (await ask('staging', admin)).text ?? '';
    expect(hung).toMatch(/develop vs main ❔ unknown — no answer within 1800 ms/);
    expect(hung).toContain('health ✅ db · ✅ redis · ✅ telegram');
    // The production bot answers for both too, staging first as always.
    const fromProd = (await ask('production', admin)).text ?? '';
    expect(fromProd).toContain('production (this bot)');
    expect(fromProd.indexOf('staging\n')).toBeLessThan(fromProd.indexOf('production (this bot)'));
  }, 60_000);

  it('a stranger gets the short form; Refresh edits the message in place', async () => {
    expect((await ask('staging', stranger)).text).toBe('🧪 STAGING · staging: ✅ up\nproduction: ✅ up');
    const status = await ask('staging', admin);
    const refresh = status.reply_markup?.inline_keyboard[0]?.[0];
    expect(refresh?.text).toBe('Refresh');
    // A second later the uptime reads differently, so the refreshed report is a new text.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    tg.pressButton({
      token: TOKENS.staging,
      chatId: admin.id,
      messageId: status.message_id,
      data: refresh!.callback_data!,
      from: admin,
    });
    await expect
      .poll(
        () =>
          tg
            .transcript(TOKENS.staging, admin.id)
            .flatMap((e) => (e.kind === 'callback_answer' ? [e.text ?? ''] : [])),
        { timeout: 10_000 },
      )
      .toContain('[staging] Refreshed');
    // The uptime moved on: the same message shows the new report.
    await expect
      .poll(
        () => {
          const entry = tg
            .transcript(TOKENS.staging, admin.id)
            .find((e) => e.kind === 'bot_message' && e.message_id === status.message_id);
          return entry?.kind === 'bot_message' ? entry.edits.length : -1;
        },
        { timeout: 10_000 },
      )
      .toBe(1);
  }, 60_000);
});
