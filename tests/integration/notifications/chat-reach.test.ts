// The reach check against the Telegram stand-in: which admins and notify chat a bot can
// write to, said once in the log (no stack), published in Redis, and brought up to date
// when a chat first writes.
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatProbe } from '../../../src/bot/notifications/chat-probe.js';
import { createLogger } from '../../../src/logger.js';
import { createChatReach, readReach } from '../../../src/notifications/chat-reach.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../../src/sandbox/telegram/index.js';
import { closeRedis, createRedis, type Redis } from '../../../src/store/redis.js';
import { redisUrl } from '../../helpers/services.js';

const TOKEN = '7214101:AAChatReachTestToken_abcdefghijklmnop';
const ADA = 4101;
const BEA = 4102;
const GROUP = -1004101;

describe('chat reach', () => {
  let tg: TelegramStandIn;
  let redis: Redis;
  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: TOKEN, username: 'LughBot', firstName: 'Lugh' });
    redis = createRedis(redisUrl(), { connectionName: 'chat-reach-test' });
  });
  afterAll(async () => {
    await closeRedis(redis);
    await tg?.close();
  });

  it('warns for each admin and a notify group the bot cannot write to, publishes it, and follows a chat that opens', async () => {
    tg.sendText({
      token: TOKEN,
      chat: { id: ADA, type: 'private' },
      from: { id: ADA, first_name: 'Ada' },
      text: '/start',
    });
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      secrets: [TOKEN],
      destination: { write: (l: string) => lines.push(l) },
    });
    const prefix = `prod:reach${Date.now().toString(36)}`;
    const released: number[] = [];
    const menus: number[] = [];
    const reach = createChatReach({
      adminIds: [ADA, BEA],
      notifyChatId: GROUP,
      probe: chatProbe(() => new Api(TOKEN, { apiRoot: tg.apiRoot })),
      logger,
      redis,
      prefix,
      release: async (chatId) => {
        released.push(chatId);
        return 0;
      },
      publishAdminMenu: async (adminId) => {
        menus.push(adminId);
        return true;
      },
    });
    reach.menuRefused([BEA]);
    const report = await reach.check('LughBot');
    expect(report).toMatchObject({
      botUsername: 'LughBot',
      unreachableAdmins: [BEA],
      notifyChat: 'not opened',
    });
    const warnings = lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 40);
    expect(warnings.map((w) => w.msg)).toEqual([
      expect.stringMatching(new RegExp(`^admin ${BEA} has not opened a chat with @LughBot yet`)),
      expect.stringMatching(new RegExp(`^the notify chat ${GROUP} is not open to @LughBot.*NOTIFY_CHAT_ID`)),
    ]);
    expect(lines.join('\n')).not.toMatch(/"stack"|AAChatReach/);
    expect(await readReach(redis, prefix)).toMatchObject({
      unreachableAdmins: [BEA],
      notifyChat: 'not opened',
    });

    // Bea writes, then someone writes in the group: both are reachable, each released once.
    await reach.wrote(BEA, BEA);
    await reach.wrote(BEA, BEA);
    await reach.wrote(GROUP, ADA);
    expect(released).toEqual([BEA, GROUP]);
    expect(menus).toEqual([BEA]);
    expect(await readReach(redis, prefix)).toMatchObject({ unreachableAdmins: [], notifyChat: 'ok' });
    expect(reach.current()).toMatchObject({ unreachableAdmins: [], notifyChat: 'ok' });
  });

  it('counts an admin and a notify group that write while the start-up check and menus run (after the first batch) as reached, and gives the admin the menu', async () => {
    const logger = createLogger({ level: 'warn', secrets: [TOKEN], destination: { write: () => {} } });
    const menus: number[] = [];
    const reach = createChatReach({
      adminIds: [ADA, BEA],
      notifyChatId: GROUP,
      // Telegram answered the probes just before Bea's and the group's first messages reached the bot.
      probe: async (id) => (id === ADA ? { state: 'ok' } : { state: 'not opened' }),
      logger,
      publishAdminMenu: async (adminId) => {
        menus.push(adminId);
        return true;
      },
    });
    await reach.wrote(BEA, BEA);
    await reach.wrote(GROUP, ADA);
    expect(await reach.check('LughBot')).toMatchObject({ unreachableAdmins: [], notifyChat: 'ok' });
    // Her menu was refused before her message: published now, as she will not write "first" again.
    reach.menuRefused([BEA]);
    await expect.poll(() => menus).toEqual([BEA]);
  });
});
