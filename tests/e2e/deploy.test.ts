// The deploy engine from chat: both instances, each deploying its own environment's
// container on the real Docker engine, from commits of the GitHub stand-in.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Instance, startInstance } from '../../src/app/instance.js';
import { type Config, createConfig, secretsOf } from '../../src/config/index.js';
import { createImageBuilder } from '../../src/deployer/image-builder.js';
import type { Forge } from '../../src/forge/forge.js';
import { createLogger } from '../../src/logger.js';
import { freePort } from '../../src/sandbox/free-port.js';
import type { GitHubStandIn } from '../../src/sandbox/github/index.js';
import {
  type Message,
  startTelegramStandIn,
  type TelegramStandIn,
} from '../../src/sandbox/telegram/index.js';
import { readDeployLock } from '../../src/store/instance-registry.js';
import { createRedis } from '../../src/store/redis.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../helpers/docker.js';
import { ADMIN_ID, instanceEnv, STRANGER_ID } from '../helpers/instance-env.js';
import { silentLogger } from '../helpers/logger.js';
import { startSeededGitHub } from '../helpers/seeded-github.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../helpers/services.js';

const { docker, engine } = await testDocker();
const GITHUB_TOKEN = 'ghs_deployCommandsTestToken';
const WEBHOOK_SECRET = 'deploy-commands-webhook-secret';
const TOKENS = {
  staging: '7002001:AADeployTestsStagingToken_abcdefghijk',
  production: '7002002:AADeployTestsProdToken_abcdefghijklmn',
};
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const stranger = { id: STRANGER_ID, first_name: 'Sam', username: 'sam' };

interface Side {
  config: Config;
  instance: Instance;
  db: TestDatabase;
  container: string;
  logs: string[];
}

describe.skipIf(!engine)('deploys from chat, on the real Docker engine (needs a Docker engine)', () => {
  const run = uniqueName('lugh-test-deploys');
  let tg: TelegramStandIn;
  let gh: GitHubStandIn;
  let forge: Forge;
  let seeded: { mainSha: string; developSha: string };
  let repoDir: string;
  // One Redis sub-prefix for both, as on a host: production reads what staging says it ran.
  const redisSub = randomUUID().slice(0, 8);
  const sides: Partial<Record<'staging' | 'production', Side>> = {};
  let baseImage: string;

  const side = (env: 'staging' | 'production') => sides[env]!;
  const running = async (name: string) =>
    (await docker.getContainer(name).inspect()) as Docker.ContainerInspectInfo;
  const runningSha = async (name: string) =>
    (await running(name)).Config.Env?.find((e) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length);

  async function startSide(env: 'staging' | 'production', port: number): Promise<Side> {
    const db = await createTestDatabase(env === 'staging' ? 'staging_lugh' : 'prod_lugh');
    const container = `${run}-${env}-app`;
    const config = createConfig(
      instanceEnv({
        appEnv: env,
        databaseUrl: db.url,
        apiRoot: tg.apiRoot,
        token: TOKENS[env],
        port,
        redisSub,
        extra: {
          GITHUB_TOKEN,
          GITHUB_REPO: `${gh.repo.owner}/${gh.repo.name}`,
          GITHUB_API_URL: gh.apiUrl,
          GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
          PROMOTE_POLL_SECONDS: '1',
          DEPLOY_CONTAINER: container,
          DEPLOY_IMAGE_REPOSITORY: run,
          DEPLOY_BASE_IMAGE: baseImage,
          DEPLOY_HEALTH_SECONDS: '40',
          DEPLOY_VERIFY_SECONDS: '2',
          LOG_LEVEL: 'info',
        },
      }),
    );
    const logs: string[] = [];
    const logger = createLogger({
      level: 'info',
      secrets: secretsOf(config),
      destination: { write: (l: string) => logs.push(l) },
    });
    const instance = await startInstance(config, logger, { resilientGitHub: false });
    await instance.telegram.ready;
    return { config, instance, db, container, logs };
  }

  beforeAll(async () => {
    baseImage = await ensureBaseImage(docker);
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKENS.staging, username: 'LughDevBot', firstName: 'Lugh Dev' });
    tg.registerBot({ token: TOKENS.production, username: 'LughBot', firstName: 'Lugh' });
    const stagingPort = await freePort();
    ({ gh, forge, seeded, repoDir } = await startSeededGitHub(GITHUB_TOKEN, {
      url: `http://127.0.0.1:${stagingPort}/webhooks/github`,
      secret: WEBHOOK_SECRET,
    }));
    // What both environments run at first: main's commit, one image for both.
    const builder = createImageBuilder({
      docker,
      logger: silentLogger,
      repository: run,
    });
    for (const env of ['staging', 'production'] as const) {
      const image = await builder.ensure({
        env,
        sha: seeded.mainSha,
        tarball: () => forge.tarball(seeded.mainSha),
        buildArgs: { BASE_IMAGE: baseImage },
      });
      const container = await docker.createContainer({
        name: `${run}-${env}-app`,
        Image: image.tag,
        Env: [`APP_ENV=${env}`, `GIT_SHA=${seeded.mainSha}`],
        // Production starts with a long boot log that mentions a secret: /logs must send it
        // as a file, redacted. (A deploy keeps the command, so every version does this.)
        Cmd:
          env === 'production'
            ? [
                'sh',
                '-c',
                `i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo "boot line $i: warming caches with ${GITHUB_TOKEN}"; done; exec node server.js`,
              ]
            : undefined,
        Labels: { 'lugh.test': run },
        HostConfig: { RestartPolicy: { Name: 'unless-stopped' } },
      });
      await container.start();
    }
    sides.staging = await startSide('staging', stagingPort);
    sides.production = await startSide('production', await freePort());
  }, 600_000);

  afterAll(async () => {
    for (const s of Object.values(sides)) {
      await s.instance.stop().catch(() => {});
      await s.db.drop().catch(() => {});
    }
    await removeTestResources(docker, run);
    await gh?.close();
    await tg?.close();
  });

  /** What the app in a container answers on /version, asked from inside it. */
  const appVersion = async (name: string): Promise<unknown> => {
    const exec = await docker.getContainer(name).exec({
      Cmd: ['node', '-e', "fetch('http://127.0.0.1:8080/version').then((r) => r.text()).then(console.log)"],
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => stream.on('end', resolve));
    return JSON.parse(Buffer.concat(chunks).toString('utf8').trim());
  };
  const say = (env: 'staging' | 'production', from: typeof admin, text: string) =>
    tg.sendText({ token: TOKENS[env], chat: { id: from.id, type: 'private' }, from, text });
  const reply = async (env: 'staging' | 'production', from: typeof admin, text: string) => {
    const sent = say(env, from, text);
    return tg.waitForBotMessage(TOKENS[env], from.id, (m) => m.message_id > sent.message_id, {
      timeoutMs: 15_000,
    });
  };
  const result = (env: 'staging' | 'production', id: number, timeoutMs = 180_000) =>
    tg.waitForBotMessage(
      TOKENS[env],
      admin.id,
      (m) => new RegExp(`^(🧪 STAGING · )?(✅|❌|↩️) Deploy #${id}\\b`).test(m.text ?? ''),
      { timeoutMs },
    );
  const press = (env: 'staging' | 'production', message: Message, label: string) => {
    const button = message.reply_markup?.inline_keyboard.flat().find((b) => b.text === label);
    if (!button?.callback_data) throw new Error(`no ${label} button`);
    return tg.pressButton({
      token: TOKENS[env],
      chatId: admin.id,
      messageId: message.message_id,
      data: button.callback_data,
      from: admin,
    });
  };
  const rows = async (env: 'staging' | 'production', sql: string) => {
    const client = new pg.Client({ connectionString: side(env).db.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };

  it('/deploy staging: queued, one progress message through every step, the result, and /history', async () => {
    const queued = await reply('staging', admin, '/deploy staging');
    expect(queued.text).toContain('Deploy #1 of develop to staging is queued');
    const done = await result('staging', 1);
    expect(done.text).toMatch(/✅ Deploy #1 done in [\d a-z]+: staging runs [0-9a-f]{7}\./);
    expect(done.text).toContain(seeded.developSha.slice(0, 7));
    expect(await runningSha(side('staging').container)).toBe(seeded.developSha);

    // One progress message, edited in place, never more than once a second, ending complete.
    const progress = tg
      .transcript(TOKENS.staging, admin.id)
      .filter((e) => e.kind === 'bot_message' && (e.text ?? '').includes('🚀 Deploy #1'));
    expect(progress).toHaveLength(1);
    const entry = progress[0]!;
    if (entry.kind !== 'bot_message') throw new Error('not a message');
    expect(entry.text).toContain('▰▰▰▰▰▰▰▰▰▰ 10/10');
    expect(entry.text).toMatch(/✅ resolve[\s\S]*✅ build[\s\S]*⏭ backup[\s\S]*⏭ migrate[\s\S]*✅ record/);
    const times = [entry.at, ...entry.edits.map((e) => e.at)];
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(950);

    const history = await reply('staging', admin, '/history');
    expect(history.text).toContain('Last deployments of staging');
    expect(history.text).toMatch(
      new RegExp(`✅ #1 ${seeded.developSha.slice(0, 7)} by @${admin.username} · .* succeeded`),
    );
  }, 240_000);

  it('/lock blocks /deploy and a push; /unlock frees it; locks and refusals are explained', async () => {
    const locked = await reply('staging', admin, '/lock staging database work 2h');
    expect(locked.text).toMatch(/🔒 staging is locked until .* UTC: “database work”/);
    // Published for the other instance (production's is what staging's /promote reads).
    const observer = createRedis(redisUrl(), { connectionName: 'deploy-test-observer' });
    try {
      expect(await readDeployLock(observer, side('staging').config.redisPrefix)).toMatchObject({
        owner: '@ada (1001)',
        reason: 'database work',
      });
    } finally {
      await observer.quit();
    }
    const refused = await reply('staging', admin, '/deploy staging');
    expect(refused.text).toContain('⛔ staging is locked by @ada (1001): “database work”');
    expect(refused.text).toContain('Nothing was queued');

    // A push to develop (deploy_on_push is on for staging) becomes a deployment the lock stops.
    const before = (await running(side('staging').container)).Id;
    const pushed = await gh.pushCommit('develop', {
      message: 'Tweak the greeting',
      files: { 'NOTES.md': 'a push while staging is locked\n' },
    });
    const blocked = await tg.waitForBotMessage(
      TOKENS.staging,
      admin.id,
      (m) => /❌ Deploy #\d+ failed at resolve: staging is locked by @ada/.test(m.text ?? ''),
      { timeoutMs: 20_000 },
    );
    expect(blocked.text).toContain('/unlock staging frees it');
    expect(
      await rows('staging', `SELECT sha, trigger, status FROM deployments WHERE trigger = 'push'`),
    ).toEqual([{ sha: pushed, trigger: 'push', status: 'failed' }]);
    expect((await running(side('staging').container)).Id).toBe(before);

    expect((await reply('staging', admin, '/lock staging another reason')).text).toContain(
      'Deploys of staging are refused',
    );
    expect((await reply('staging', admin, '/unlock staging')).text).toContain(
      '🔓 staging is unlocked (it was locked by @ada (1001): “another reason”)',
    );
    expect((await reply('staging', admin, '/unlock staging')).text).toContain('staging was not locked');
    const after = createRedis(redisUrl(), { connectionName: 'deploy-test-observer' });
    try {
      expect(await readDeployLock(after, side('staging').config.redisPrefix)).toBeUndefined();
    } finally {
      await after.quit();
    }
    expect((await reply('staging', admin, '/lock staging')).text).toContain('Say why');
  }, 120_000);

  it('/rollback offers the earlier releases, newest first; a tap asks to confirm, and Roll back deploys that commit again', async () => {
    // develop moved on (the push the lock stopped): deploy it, so there is something to go back from.
    const newer = (await reply('staging', admin, '/deploy staging')).text?.match(/Deploy #(\d+)/)?.[1];
    expect((await result('staging', Number(newer))).text).toContain('✅');
    const latest = await runningSha(side('staging').container);
    expect(latest).not.toBe(seeded.developSha);

    const picker = await reply('staging', admin, '/rollback staging');
    expect(picker.text).toContain(`It runs ${latest!.slice(0, 7)}`);
    const buttons = picker.reply_markup?.inline_keyboard.flat() ?? [];
    expect(buttons.map((b) => b.text)).toEqual([
      expect.stringMatching(new RegExp(`^${seeded.developSha.slice(0, 7)} · \\d+ (s|min).* ago$`)),
      // What ran before lugh's first deploy: the app container's commit, recorded when lugh
      // first started (first-release.ts), so even the first deploy can be rolled back.
      expect.stringMatching(new RegExp(`^${seeded.mainSha.slice(0, 7)} · \\d+ (s|min).* ago$`)),
    ]);
    tg.pressButton({
      token: TOKENS.staging,
      chatId: admin.id,
      messageId: picker.message_id,
      data: buttons[0]!.callback_data!,
      from: admin,
    });
    // The tap asks to confirm, naming the release and what runs now; Roll back deploys it.
    const confirm = await tg.waitForBotMessage(
      TOKENS.staging,
      admin.id,
      (m) =>
        m.message_id === picker.message_id &&
        (m.reply_markup?.inline_keyboard.flat() ?? []).some((b) =>
          b.callback_data?.startsWith('rollback:yes:'),
        ),
      { timeoutMs: 10_000 },
    );
    expect(confirm.text).toContain(`Roll staging back to ${seeded.developSha.slice(0, 7)}`);
    expect(confirm.text).toContain(`It runs ${latest!.slice(0, 7)} now`);
    tg.pressButton({
      token: TOKENS.staging,
      chatId: admin.id,
      messageId: picker.message_id,
      data: (confirm.reply_markup?.inline_keyboard.flat() ?? []).find((b) =>
        b.callback_data?.startsWith('rollback:yes:'),
      )!.callback_data!,
      from: admin,
    });
    const edited = await tg.waitForBotMessage(
      TOKENS.staging,
      admin.id,
      (m) => (m.text ?? '').includes('Rolling staging back'),
      {
        timeoutMs: 10_000,
      },
    );
    const id = Number(edited.text?.match(/deploy #(\d+)/)?.[1]);
    expect((await result('staging', id)).text).toContain(`staging runs ${seeded.developSha.slice(0, 7)}`);
    expect(await runningSha(side('staging').container)).toBe(seeded.developSha);
    expect((await reply('staging', admin, '/history staging')).text).toMatch(
      new RegExp(`✅ #${id} ${seeded.developSha.slice(0, 7)} by @${admin.username} \\(rollback\\)`),
    );
  }, 240_000);

  it('a /rollback button under a person’s /lock is refused at once, like /deploy, and creates no deployment', async () => {
    // After the rollback above, staging has earlier releases to offer.
    const picker = await reply('staging', admin, '/rollback staging');
    const button = picker.reply_markup?.inline_keyboard.flat()[0];
    expect(button?.callback_data).toMatch(/^rollback:\d+:\d+$/);
    const count = async () => {
      const [d] = await rows('staging', 'SELECT count(*) AS n FROM deployments');
      const [a] = await rows('staging', `SELECT count(*) AS n FROM audit_log WHERE action = '/rollback'`);
      return { deployments: Number(d.n), audited: Number(a.n) };
    };
    const before = await count();
    const locked = await reply('staging', admin, '/lock staging schema check 1h');
    expect(locked.text).toContain('🔒 staging is locked');
    try {
      const pressed = tg.pressButton({
        token: TOKENS.staging,
        chatId: admin.id,
        messageId: picker.message_id,
        data: button!.callback_data!,
        from: admin,
      });
      const refused = await tg.waitForBotMessage(
        TOKENS.staging,
        admin.id,
        (m) => m.message_id > locked.message_id && (m.text ?? '').includes('⛔ staging is locked by'),
        { timeoutMs: 10_000 },
      );
      expect(refused.text).toContain('⛔ staging is locked by @ada (1001): “schema check”');
      expect(refused.text).toContain('Nothing was queued; /unlock staging first');
      const answers = tg
        .transcript(TOKENS.staging, admin.id)
        .filter((e) => e.kind === 'callback_answer' && e.callback_query_id === pressed);
      expect(answers).toHaveLength(1);
      expect(await count()).toEqual(before);
    } finally {
      await reply('staging', admin, '/unlock staging');
    }
    const observer = createRedis(redisUrl(), { connectionName: 'deploy-test-observer' });
    try {
      expect(await readDeployLock(observer, side('staging').config.redisPrefix)).toBeUndefined();
    } finally {
      await observer.quit();
    }
  }, 60_000);

  it('refuses what it cannot do, saying what to send instead; strangers are refused and audited', async () => {
    expect((await reply('staging', admin, '/deploy production')).text).toContain(
      'This is the staging bot. Production is run by the production bot: send /deploy production to it, or /promote here',
    );
    expect((await reply('production', admin, '/history staging')).text).toContain(
      'This is the production bot. Staging is run by the staging bot',
    );
    expect((await reply('staging', admin, '/deploy')).text).toContain(
      'Say which environment: /deploy staging',
    );
    expect((await reply('staging', admin, '/deploy staging ../etc')).text).toContain(
      'is not a branch or commit name',
    );
    expect((await reply('staging', admin, '/logs staging 0')).text).toContain('1–1000 lines');
    expect((await reply('staging', stranger, '/deploy staging')).text).toContain(
      '/deploy is for lugh admins only',
    );
    const refusals = await rows('staging', `SELECT action FROM audit_log WHERE outcome = 'refused'`);
    expect(refusals.map((r) => r.action)).toContain('/deploy');
    // An unknown branch is a deployment that fails at resolve, with the reason.
    const queued = await reply('staging', admin, '/deploy staging no-such-branch');
    const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
    expect((await result('staging', id, 30_000)).text).toContain(
      'failed at resolve: "no-such-branch" is not a branch of the repository',
    );
  }, 120_000);

  it('/logs: the running container’s last lines, secrets redacted', async () => {
    const logs = await reply('staging', admin, '/logs staging 5');
    expect(logs.text).toMatch(/Last \d lines of staging/);
    // The seeded app logs its health checks.
    expect(logs.text).toContain('GET /healthz 200');
    expect(logs.text).not.toContain(TOKENS.staging.split(':')[1]);
  }, 30_000);

  it('/logs: a long tail comes as a file, secrets redacted', async () => {
    const sent = say('production', admin, '/logs production 1000');
    const file = await tg.waitForBotMessage(
      TOKENS.production,
      admin.id,
      (m) => m.message_id > sent.message_id && Boolean(m.document),
      { timeoutMs: 15_000 },
    );
    expect(file.caption).toMatch(/^Last \d+ lines of production \(secrets redacted\)$/);
    const entry = tg
      .transcript(TOKENS.production, admin.id)
      .find((e) => e.kind === 'bot_message' && e.message_id === file.message_id);
    const content = entry?.kind === 'bot_message' ? (entry.document?.content.toString('utf8') ?? '') : '';
    expect(entry?.kind === 'bot_message' && entry.document?.file_name).toBe('production-logs.txt');
    expect(content).toContain('boot line 200: warming caches with [redacted]');
    expect(content).not.toContain(GITHUB_TOKEN);
  }, 30_000);

  it('/deploy production asks first; Cancel changes nothing; Deploy backs up the database, then deploys', async () => {
    const ask = await reply('production', admin, '/deploy production');
    expect(ask.text).toContain(
      'Deploy main to production? A backup of the database is taken first (pg_dump).',
    );
    press('production', ask, 'Cancel');
    await tg.waitForBotMessage(TOKENS.production, admin.id, (m) => (m.text ?? '').includes('cancelled'), {
      timeoutMs: 10_000,
    });
    // Besides the release production ran when lugh first started (#0, recorded then).
    expect(await rows('production', `SELECT status FROM deployments WHERE trigger <> 'baseline'`)).toEqual([
      { status: 'cancelled' },
    ]);
    expect(await rows('production', `SELECT id, sha FROM deployments WHERE trigger = 'baseline'`)).toEqual([
      { id: '0', sha: seeded.mainSha },
    ]);

    const again = await reply('production', admin, '/deploy production');
    const id = Number(again.reply_markup?.inline_keyboard[0]?.[0]?.callback_data?.split(':')[2]);
    press('production', again, 'Deploy');
    const done = await result('production', id);
    expect(done.text).toContain(`production runs ${seeded.mainSha.slice(0, 7)}`);
    const [backup] = await rows('production', `SELECT detail FROM deployment_steps WHERE step = 'backup'`);
    expect(backup.detail).toMatch(/^production-\d{8}T\d{6}Z-[0-9a-f]{7}\.dump \(\d+ KiB\)$/);
    const dir = path.join(side('production').config.home, 'backups');
    expect(readdirSync(dir).filter((f) => f.endsWith('.dump'))).toHaveLength(1);
    // The image production got is the one built for main before: reused, not rebuilt.
    const [build] = await rows('production', `SELECT detail FROM deployment_steps WHERE step = 'build'`);
    expect(build.detail).toContain('(reused)');
  }, 240_000);

  it('a failing migration stops the deploy before the switch: the backup is kept, the old container keeps running', async () => {
    const sha = await gh.pushCommit('main', {
      message: 'A migration that fails',
      files: {
        Dockerfile: `ARG BASE_IMAGE=node:20-bookworm-slim
FROM \${BASE_IMAGE}
ARG GIT_SHA=unknown
ENV COMMIT_SHA=\${GIT_SHA} PORT=8080
WORKDIR /app
COPY package.json server.js ./
LABEL lugh.migrate='["node","-e","console.error(\\"relation users already exists\\"); process.exit(3)"]'
HEALTHCHECK --interval=2s --timeout=10s --start-period=5s --retries=2 CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
CMD ["node", "server.js"]
`,
      },
    });
    const before = (await running(side('production').container)).Id;
    const ask = await reply('production', admin, '/deploy production');
    const id = Number(ask.reply_markup?.inline_keyboard[0]?.[0]?.callback_data?.split(':')[2]);
    press('production', ask, 'Deploy');
    const failed = await result('production', id);
    expect(failed.text).toContain(`❌ Deploy #${id} failed at migrate: the migration exited with code 3`);
    expect(failed.text).toContain('relation users already exists');
    const running_ = await running(side('production').container);
    expect(running_.Id).toBe(before);
    expect(running_.State.Running).toBe(true);
    expect(await runningSha(side('production').container)).toBe(seeded.mainSha);
    const dir = path.join(side('production').config.home, 'backups');
    expect(readdirSync(dir).filter((f) => f.endsWith('.dump'))).toHaveLength(2);
    // No one-off container is left behind.
    const leftovers = await docker.listContainers({
      all: true,
      filters: { name: [`${side('production').container}-migrate`] },
    });
    expect(leftovers).toEqual([]);
    expect((await rows('production', `SELECT sha FROM deployments WHERE id = ${id}`))[0].sha).toBe(sha);
  }, 240_000);

  it('a forged handoff (a GitHub Deployment with a lugh payload staging never signed) is refused: failure on GitHub, audited, announced; production keeps running what it ran', async () => {
    const prod = side('production');
    const before = await running(prod.container);
    // What anyone with `deployments: write` could create: develop's commit, a made-up promotion.
    const forged = await forge.createDeployment(seeded.developSha, 'production', 'looks like lugh', {
      lugh: { promotionId: 424242, requestedBy: ADMIN_ID, chatId: ADMIN_ID },
    });
    const statusesOf = async () => {
      const res = await fetch(
        `${gh.apiUrl}/repos/${gh.repo.owner}/${gh.repo.name}/deployments/${forged.id}/statuses`,
        { headers: { authorization: `token ${GITHUB_TOKEN}` } },
      );
      return (await res.json()) as Array<{ state: string; description: string }>;
    };
    // Production polls GitHub's deployments every second here.
    await expect
      .poll(async () => (await statusesOf()).map((st) => st.state), { timeout: 30_000 })
      .toEqual(['failure']);
    expect((await statusesOf())[0]!.description).toMatch(/not signed/);
    expect(
      await rows('production', `SELECT id FROM deployments WHERE github_deployment_id = ${forged.id}`),
    ).toEqual([]);
    const audit = await rows(
      'production',
      `SELECT outcome, details FROM audit_log WHERE details->>'githubDeploymentId' = '${forged.id}'`,
    );
    expect(audit.map((a) => a.outcome)).toEqual(['refused']);
    const notices = await rows(
      'production',
      `SELECT text FROM notifications WHERE text LIKE '%GitHub deployment ${forged.id}%'`,
    );
    expect(notices).toHaveLength(1);
    const after = await running(prod.container);
    expect(after.Id).toBe(before.Id);
    expect(await runningSha(prod.container)).toBe(
      before.Config.Env?.find((e) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length),
    );
  }, 60_000);

  it('production runs the very image staging ran when the commit it deploys has the tree staging ran, and says so; another tree is built new', async () => {
    const staging = side('staging');
    const prod = side('production');
    // develop moves on; the push deploys staging (deploy_on_push).
    const head = await gh.pushCommit('develop', {
      message: 'Say hello in the README',
      files: { 'HELLO.md': 'hello from develop\n' },
    });
    const deployed = await tg.waitForBotMessage(
      TOKENS.staging,
      admin.id,
      (m) => new RegExp(`✅ Deploy #\\d+ done .*staging runs ${head.slice(0, 7)}`).test(m.text ?? ''),
      { timeoutMs: 180_000 },
    );
    expect(deployed.text).not.toContain('📦'); // staging compares with nothing
    const stagingImage = (await running(staging.container)).Image;
    const [stagingRow] = await rows('staging', `SELECT id, image_id FROM deployments WHERE sha = '${head}'`);
    expect(stagingRow.image_id).toBe(stagingImage);

    // What a promotion's merge makes: a merge commit on main with develop's tree (a new SHA).
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repoDir, ...args], {
        encoding: 'utf8',
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 'GitHub',
          GIT_AUTHOR_EMAIL: 'noreply@github.com',
          GIT_COMMITTER_NAME: 'GitHub',
          GIT_COMMITTER_EMAIL: 'noreply@github.com',
        },
      }).trim();
    const tree = git('rev-parse', `${head}^{tree}`);
    const merge = git(
      'commit-tree',
      tree,
      '-p',
      'refs/heads/main',
      '-p',
      head,
      '-m',
      'Merge develop into main',
    );
    git('update-ref', 'refs/heads/main', merge);
    expect(await forge.commitTree(merge)).toBe(tree);

    const ask = await reply('production', admin, '/deploy production');
    const id = Number(ask.reply_markup?.inline_keyboard[0]?.[0]?.callback_data?.split(':')[2]);
    press('production', ask, 'Deploy');
    const done = await result('production', id);
    expect(done.text).toContain(`production runs ${merge.slice(0, 7)}`);
    expect(done.text).toMatch(/📦 same image staging ran since \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    const prodInfo = await running(prod.container);
    expect(prodInfo.Image).toBe(stagingImage);
    // The image was built for develop's head; the container names the commit it runs.
    expect(prodInfo.Config.Env).toEqual(expect.arrayContaining([`GIT_SHA=${merge}`, `COMMIT_SHA=${merge}`]));
    expect(await appVersion(prod.container)).toMatchObject({ commit: merge });
    const [prodRow] = await rows(
      'production',
      `SELECT image_id, tree_sha, image_origin, image_reused_from_env, image_reused_from_deployment,
              image_reused_since FROM deployments WHERE id = ${id}`,
    );
    expect(prodRow).toMatchObject({
      image_id: stagingImage,
      tree_sha: tree,
      image_origin: 'reused',
      image_reused_from_env: 'staging',
      image_reused_from_deployment: String(stagingRow.id),
    });
    expect(prodRow.image_reused_since).toBeInstanceOf(Date);
    expect((await reply('production', admin, '/history')).text).toMatch(
      new RegExp(`✅ #${id} ${merge.slice(0, 7)} .* succeeded .* same image staging ran since`),
    );
    // Where the image came from is in /status's Details.
    const status = await reply('production', admin, '/status');
    press('production', status, 'Details');
    await expect
      .poll(() => {
        const e = tg
          .transcript(TOKENS.production, admin.id)
          .find((x) => x.kind === 'bot_message' && x.message_id === status.message_id);
        return e?.kind === 'bot_message' ? e.text : undefined;
      })
      .toContain('📦 same image staging ran since');

    // A hotfix on main: a tree staging never ran, so production builds its own image.
    const hotfix = await gh.pushCommit('main', {
      message: 'Hotfix straight on main',
      files: { 'HOTFIX.md': 'fixed on main\n' },
    });
    const again = await reply('production', admin, '/deploy production');
    const hotfixId = Number(again.reply_markup?.inline_keyboard[0]?.[0]?.callback_data?.split(':')[2]);
    press('production', again, 'Deploy');
    const built = await result('production', hotfixId);
    expect(built.text).toContain(`production runs ${hotfix.slice(0, 7)}`);
    expect(built.text).toContain('📦 built new: tree differs');
    expect((await running(prod.container)).Image).not.toBe(stagingImage);
    expect(await appVersion(prod.container)).toMatchObject({ commit: hotfix });
  }, 480_000);

  it('no secret reached a log line of either instance', () => {
    for (const s of Object.values(sides)) {
      const all = s.logs.join('');
      for (const secret of secretsOf(s.config)) expect(all).not.toContain(secret);
    }
  });
});
