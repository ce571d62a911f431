import { afterAll, describe, expect, it } from 'vitest';
import { type Instance, startInstance } from '../../src/app/instance.js';
import { createConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { closeRedis, createRedis, keyspace, type Redis } from '../../src/store/redis.js';
import { ADMIN_ID, instanceEnv } from '../helpers/instance-env.js';
import { FAKE_TOKEN } from '../helpers/lugh-process.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../helpers/services.js';

// grammY's simple polling confirms, on stop, only the updates up to the one being handled,
// yet goes on with the rest of its batch; the next poller is given that rest again.
describe('the poller handover hands each update over exactly once', () => {
  let tg: TelegramStandIn | undefined;
  let db: TestDatabase | undefined;
  const instances: Instance[] = [];
  let redis: Redis | undefined;
  afterAll(async () => {
    if (redis) await closeRedis(redis);
    for (const i of instances) await i.stop();
    await tg?.close();
    await db?.drop();
  });

  const handOverMidBatch = async (options: { leaseLost: boolean; pastFirstBatch?: boolean }) => {
    await tg?.close();
    tg = await startTelegramStandIn();
    tg.registerBot({ token: FAKE_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db ??= await createTestDatabase('staging_lugh');
    const sub = `once${Date.now()}`;
    const lines: string[] = [];
    const start = async () => {
      const config = createConfig(instanceEnv({ databaseUrl: db!.url, apiRoot: tg!.apiRoot, redisSub: sub }));
      const logger = createLogger({
        level: 'debug',
        secrets: [],
        destination: { write: (l: string) => lines.push(l) },
      });
      const instance = await startInstance(config, logger);
      instances.push(instance);
      return instance;
    };
    const chat = { id: -9191, type: 'group' as const, title: 'ops' };
    const say = (text: string) =>
      tg!.sendText({ token: FAKE_TOKEN, chat, from: { id: ADMIN_ID, first_name: 'Ada' }, text });
    const botMessages = () => tg!.transcript(FAKE_TOKEN, chat.id).filter((e) => e.kind === 'bot_message');

    const sendsTo = (id: number) =>
      tg!.calls(FAKE_TOKEN).filter((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === id)
        .length;
    const warm = options.pastFirstBatch ? await start() : undefined;
    if (warm) {
      // A first batch handled in another chat: the three below arrive in a later batch,
      // whose claims the old instance writes behind instead of waiting for them. They are
      // queued while its reply there is held up by a 429, so they come in one batch.
      const other = { id: -9292, type: 'group' as const, title: 'warm-up' };
      const sayThere = (text: string) =>
        tg!.sendText({ token: FAKE_TOKEN, chat: other, from: { id: ADMIN_ID, first_name: 'Ada' }, text });
      const first = sayThere('/version');
      await tg.waitForBotMessage(FAKE_TOKEN, other.id, (m) => m.message_id > first.message_id, {
        timeoutMs: 10_000,
      });
      expect(warm.telegram.knowsNew(Number.MAX_SAFE_INTEGER)).toBe(true);
      tg.injectFault({
        token: FAKE_TOKEN,
        method: 'sendMessage',
        chatId: other.id,
        kind: '429',
        retryAfter: 2,
      });
      sayThere('/version');
      await expect.poll(() => sendsTo(other.id), { timeout: 10_000 }).toBe(2);
    }
    // Pending before anyone polls, the three arrive in the old instance's first batch
    // (past its first batch: its next one, once the warm-up's reply went through).
    say('/whoami');
    say('/version');
    say('/flags');
    // The first reply is held up by a 429 (auto-retry waits it out): the old instance is
    // stopped while it handles the first update of its batch.
    // When the lease is lost instead, the first update outlasts the old one's renewal.
    tg.injectFault({
      token: FAKE_TOKEN,
      method: 'sendMessage',
      chatId: chat.id,
      kind: '429',
      retryAfter: options.leaseLost ? 15 : 2,
    });
    const old = warm ?? (await start());
    await expect.poll(() => sendsTo(chat.id), { timeout: 10_000 }).toBeGreaterThan(0);
    if (warm) expect(warm.telegram.knowsNew(Number.MAX_SAFE_INTEGER)).toBe(true);
    const next = await start();
    await expect.poll(() => next.telegram.status().state).toBe('standby');
    if (options.leaseLost) {
      // Taken by another for longer than a renewal period: the old one notices at its next
      // renewal and stops polling with nothing confirmed. Once the intruder's lease runs
      // out, whichever takes it is given the whole batch again: the new one skips what the
      // old one claimed; the old one asks again from what it left.
      redis ??= createRedis(redisUrl(), { connectionName: 'intruder' });
      await redis.set(keyspace(`staging:${sub}`).key('telegram', 'poller'), 'intruder', 'PX', 6_000);
      await expect.poll(() => old.telegram.status().state, { timeout: 10_000 }).toBe('standby');
      await expect
        .poll(() => [old, next].filter((i) => i.telegram.status().state === 'ok').length, { timeout: 15_000 })
        .toBe(1);
    } else {
      await old.stop();
      await expect.poll(() => next.telegram.status().state, { timeout: 10_000 }).toBe('ok');
    }

    // Updates are handled in order: once the fourth is answered, any repeat of the batch
    // would have been answered before it.
    const fourth = say('/whoami');
    await tg.waitForBotMessage(FAKE_TOKEN, chat.id, (m) => m.message_id > fourth.message_id, {
      timeoutMs: 10_000,
    });
    // Stopping waits for the update in flight: with the lease lost, the old one was still
    // handling the first one.
    await old.stop();
    const texts = botMessages().map((e) => e.text ?? '');
    expect(texts, texts.join('\n---\n')).toHaveLength(4);
    expect(texts.filter((t) => t.includes('Role: admin'))).toHaveLength(2);
    expect(lines.join('')).not.toContain('"telegram":"conflict"');
    await next.stop();
  };

  it(
    'a batch of three with the old instance stopped mid-batch: each update is answered once',
    () => handOverMidBatch({ leaseLost: false }),
    60_000,
  );

  it(
    'past its first batch (claims written behind), the old instance stopped mid-batch: each update is answered once',
    () => handOverMidBatch({ leaseLost: false, pastFirstBatch: true }),
    60_000,
  );

  it(
    'past its first batch (claims written behind), the old instance losing its lease mid-batch: each update is answered once',
    () => handOverMidBatch({ leaseLost: true, pastFirstBatch: true }),
    60_000,
  );

  it(
    'a batch of three with the old instance losing its lease mid-batch: the next one is given the batch again and answers only what the old one left',
    () => handOverMidBatch({ leaseLost: true }),
    60_000,
  );
});
