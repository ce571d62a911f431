// A production instance whose admins never opened a chat with its bot (Telegram lets no
// bot write first: "chat not found"). Nothing it has to say is lost for that: the start log
// names those admins, a deploy's report goes to the notify chat through the outbox and is
// kept for the requester until they /start the bot, and an admin's command menu is
// published the moment they first write.
import Docker from 'dockerode';
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnections } from '../../src/app/connections.js';
import { buildDeployParts } from '../../src/app/deploy-parts.js';
import { type Instance, startInstance } from '../../src/app/instance.js';
import { type Config, createConfig, secretsOf } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { readReach } from '../../src/notifications/chat-reach.js';
import { createRedactor } from '../../src/redact.js';
import { freePort } from '../../src/sandbox/free-port.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { closeRedis, createRedis } from '../../src/store/redis.js';
import { ADMIN_ID, instanceEnv } from '../helpers/instance-env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

const TOKEN = '7014001:AAUnopenedChatProdToken_abcdefghijkl';
const GROUP = -1014001;
const ada = { id: ADMIN_ID, first_name: 'Ada', username: 'ada' };
const bea = { id: ADMIN_ID + 1, first_name: 'Bea', username: 'bea' };

describe('a production bot whose admins never opened a chat with it', () => {
  let tg: TelegramStandIn;
  let db: TestDatabase;
  let config: Config;
  let instance: Instance;
  const lines: string[] = [];
  const logger = () =>
    createLogger({
      level: 'debug',
      secrets: secretsOf(config),
      destination: { write: (line: string) => lines.push(line) },
    });
  const texts = (chatId: number) =>
    tg.transcript(TOKEN, chatId).flatMap((e) => (e.kind === 'bot_message' && e.text ? [e.text] : []));
  const logged = () => lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: unknown });

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughBot', firstName: 'Lugh' });
    // The notify group: someone wrote there, so the bot may.
    tg.sendText({ token: TOKEN, chat: { id: GROUP, type: 'group', title: 'ops' }, from: ada, text: 'hi' });
    db = await createTestDatabase('prod_lugh');
    config = createConfig(
      instanceEnv({
        appEnv: 'production',
        databaseUrl: db.url,
        apiRoot: tg.apiRoot,
        token: TOKEN,
        port: await freePort(),
        extra: {
          ADMIN_IDS: `${ada.id},${bea.id}`,
          NOTIFY_CHAT_ID: String(GROUP),
          LOG_LEVEL: 'debug',
        },
      }),
    );
    instance = await startInstance(config, logger());
    await instance.telegram.ready;
  });
  afterAll(async () => {
    await instance?.stop().catch(() => {});
    await tg?.close();
    await db?.drop();
  });

  it('says at start which admins have not opened a chat with it, and publishes it for the other instance', async () => {
    // The check runs once the first batch of updates is handled (or a moment into the first
    // long poll, as here): it answers no update, so it does not come before the first reply.
    const warned = () =>
      logged()
        .filter((l) => l.level === 40 && /has not opened a chat with @LughBot/.test(l.msg))
        .map((l) => l.msg);
    await expect
      .poll(warned, { timeout: 10_000 })
      .toEqual([
        expect.stringMatching(new RegExp(`^admin ${ada.id} has not opened a chat with @LughBot yet.*/start`)),
        expect.stringMatching(new RegExp(`^admin ${bea.id} has not opened a chat with @LughBot yet.*/start`)),
      ]);
    // Telegram's known "chat not found" (the menus refused, the probes) is never a stack trace.
    expect(lines.filter((l) => /chat not found|not opened/.test(l) && /"stack"/.test(l))).toEqual([]);
    const redis = createRedis(config.redisUrl, { connectionName: 'unopened-chat-test' });
    try {
      await expect
        .poll(() => readReach(redis, config.redisPrefix))
        .toMatchObject({
          botUsername: 'LughBot',
          unreachableAdmins: [ada.id, bea.id],
          notifyChat: 'ok',
        });
    } finally {
      await closeRedis(redis);
    }
  });

  it("keeps a deploy's report for a requester who never opened the chat: the notify chat hears it, and the requester gets it on /start", async () => {
    // The deploy runs where `lugh deploy-run` runs it: its own connections, the bot's Api.
    // Its row has no BullMQ job here (a runner's has a live one), so the instance's engine
    // must have made its start-up sweep first: that sweep queues a job for any unfinished
    // deployment without one, and the instance would then run this deploy too.
    await expect
      .poll(() => logged().some((l) => /^deploy engine started/.test(l.msg)), { timeout: 30_000 })
      .toBe(true);
    const connections = openConnections(config, 'unopened-chat-runner');
    const api = new Api(TOKEN, { apiRoot: tg.apiRoot });
    const { deployments, notifier } = buildDeployParts(config, logger(), {
      docker: async () => new Docker(),
      connections,
      redact: createRedactor(secretsOf(config)),
      api: () => api,
    });
    try {
      const d = await deployments.create({
        env: 'production',
        ref: 'main',
        trigger: 'manual',
        requestedBy: ada.id,
        chatId: ada.id,
      });
      const before = lines.length;
      await deployments.stepStarted(d.id, 'resolve');
      await notifier.step(d.id, 'production', 'resolve');
      await deployments.stepFinished(d.id, 'resolve', 'succeeded');
      await deployments.stepStarted(d.id, 'build');
      await notifier.step(d.id, 'production', 'build');
      const sha = 'a'.repeat(40);
      await deployments.finish(d.id, { status: 'succeeded', sha });
      await notifier.finished(d.id, 'production', { status: 'succeeded', sha, message: 'healthy' });
      await notifier.flush();

      // The notify chat hears that the deploy runs and why its requester does not, then the result.
      await expect
        .poll(() => texts(GROUP).filter((t) => t.toLowerCase().includes(`deploy #${d.id}`)), {
          timeout: 10_000,
        })
        .toEqual([
          expect.stringMatching(new RegExp(`Deploy #${d.id}.*has not opened a chat with me.*/start`, 's')),
          expect.stringContaining(`deploy #${d.id} of main done`),
        ]);
      expect(texts(ada.id)).toEqual([]);
      // One clear warning for the unreachable chat, and no stack trace.
      const about = logged()
        .slice(before)
        .filter((l) => l.level >= 40 && /chat not found/.test(l.msg));
      expect(about).toHaveLength(1);
      expect(about[0]!.msg).toContain(`deploy #${d.id}`);
      expect(lines.slice(before).join('\n')).not.toMatch(/"stack"/);

      // Ada opens the chat: after the /start reply come the deploy's progress and its result.
      tg.sendText({ token: TOKEN, chat: { id: ada.id, type: 'private' }, from: ada, text: '/start' });
      await expect
        .poll(() => texts(ada.id), { timeout: 15_000 })
        .toEqual([
          expect.stringContaining('runs the production environment'),
          expect.stringMatching(new RegExp(`Deploy #${d.id}.*resolve`, 's')),
          expect.stringContaining(`Deploy #${d.id} done`),
        ]);
    } finally {
      await notifier.flush();
      await connections.close();
    }
  });

  it('takes an admin off the unreachable list when they first write', async () => {
    // Ada opened the chat in the test above; Bea has not.
    const redis = createRedis(config.redisUrl, { connectionName: 'unopened-chat-test' });
    try {
      await expect
        .poll(async () => (await readReach(redis, config.redisPrefix))?.unreachableAdmins, { timeout: 5_000 })
        .toEqual([bea.id]);
    } finally {
      await closeRedis(redis);
    }
  });

  it('/status names the admins it cannot write to yet', async () => {
    // Ada opened the chat above; Bea has not.
    const sent = tg.sendText({
      token: TOKEN,
      chat: { id: ada.id, type: 'private' },
      from: ada,
      text: '/status',
    });
    const reply = await tg.waitForBotMessage(
      TOKEN,
      ada.id,
      (m) => m.message_id > sent.message_id && (m.text ?? '').includes('Status'),
      { timeoutMs: 15_000 },
    );
    expect(reply.text).toContain(`cannot write to admin ${bea.id} yet (never opened a chat with it: /start)`);
    expect(reply.text).not.toContain(`admin ${ada.id}`);
  });

  it("publishes an admin's command menu when that admin first writes to the bot", async () => {
    const api = new Api(TOKEN, { apiRoot: tg.apiRoot });
    const scope = { type: 'chat' as const, chat_id: bea.id };
    // When the bot started, Telegram refused Bea's menu: she had never written to the bot.
    const refused = tg
      .calls(TOKEN)
      .filter(
        (c) =>
          c.method === 'setMyCommands' &&
          (c.params.scope as { chat_id?: number } | undefined)?.chat_id === bea.id,
      );
    expect(refused.length).toBeGreaterThan(0);
    tg.sendText({ token: TOKEN, chat: { id: bea.id, type: 'private' }, from: bea, text: 'hello' });
    await expect
      .poll(async () => (await api.getMyCommands({ scope })).map((c) => c.command), { timeout: 10_000 })
      .toContain('deploy');
  });
});
