// The notification outbox on real Postgres, sending through the Telegram stand-in: refusals
// (429, a blocked bot, a chat never started) are retried without holding the other rows,
// and a key is sent once, across restarts and racing senders.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationApi } from '../../../src/bot/notifications/notifications.js';
import { createOutboxSender } from '../../../src/bot/notifications/outbox-sender.js';
import { secretsOf } from '../../../src/config.js';
import { createRedactor } from '../../../src/redact.js';
import { createNotificationOutbox } from '../../../src/store/notifications.js';
import { createNotificationWorld, type NotificationWorld, quiet } from '../../helpers/notification-world.js';

const TOKEN = '7007001:AAOutboxTestsStagingToken_abcdefghij';
const ADA = 3101;
const BOB = 3102;
const CYD = 3103;
const DAN = 3104;

describe('notification outbox', () => {
  let world: NotificationWorld;
  beforeAll(async () => {
    world = await createNotificationWorld({ token: TOKEN });
  });
  afterAll(async () => {
    await world?.close();
  });

  const senderOn = (pool = world.pool(), extra: Partial<Parameters<typeof createOutboxSender>[0]> = {}) => {
    const outbox = createNotificationOutbox(pool);
    const sender = createOutboxSender({
      api: createNotificationApi(world.config),
      outbox,
      logger: quiet,
      redact: createRedactor(secretsOf(world.config)),
      pollMs: 50,
      backoff: { initialMs: 200, maxMs: 400 },
      ...extra,
    });
    return { outbox, sender, pool };
  };

  it('a 429, a blocked bot and a chat never started are retried later while the other rows go out; each is delivered once', async () => {
    for (const user of [ADA, BOB, DAN]) world.start(user);
    world.tg.blockBot(TOKEN, BOB);
    const { outbox, sender } = senderOn();
    world.tg.injectFault({ token: TOKEN, method: 'sendMessage', kind: '429', retryAfter: 1 });
    await outbox.enqueue('t1:ada', ADA, '✅ <b>staging</b>: for Ada');
    await outbox.enqueue('t1:bob', BOB, '✅ <b>staging</b>: for Bob');
    await outbox.enqueue('t1:cyd', CYD, '✅ <b>staging</b>: for Cyd');
    await outbox.enqueue('t1:dan', DAN, '✅ <b>staging</b>: for Dan');

    expect(await sender.sendDue()).toBe(4);
    // Dan's row went out although the three before it were refused.
    expect(world.botTexts(DAN)).toEqual(['🧪 STAGING · ✅ staging: for Dan']);
    const rows = Object.fromEntries((await outbox.all()).map((r) => [r.dedupKey, r]));
    expect(rows['t1:ada']).toMatchObject({ sentAt: null, attempts: 1 });
    expect(rows['t1:ada']!.lastError).toMatch(/^429 Too Many Requests: retry after 1/);
    expect(rows['t1:bob']!.lastError).toBe('403 Forbidden: bot was blocked by the user');
    expect(rows['t1:cyd']!.lastError).toBe('400 Bad Request: chat not found');
    expect(rows['t1:dan']!.sentAt).not.toBeNull();

    // Nothing is due again before retry_after; the blocked and unknown chats keep failing meanwhile.
    const adaCalls = () =>
      world.tg.calls(TOKEN).filter((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === ADA);
    sender.start();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(adaCalls()).toHaveLength(1);
    await expect.poll(() => world.botTexts(ADA), { timeout: 5_000 }).toHaveLength(1);
    expect(adaCalls()).toHaveLength(2);

    // Bob unblocks the bot (writing to it) and Cyd starts it: their rows are delivered.
    world.start(BOB);
    world.start(CYD);
    await expect
      .poll(async () => (await outbox.all()).filter((r) => r.sentAt !== null).length, { timeout: 5_000 })
      .toBe(4);
    await sender.stop();
    expect(world.botTexts(ADA)).toEqual(['🧪 STAGING · ✅ staging: for Ada']);
    expect(world.botTexts(BOB)).toEqual(['🧪 STAGING · ✅ staging: for Bob']);
    expect(world.botTexts(CYD)).toEqual(['🧪 STAGING · ✅ staging: for Cyd']);
    expect(world.botTexts(DAN)).toHaveLength(1);
    const bob = await outbox.get('t1:bob');
    expect(bob!.attempts).toBeGreaterThan(1);
    const last = world.tg.transcript(TOKEN, BOB).at(-1);
    expect(last?.kind === 'bot_message' && last.message_id).toBe(bob!.messageId);
  });

  it('a key is sent once across a restart: queued again by a new process on the same database, nothing new is sent', async () => {
    world.start(ADA);
    const before = world.botTexts(ADA).length;
    const first = senderOn();
    expect(await first.outbox.enqueue('deploy:staging:41', ADA, '✅ <b>staging</b>: deploy #41 done')).toBe(
      true,
    );
    // Refused once, and the process stops before the retry: the next one sends it.
    world.tg.injectFault({ token: TOKEN, method: 'sendMessage', kind: '429', retryAfter: 0 });
    await first.sender.sendDue();
    await first.pool.end();

    const second = senderOn();
    expect(await second.outbox.enqueue('deploy:staging:41', ADA, '✅ <b>staging</b>: deploy #41 done')).toBe(
      false,
    );
    await expect
      .poll(() => second.sender.sendDue().then(() => world.botTexts(ADA).length), { timeout: 5_000 })
      .toBe(before + 1);
    await second.pool.end();

    const third = senderOn();
    expect(await third.outbox.enqueue('deploy:staging:41', ADA, '✅ <b>staging</b>: deploy #41 done')).toBe(
      false,
    );
    expect(await third.sender.sendDue()).toBe(0);
    expect(world.botTexts(ADA).filter((t) => t.includes('deploy #41'))).toHaveLength(1);
  });

  it('two senders racing over one outbox never send a row twice', async () => {
    world.start(DAN);
    const before = world.botTexts(DAN).length;
    const a = senderOn();
    const b = senderOn();
    for (let i = 0; i < 30; i++) await a.outbox.enqueue(`race:${i}`, DAN, `race ${i}`);
    await Promise.all([
      (async () => {
        while ((await a.sender.sendDue()) > 0);
      })(),
      (async () => {
        while ((await b.sender.sendDue()) > 0);
      })(),
    ]);
    const texts = world.botTexts(DAN).slice(before);
    expect(texts).toHaveLength(30);
    expect(new Set(texts).size).toBe(30);
  });

  it('a row refused past its maximum age is given up and never sent', async () => {
    const { outbox, sender } = senderOn(undefined, { maxAgeMs: 300 });
    const STRANGER = 3199;
    await outbox.enqueue('old:1', STRANGER, 'never started');
    await sender.sendDue();
    await new Promise((resolve) => setTimeout(resolve, 450));
    world.start(STRANGER);
    await sender.sendDue();
    const row = await outbox.get('old:1');
    expect(row!.gaveUpAt).not.toBeNull();
    expect(row!.sentAt).toBeNull();
    expect(row!.lastError).toMatch(/chat not found; given up after/);
    await sender.sendDue();
    expect(world.botTexts(STRANGER)).toEqual([]);
  });
});
