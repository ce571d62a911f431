// The chat commands of an environment that runs a service set (lugh.yml), over the Telegram
// stand-in, with the set's containers made directly on the real Docker engine (labelled as
// a deploy labels them: lugh.set, lugh.service, lugh.replica, lugh.sha) and the recorded set
// in a real Postgres: /logs <service> [replica], /status with a line per service, and
// /rollback taking the whole set back while refusing one service alone.
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerLogTail, setContainers } from '../../../src/app/service-containers.js';
import { buildSelfStatus } from '../../../src/app/status.js';
import { createBot } from '../../../src/bot/create-bot.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../../src/bot/telegram-runtime.js';
import { secretsOf } from '../../../src/config/index.js';
import { createDeployControl } from '../../../src/deploys/deploy-control.js';
import { createLogger } from '../../../src/logger.js';
import { createRedactor } from '../../../src/redact.js';
import { startTelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { createStatusService } from '../../../src/status/status-service.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import type { Redis } from '../../../src/store/redis.js';
import { ensureBaseImage, removeTestResources, testDocker, uniqueName } from '../../helpers/docker.js';
import { ADMIN_ID, instanceConfig, STRANGER_ID } from '../../helpers/instance-env.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

type StandIn = Awaited<ReturnType<typeof startTelegramStandIn>>;

const { docker, engine: hasDocker } = await testDocker();
const admin = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const TOKEN = '7007017:AAServiceSetCommandsStagingToken_ab';
const sha = (c: string) => c.repeat(40);
const SECRET = 'sk-set-secret-value-123456';

describe.skipIf(!hasDocker)('a service set in chat: /logs, /status and /rollback', () => {
  const run = uniqueName('lugh-test-set-chat');
  const app = `${run}-staging-app`;
  let tg: StandIn;
  let db: TestDatabase;
  let pool: Pool;
  let runtime: TelegramRuntime;
  let deployments: ReturnType<typeof createDeploymentStore>;
  const enqueued: number[] = [];

  /** A container that prints `lines` and idles, labelled as a set's container is. */
  async function start(name: string, labels: Record<string, string>, lines: string[], healthy = true) {
    const print = lines.map((l) => `console.log(${JSON.stringify(l)});`).join(' ');
    const container = await docker.createContainer({
      name,
      Image: await ensureBaseImage(docker),
      Cmd: ['node', '-e', `${print} setInterval(() => {}, 1 << 30)`],
      Env: [`GIT_SHA=${labels['lugh.sha'] ?? ''}`],
      Labels: { 'lugh.test': run, ...labels },
      Healthcheck: healthy ? { Test: ['CMD', 'true'], Interval: 1e9, StartPeriod: 0 } : undefined,
      HostConfig: { Init: true },
    });
    await container.start();
  }

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db = await createTestDatabase('staging_lugh');
    const config = instanceConfig({
      appEnv: 'staging',
      databaseUrl: db.url,
      apiRoot: tg.apiRoot,
      token: TOKEN,
      extra: { DEPLOY_CONTAINER: app },
    });
    const secrets = [...secretsOf(config), SECRET];
    const logger = createLogger({ level: 'warn', secrets, destination: { write: () => {} } });
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'set-chat-test');
    deployments = createDeploymentStore(pool);
    const locks = createLockStore(pool);
    const audit = createAuditLog(pool, 'staging');

    // Two releases; the running one deployed the set app ×2, worker, web.
    const older = await deployments.create({
      env: 'staging',
      ref: 'develop',
      sha: sha('a'),
      trigger: 'manual',
    });
    await deployments.finish(older.id, { status: 'succeeded', sha: sha('a') });
    // A release whose set had the worker: what /rollback worker alone offers.
    const withWorker = await deployments.create({
      env: 'staging',
      ref: 'develop',
      sha: sha('c'),
      trigger: 'manual',
    });
    await deployments.setServices(
      withWorker.id,
      {
        declared: true,
        services: [
          { name: 'worker', replicas: 1 },
          { name: 'app', replicas: 2 },
        ],
      },
      [],
    );
    await deployments.finish(withWorker.id, { status: 'succeeded', sha: sha('c') });
    const current = await deployments.create({
      env: 'staging',
      ref: 'develop',
      sha: sha('b'),
      trigger: 'manual',
    });
    await deployments.setServices(
      current.id,
      {
        declared: true,
        services: [
          { name: 'worker', replicas: 1 },
          { name: 'app', replicas: 2 },
          { name: 'web', replicas: 1 },
        ],
      },
      [],
    );
    await deployments.finish(current.id, { status: 'succeeded', sha: sha('b') });

    const set = (service: string, replica: number) => ({
      'lugh.set': app,
      'lugh.service': service,
      'lugh.replica': String(replica),
      'lugh.sha': sha('b'),
    });
    await start(app, { 'lugh.sha': sha('b') }, ['app one: listening']);
    await start(`${app}-2`, set('app', 2), ['app two: listening']);
    await start(
      `${app}-worker-1`,
      set('worker', 1),
      ['worker: took job 7', `worker: token ${SECRET}`],
      false,
    );
    // The worker a switch replaced, kept stopped for a rollback with the same labels: not a replica.
    await docker.createContainer({
      name: `${app}-worker-1-previous`,
      Image: await ensureBaseImage(docker),
      Cmd: ['node', '-e', 'console.log("old worker")'],
      Labels: { 'lugh.test': run, ...set('worker', 1), 'lugh.sha': sha('a') },
    });
    // A pre-flight of the next worker, running beside it with its labels: not a replica either.
    await start(`${app}-preflight-worker-1`, set('worker', 1), ['next worker: starting'], false);
    // No web container: the set asks for one; /status says it is missing.

    const self = buildSelfStatus(config, logger, {
      startedAt: new Date(),
      health: async () => ({ status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' }),
      redis: {} as Redis,
      deploys: { locks, deployments },
    });
    const { bot } = createBot({
      config,
      logger,
      audit,
      redact: createRedactor(secrets),
      deploys: createDeployControl({
        env: 'staging',
        deployments,
        locks,
        audit,
        enqueue: async (id) => {
          enqueued.push(id);
          return `job-${id}`;
        },
        // As app/instance.ts wires them.
        containerLogs: async (lines, container) => containerLogTail(docker, container ?? app, lines),
        serviceContainers: () => setContainers(docker, app),
        confirmMs: 60_000,
      }),
      status: createStatusService({
        env: 'staging',
        own: () => self.read(),
        ownContainer: app,
        other: async () => undefined,
        container: async (name) => ({ name, state: 'running' }),
        setContainers: (name) => setContainers(docker, name),
      }),
    });
    runtime = startTelegramRuntime(bot, { logger, backoff: { initialMs: 50, maxMs: 200 } });
    await runtime.ready;
    // Docker's first health check of the app containers has run.
    for (let i = 0; i < 100; i++) {
      const all = await setContainers(docker, app);
      if (all.filter((c) => c.health === 'healthy').length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 300_000);

  afterAll(async () => {
    await runtime?.stop();
    await pool?.end();
    await tg?.close();
    await db?.drop();
    await removeTestResources(docker as Docker, run);
  }, 60_000);

  async function say(text: string, from: { id: number; first_name: string } = admin) {
    const sent = tg.sendText({ token: TOKEN, chat: { id: from.id, type: 'private' }, from, text });
    return tg.waitForBotMessage(TOKEN, from.id, (m) => m.message_id > sent.message_id, {
      timeoutMs: 10_000,
    });
  }
  const press = (messageId: number, data: string) =>
    tg.pressButton({ token: TOKEN, chatId: ADMIN_ID, messageId, data, from: admin });
  const messageOf = (id: number) => {
    const m = tg.transcript(TOKEN, ADMIN_ID).find((e) => e.kind === 'bot_message' && e.message_id === id);
    return m && m.kind === 'bot_message' ? m : undefined;
  };
  const buttonsOf = (
    m: { reply_markup?: { inline_keyboard: Array<Array<{ callback_data?: string }>> } } | undefined,
  ) => (m?.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.callback_data);

  it('/logs <service> shows that service’s container, /logs app 2 the second replica, secrets redacted', async () => {
    const worker = await say('/logs worker');
    expect(worker.text).toContain('Last 2 lines of staging worker');
    expect(worker.text).toContain('worker: took job 7');
    expect(worker.text).not.toContain(SECRET);
    const second = await say('/logs app 2');
    expect(second.text).toContain(`Last 1 lines of staging app 2 (${app}-2)`);
    expect(second.text).toContain('app two: listening');
    const envFirst = await say('/logs staging worker 1 1');
    expect(envFirst.text).toContain('Last 1 lines of staging worker');
  });

  it('/logs alone stays the app container’s; an unknown service answers with the services there are', async () => {
    const plain = await say('/logs staging');
    expect(plain.text).toContain('Last 1 lines of staging\n');
    expect(plain.text).toContain('app one: listening');
    const unknown = await say('/logs mailer');
    expect(unknown.text).toContain('staging has no service mailer. Its services: app ×2, worker;');
    const replica = await say('/logs app 3');
    expect(replica.text).toContain('app runs 2 replicas in staging');
  });

  it('/status has a line per service: version, replicas ready of those the last deployment asked for, health', async () => {
    const status = await say('/status');
    const lines = status.text!.split('\n');
    expect(lines).toContain(`  app ${sha('b').slice(0, 7)} · 2/2 ready · ✅ healthy`);
    expect(lines).toContain(`  worker ${sha('b').slice(0, 7)} · 1/1 ready · ✅ running, no health check`);
    expect(lines).toContain('  web · 0/1 ready · ❌ no container');
  });

  it('/rollback says the whole set goes back; /rollback <service> is refused, saying why', async () => {
    const picker = await say('/rollback staging');
    expect(picker.text).toContain('A rollback takes the whole set back to that release: app ×2, worker.');
    const alone = await say('/rollback worker');
    expect(alone.text).toContain('worker alone is not rolled back: the set is the unit.');
    expect(alone.text).toContain('/rollback staging takes the whole set (app ×2, worker)');
    expect(alone.text).toContain('may not fit the version the other services run');
    const envFirst = await say('/rollback staging worker');
    expect(envFirst.text).toContain('worker alone is not rolled back');
    // The refusal points at the explicit form.
    expect(alone.text).toContain('say so: /rollback staging worker alone');
  });

  it('/rollback worker alone: admins only; an unknown service is refused naming the services there are', async () => {
    const stranger = await say('/rollback worker alone', { id: STRANGER_ID, first_name: 'Sam' });
    expect(stranger.text).toMatch(/admin/i);
    expect(stranger.reply_markup).toBeUndefined();
    const unknown = await say('/rollback staging mailer alone');
    expect(unknown.text).toContain('staging has no service mailer. Its services: app ×2, worker.');
    const unnamed = await say('/rollback staging alone');
    expect(unnamed.text).toContain('Name the service: /rollback staging <service> alone');
    expect((await say('/rollback alone')).text).toContain(
      'Name the service: /rollback staging <service> alone',
    );
  });

  it('/rollback worker alone offers the releases that had the worker, then warns what may break before Yes', async () => {
    const picker = await say('/rollback worker alone');
    expect(picker.text).toContain('Roll worker alone back to which release of staging?');
    expect(picker.text).toContain('Only worker goes back; app ×2 stay as they run.');
    // Only the release whose set had the worker (c); a (no lugh.yml) is not offered.
    const offered = buttonsOf(picker);
    expect(offered).toHaveLength(1);
    expect(picker.reply_markup?.inline_keyboard.flat()[0]?.text).toContain('ccccccc');
    const before = enqueued.length;
    press(picker.message_id, offered[0]!);
    await expect
      .poll(() => buttonsOf(messageOf(picker.message_id)).some((d) => d?.startsWith('rollback:yes:')))
      .toBe(true);
    const confirm = messageOf(picker.message_id)!;
    expect(confirm.text).toContain(
      'Roll worker alone back to ccccccc in staging? The set is the unit; this splits it.',
    );
    expect(confirm.text).toContain('worker will run ccccccc while app ×2 run bbbbbbb');
    expect(confirm.text).toContain('Migrations are not undone: the database stays as bbbbbbb left it');
    expect(confirm.text).toContain('The next deploy of the set');
    expect(confirm.text).toContain('nothing is migrated, and no other container is touched');
    expect(confirm.text).toMatch(/expire/);
    expect(enqueued.length).toBe(before);
    const [made] = (await deployments.recent('staging', 10, { unconfirmed: true })).filter(
      (d) => d.trigger === 'rollback',
    );
    expect(made).toMatchObject({ sha: sha('c'), onlyService: 'worker', status: 'awaiting_confirmation' });

    press(picker.message_id, buttonsOf(confirm).find((d) => d?.startsWith('rollback:yes:'))!);
    await expect.poll(() => messageOf(picker.message_id)?.text ?? '').toMatch(/is queued/);
    expect(messageOf(picker.message_id)?.text).toContain(
      `Rolling worker of staging alone back to ccccccc: deploy #${made!.id} is queued`,
    );
    expect(enqueued).toEqual([...enqueued.slice(0, before), made!.id]);
    await deployments.finish(made!.id, { status: 'failed', error: 'test' });
  });

  it('/status after a rollback of the worker alone: the set the environment runs is still the whole one', async () => {
    const { deployment } = await deployments.createRollback({
      env: 'staging',
      sha: sha('c'),
      requestKey: 'status-after-alone',
      only: 'worker',
    });
    await deployments.setServices(
      deployment.id,
      { declared: true, services: [{ name: 'worker', replicas: 1 }], only: 'worker' },
      [],
    );
    await deployments.finish(deployment.id, { status: 'succeeded', sha: sha('c') });
    const lines = (await say('/status')).text!.split('\n');
    // Replicas asked for come from the last release of the whole set (b), not the worker's alone.
    expect(lines).toContain(`  app ${sha('b').slice(0, 7)} · 2/2 ready · ✅ healthy`);
    expect(lines).toContain('  web · 0/1 ready · ❌ no container');
    // Nor is it a release /rollback offers.
    const picker = await say('/rollback staging');
    expect(picker.reply_markup?.inline_keyboard.flat().map((b) => b.text.slice(0, 7))).toEqual([
      'ccccccc',
      'aaaaaaa',
    ]);
    expect(picker.text).toContain(`It runs ${sha('b').slice(0, 7)}`);
  });
});
