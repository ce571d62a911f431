// /status: both environments, develop against main, CI and the open promotion, each
// source asked at once with its own deadline, so a dead or hanging one is "unknown — why".
// Each source is taken down in turn; the reply still comes with everything else in it.
import Docker from 'dockerode';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Instance, type InstanceOptions, startInstance } from '../../src/app/instance.js';
import { createConfig } from '../../src/config/index.js';
import { freePort } from '../../src/sandbox/free-port.js';
import type { GitHubStandIn } from '../../src/sandbox/github/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { ownStatus } from '../../src/status/status-report.js';
import { publishStatus, readStatus } from '../../src/store/instance-registry.js';
import { closeRedis, createRedis } from '../../src/store/redis.js';
import { removeTestResources, startIdleAppContainers, testDocker, uniqueName } from '../helpers/docker.js';
import { ADMIN_ID, instanceEnv, STRANGER_ID } from '../helpers/instance-env.js';
import { silentLogger } from '../helpers/logger.js';
import { startSeededGitHub } from '../helpers/seeded-github.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../helpers/services.js';

const { docker, engine } = await testDocker();
const TOKENS = {
  staging: '7006001:AAStatusTestsStagingToken_abcdefghijk',
  production: '7006002:AAStatusTestsProdToken_abcdefghijklmn',
};
const GITHUB_TOKEN = 'ghs_statusTestToken';
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const stranger = { id: STRANGER_ID, first_name: 'Sam', username: 'sam' };
/** A Docker engine that is not there: every call fails to connect. */
const DEAD_SOCKET = '/nonexistent/lugh-status-test/docker.sock';
/** CPU from the background sampler: over the engine's last second, or since its last pass. */
const CPU = String.raw`CPU \d+\.\d %( over [^·,]+)?, sampled [^·]+`;

describe('/status', () => {
  const run = uniqueName('lugh-test-status');
  let tg: TelegramStandIn;
  let gh: GitHubStandIn;
  // Staging runs develop's head (untagged), production main's head (released as v1.0.0).
  let sha: { staging: string; production: string };
  const short = (env: 'staging' | 'production') => sha[env].slice(0, 7);
  const dbs: Partial<Record<'staging' | 'production', TestDatabase>> = {};
  /** Databases of further instances of an environment (a pre-flight). */
  const spareDbs: TestDatabase[] = [];
  const instances: Instance[] = [];
  const sub = run.slice(-8);

  const start = async (
    env: 'staging' | 'production',
    options: InstanceOptions = {},
    extra: Record<string, string> = {},
  ) => {
    const db = await createTestDatabase(env === 'staging' ? 'staging_lugh' : 'prod_lugh');
    if (dbs[env]) spareDbs.push(db);
    else dbs[env] = db;
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
          GIT_SHA: sha[env],
          LOG_LEVEL: 'warn',
          ...extra,
        },
      }),
    );
    const instance = await startInstance(config, silentLogger, {
      resilientGitHub: false,
      ...options,
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
  /** /status, then its Details button: the message as the edit leaves it. */
  const askDetails = async (env: 'staging' | 'production', from: typeof admin) => {
    const status = await ask(env, from);
    tg.pressButton({
      token: TOKENS[env],
      chatId: from.id,
      messageId: status.message_id,
      data: 'status:details',
      from,
    });
    let text = '';
    await expect
      .poll(
        () => {
          const entry = tg
            .transcript(TOKENS[env], from.id)
            .find((e) => e.kind === 'bot_message' && e.message_id === status.message_id);
          text = entry?.kind === 'bot_message' && entry.edits.length ? (entry.text ?? '') : '';
          return text;
        },
        { timeout: 10_000 },
      )
      .not.toBe('');
    return { text };
  };

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKENS.staging, username: 'LughDevBot', firstName: 'Lugh Dev' });
    tg.registerBot({ token: TOKENS.production, username: 'LughBot', firstName: 'Lugh' });
    const seeded = await startSeededGitHub(GITHUB_TOKEN);
    gh = seeded.gh;
    sha = { staging: seeded.seeded.developSha, production: seeded.seeded.mainSha };
    await seeded.forge.createRelease('v1.0.0', sha.production);
    // Both app containers are real ones, so state, CPU, memory and Docker's health show.
    if (engine) await startIdleAppContainers(docker, run);
    await start('staging');
  }, 300_000);

  afterAll(async () => {
    for (const i of instances) await i.stop().catch(() => {});
    if (engine) await removeTestResources(docker, run);
    await gh?.close();
    await tg?.close();
    for (const db of [...Object.values(dbs), ...spareDbs]) await db.drop();
  });

  it('with production not started: its part is "unknown — why", the rest is there', async () => {
    const text = (await askDetails('staging', admin)).text ?? '';
    expect(text).toContain('staging (this bot)');
    // The seeded commits are from January 2026: days old, whole days shown.
    expect(text).toMatch(new RegExp(`version ${short('staging')} \\(untagged, \\d+ d old\\) · up`));
    expect(text).toContain('health ✅ app: ready (own readiness check) · ✅ db · ✅ redis · ✅ telegram');
    expect(text).toContain(
      'production\n  instance ❔ unknown — the production instance has not reported in the last minute',
    );
    expect(text).toContain('develop vs main develop 3 ahead, 0 behind');
    expect(text).toContain('CI of develop nothing reported');
    expect(text).toContain('promotion none in flight');
    // CPU and memory come from the background sampler: at most its first pass is under way.
    if (engine)
      expect(text).toMatch(
        new RegExp(
          `container ${run}-staging-app running · (${CPU} · memory \\d+ MiB|CPU and memory: first sample under way)`,
        ),
      );
    expect(text).not.toContain('second sample');
  }, 60_000);

  it('a stale report of the other instance is unknown, with how old it is', async () => {
    // What a production instance that died 45 s ago left behind (the key outlives it by a minute).
    const redis = createRedis(redisUrl(), { connectionName: 'status-test' });
    const at = new Date(Date.now() - 45_000);
    await publishStatus(
      redis,
      `prod:${sub}`,
      ownStatus({
        env: 'production',
        gitSha: sha.production,
        startedAt: new Date(at.getTime() - 3_600_000),
        container: `${run}-production-app`,
        health: { status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' },
        now: at,
      }),
    );
    try {
      const text = (await askDetails('staging', admin)).text ?? '';
      expect(text).toMatch(
        /production\n {2}instance ❔ unknown — the production instance last reported 4\d s ago/,
      );
      expect(text).not.toContain(`version ${short('production')}`);
      expect(text).toMatch(new RegExp(`version ${short('staging')} \\(untagged, \\d+ d old\\) · up`));
      expect(text).toContain('develop vs main develop 3 ahead, 0 behind');
      expect(text).toContain('promotion none in flight');
    } finally {
      await redis.del(`prod:${sub}:public:status`);
      await closeRedis(redis);
    }
  }, 60_000);

  it('both environments, and a hanging compare shows its last answer, dated', async () => {
    // Production's Docker engine is unreachable: its own bot shows that further down.
    await start('production', { docker: new Docker({ socketPath: DEAD_SOCKET }) });
    // Production publishes its status as soon as its bot connects.
    let both = '';
    await expect
      .poll(
        async () => {
          both = (await askDetails('staging', admin)).text ?? '';
          return both;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toMatch(new RegExp(`version ${short('production')} \\(v1\\.0\\.0, \\d+ d old\\) · up`));
    expect(both).toContain('no deploy running');
    expect(both).toContain('not locked');
    if (engine) {
      // The other instance's app health is its container's Docker health check, and says so.
      await expect
        .poll(async () => (await askDetails('staging', admin)).text ?? '', { timeout: 15_000, interval: 500 })
        .toContain('health ✅ app: healthy (Docker health check) · ✅ db · ✅ redis · ✅ telegram');
      // The sampler's first pass has run: CPU is there, with when it was sampled.
      await expect
        .poll(async () => (await askDetails('staging', admin)).text ?? '', {
          timeout: 15_000,
          interval: 1_000,
        })
        .toMatch(new RegExp(`container ${run}-staging-app running · ${CPU} · memory \\d+ MiB`));
    }

    // Twice: once for /status, once for its Details.
    gh.injectFault({ route: 'GET /repos/{owner}/{repo}/compare/{basehead}', kind: 'hang', times: 2 });
    const hung = (await askDetails('staging', admin)).text ?? '';
    // GitHub answered an earlier /status within the minute: that answer, with its age.
    expect(hung).toMatch(/develop vs main develop 3 ahead, 0 behind \(as of \d+ s ago\)/);
    expect(hung).toContain('health ✅ app: ready (own readiness check) · ✅ db · ✅ redis · ✅ telegram');
    expect(hung).toMatch(new RegExp(`version ${short('production')} \\(v1\\.0\\.0, \\d+ d old\\)`));
    expect(hung).toContain('CI of develop nothing reported');
    expect(hung).toContain('promotion none in flight');
  }, 60_000);

  it('a hanging CI lookup shows its last answer, dated; the rest is fresh', async () => {
    // Twice: once for /status, once for its Details.
    gh.injectFault({ route: 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs', kind: 'hang', times: 2 });
    const text = (await askDetails('staging', admin)).text ?? '';
    expect(text).toMatch(/CI of develop nothing reported \(as of \d+ s ago\)/);
    expect(text).toContain('develop vs main develop 3 ahead, 0 behind');
    expect(text).toMatch(new RegExp(`version ${short('staging')} \\(untagged, \\d+ d old\\) · up`));
    expect(text).toContain('promotion none in flight');
  }, 60_000);

  it('a hanging tag lookup makes only the versions’ tag and age unknown', async () => {
    // Production's first /status: nothing cached yet, so both tag lookups reach GitHub and
    // hang, for /status and again for its Details.
    gh.injectFault({ route: 'GET /repos/{owner}/{repo}/tags', kind: 'hang', times: 4 });
    const text = (await askDetails('production', admin)).text ?? '';
    expect(text).toContain(
      `version ${short('staging')} (tag and age ❔ unknown — no answer within 1800 ms) · up`,
    );
    expect(text).toContain(
      `version ${short('production')} (tag and age ❔ unknown — no answer within 1800 ms) · up`,
    );
    // The production bot answers for both too, staging first as always.
    expect(text).toContain('production (this bot)');
    expect(text.indexOf('staging\n')).toBeLessThan(text.indexOf('production (this bot)'));
    expect(text).toContain('develop vs main develop 3 ahead, 0 behind');
    expect(text).toContain('CI of develop nothing reported');
    // GitHub answers again: the next /status has the tag.
    const next = (await askDetails('production', admin)).text ?? '';
    expect(next).toMatch(new RegExp(`version ${short('production')} \\(v1\\.0\\.0, \\d+ d old\\) · up`));
  }, 60_000);

  it('with the Docker engine unreachable, containers and the other app are unknown, the rest is there', async () => {
    const text = (await askDetails('production', admin)).text ?? '';
    const dead = `container ❔ unknown — connect ENOENT ${DEAD_SOCKET}`;
    expect(text.split(dead)).toHaveLength(3);
    // Staging's app health comes from Docker, which production cannot ask.
    expect(text).toContain(
      'health ❔ app: unknown (Docker health check, container unknown) · ✅ db · ✅ redis · ✅ telegram',
    );
    expect(text).toContain('health ✅ app: ready (own readiness check) · ✅ db · ✅ redis · ✅ telegram');
    expect(text).toMatch(new RegExp(`version ${short('staging')} \\(untagged, \\d+ d old\\) · up`));
    expect(text).toContain('develop vs main develop 3 ahead, 0 behind');
  }, 60_000);

  it('a failing promotion lookup only makes the promotion line unknown', async () => {
    const db = new pg.Client(dbs.staging!.url);
    await db.connect();
    await db.query('ALTER TABLE promotions RENAME TO promotions_away');
    try {
      const text = (await askDetails('staging', admin)).text ?? '';
      expect(text).toContain('promotion ❔ unknown — relation "promotions" does not exist');
      expect(text).toContain('develop vs main develop 3 ahead, 0 behind');
      expect(text).toContain('CI of develop nothing reported');
      expect(text).toMatch(new RegExp(`version ${short('production')} \\(v1\\.0\\.0, \\d+ d old\\) · up`));
    } finally {
      await db.query('ALTER TABLE promotions_away RENAME TO promotions');
      await db.end();
    }
  }, 60_000);

  it('an admin gets one phone screen: a line per environment, what waits, and Details/Refresh/History/Logs', async () => {
    const status = await ask('staging', admin);
    const lines = (status.text ?? '').split('\n');
    expect(lines[0]).toMatch(/^🧪 STAGING · 📊 Status · /);
    expect(lines[1]).toMatch(new RegExp(`^staging ${short('staging')} · ✅ · \\d+ d old$`));
    expect(lines[2]).toMatch(new RegExp(`^production v1\\.0\\.0 ${short('production')} · ✅ · \\d+ d old$`));
    // A GitHub answer slower than 150 ms (a loaded machine) gives the earlier one, dated.
    expect(lines[3]).toMatch(/^⏳ develop \+3( \(\d+ s ago\))? · CI none( \(\d+ s ago\))? · no promotion$/);
    expect(lines).toHaveLength(4);
    expect(status.text).not.toMatch(/CPU|memory|container|second sample/);
    expect(status.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual([
      'Details',
      'Refresh',
      'History',
      'Logs',
    ]);

    // Details: answered at once, then the same message shows everything, with a way back.
    tg.pressButton({
      token: TOKENS.staging,
      chatId: admin.id,
      messageId: status.message_id,
      data: 'status:details',
      from: admin,
    });
    const entry = () => {
      const e = tg
        .transcript(TOKENS.staging, admin.id)
        .find((x) => x.kind === 'bot_message' && x.message_id === status.message_id);
      return e?.kind === 'bot_message' ? e : undefined;
    };
    await expect.poll(() => entry()?.edits.length, { timeout: 10_000 }).toBe(1);
    expect(entry()?.text).toContain('staging (this bot)');
    expect(entry()?.text).toContain('health ✅ app: ready (own readiness check)');
    expect(entry()?.text).toContain('develop vs main develop 3 ahead, 0 behind');
    expect(
      entry()
        ?.reply_markup?.inline_keyboard.flat()
        .map((b) => b.text),
    ).toEqual(['Brief', 'Refresh', 'History', 'Logs']);
    const answers = tg.transcript(TOKENS.staging, admin.id).filter((x) => x.kind === 'callback_answer');
    expect(answers.at(-1)!.at).toBeLessThanOrEqual(entry()!.edits[0]!.at);

    // Brief: back to the one screen.
    tg.pressButton({
      token: TOKENS.staging,
      chatId: admin.id,
      messageId: status.message_id,
      data: 'status:brief',
      from: admin,
    });
    await expect.poll(() => entry()?.edits.length, { timeout: 10_000 }).toBe(2);
    expect(entry()?.text?.split('\n')).toHaveLength(4);
  }, 60_000);

  it('a stranger gets the short form; Refresh edits the message in place', async () => {
    // What /status alone asks GitHub: develop against main and CI. Each instance also asks
    // on its own schedule: production polls deployments, and the status each publishes
    // every 10 s looks up its version's tag and date (tags, commits) when its cache expires,
    // which may fall between two reads here (a full run once counted 121 against 120 with
    // those in the count; most likely one of them).
    const statusRequests = () =>
      gh.requests().filter((r) => /compare|check-runs|statuses|branches|graphql/.test(r.path)).length;
    // What an earlier test's report still had in flight lands first: 1.5 s with none new.
    let before = statusRequests();
    for (let quiet = 0; quiet < 3; ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = statusRequests();
      quiet = now === before ? quiet + 1 : 0;
      before = now;
    }
    expect((await ask('staging', stranger)).text).toBe('🧪 STAGING · staging: ✅ up\nproduction: ✅ up');
    // The short form asks GitHub nothing: a stranger cannot spend the token's hourly budget.
    expect(statusRequests()).toBe(before);
    const status = await ask('staging', admin);
    const refresh = status.reply_markup?.inline_keyboard[0]?.[1];
    expect(refresh?.text).toBe('Refresh');
    // Staging gets locked meanwhile: the refreshed report is a new text.
    await ask('staging', admin, '/lock staging refresh test');
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
    // The same message shows the new report, with the lock.
    const entry = () => {
      const e = tg
        .transcript(TOKENS.staging, admin.id)
        .find((x) => x.kind === 'bot_message' && x.message_id === status.message_id);
      return e?.kind === 'bot_message' ? e : undefined;
    };
    await expect.poll(() => entry()?.edits.length, { timeout: 10_000 }).toBe(1);
    expect(entry()?.text?.split('\n')[1]).toMatch(/^staging .* · 🔒 /);
    await ask('staging', admin, '/unlock staging');
  }, 60_000);

  it('a pre-flight container publishes nothing: the environment status stays the running app’s', async () => {
    const redis = createRedis(redisUrl(), { connectionName: 'status-test-preflight' });
    const published = async () => (await readStatus<{ gitSha?: string }>(redis, `staging:${sub}`))?.gitSha;
    try {
      await expect.poll(published).toBe(sha.staging);
      // A new version under its health check: same environment, same prefix, another commit.
      const preflight = await start('staging', {}, { LUGH_ROLE: 'preflight', GIT_SHA: sha.production });
      // It is up (standby behind the app's poller lease), and has had every chance to publish.
      await expect.poll(() => preflight.telegram.status().state).toBe('standby');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await published()).toBe(sha.staging);
    } finally {
      await closeRedis(redis);
    }
  }, 60_000);
});
