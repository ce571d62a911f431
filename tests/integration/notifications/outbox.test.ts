// The notification outbox on real Postgres, sending through the Telegram stand-in: refusals
// (429, a blocked bot, a chat never started) are retried without holding the other rows,
// and a key is sent once, across restarts and racing senders.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationChat } from '../../../src/bot/notifications/telegram-notification-chat.js';
import { secretsOf } from '../../../src/config/index.js';
import { createOutboxSender } from '../../../src/notifications/outbox-sender.js';
import { createRedactor } from '../../../src/redact.js';
import { createNotificationOutbox, type NotificationOutbox } from '../../../src/store/notifications.js';
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
      chat: createNotificationChat(world.config, createRedactor(secretsOf(world.config))),
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
    const { outbox, sender, pool } = senderOn();
    world.tg.injectFault({ token: TOKEN, method: 'sendMessage', kind: '429', retryAfter: 1 });
    await outbox.enqueue('t1:ada', ADA, '✅ <b>staging</b>: for Ada');
    await outbox.enqueue('t1:bob', BOB, '✅ <b>staging</b>: for Bob');
    await outbox.enqueue('t1:cyd', CYD, '✅ <b>staging</b>: for Cyd');
    await outbox.enqueue('t1:dan', DAN, '✅ <b>staging</b>: for Dan');

    const dbNow = async () => (await pool.query('SELECT now() AS t')).rows[0].t as Date;
    const beforeRound = await dbNow();
    expect(await sender.sendDue()).toBe(4);
    const afterRound = await dbNow();
    // Dan's row went out although the three before it were refused.
    expect(world.botTexts(DAN)).toEqual(['🧪 STAGING · ✅ staging: for Dan']);
    const rows = Object.fromEntries((await outbox.all()).map((r) => [r.dedupKey, r]));
    // A 429 is not a refusal of the row: it waits, and does not count toward giving up.
    expect(rows['t1:ada']).toMatchObject({ sentAt: null, attempts: 0 });
    expect(rows['t1:ada']!.lastError).toMatch(/^429 Too Many Requests: retry after 1/);
    expect(rows['t1:bob']!.lastError).toBe('403 Forbidden: bot was blocked by the user');
    expect(rows['t1:cyd']!.lastError).toBe('400 Bad Request: chat not found');
    expect(rows['t1:dan']!.sentAt).not.toBeNull();

    // Nothing is due again before retry_after (1 s after the refusal, which came within the round).
    const { rows: due } = await pool.query('SELECT next_attempt_at FROM notifications WHERE dedup_key = $1', [
      't1:ada',
    ]);
    const nextAttempt = (due[0].next_attempt_at as Date).getTime();
    expect(nextAttempt).toBeGreaterThanOrEqual(beforeRound.getTime() + 1_000);
    expect(nextAttempt).toBeLessThanOrEqual(afterRound.getTime() + 1_000);
    // Then it is tried once more and delivered; the blocked and unknown chats keep failing meanwhile.
    const adaCalls = () =>
      world.tg.calls(TOKEN).filter((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === ADA);
    sender.start();
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
    const { outbox, sender, pool } = senderOn();
    const STRANGER = 3199;
    world.start(STRANGER);
    world.tg.blockBot(TOKEN, STRANGER);
    await outbox.enqueue('old:1', STRANGER, 'blocked');
    await sender.sendDue();
    // A day has passed since it was queued (the default maximum age), and it is due again.
    await pool.query(
      `UPDATE notifications SET created_at = now() - interval '25 hours', next_attempt_at = now()
       WHERE dedup_key = 'old:1'`,
    );
    world.start(STRANGER); // unblocks the bot: too late
    await sender.sendDue();
    const row = await outbox.get('old:1');
    expect(row!.gaveUpAt).not.toBeNull();
    expect(row!.sentAt).toBeNull();
    expect(row!.lastError).toMatch(/blocked by the user; given up after/);
    await sender.sendDue();
    expect(world.botTexts(STRANGER)).toEqual([]);
  });

  it('a row for a chat never opened ("chat not found") is kept past the maximum age and attempts, and sent as soon as the chat writes', async () => {
    const { outbox, sender, pool } = senderOn(undefined, { maxAttempts: 2 });
    const LATE = 3197;
    await outbox.enqueue('kept:1', LATE, 'kept for Late');
    for (let i = 0; i < 4; i++) {
      await sender.sendDue();
      await pool.query(`UPDATE notifications SET next_attempt_at = now() WHERE dedup_key = 'kept:1'`);
    }
    await pool.query(
      `UPDATE notifications SET created_at = now() - interval '3 days', next_attempt_at = now() + interval '1 hour'
       WHERE dedup_key = 'kept:1'`,
    );
    const kept = await outbox.get('kept:1');
    expect(kept).toMatchObject({
      gaveUpAt: null,
      sentAt: null,
      lastError: '400 Bad Request: chat not found',
    });
    expect(kept!.attempts).toBeGreaterThanOrEqual(4);
    // The chat writes to the bot: its row is due at once (not in an hour) and delivered.
    world.start(LATE);
    expect(await outbox.releaseChat(LATE)).toBe(1);
    await sender.sendDue();
    expect(world.botTexts(LATE)).toEqual(['🧪 STAGING · kept for Late']);
    expect(await outbox.releaseChat(LATE)).toBe(0);
  });

  it('a 429 does not count toward giving up: the row is given up after maxAttempts refusals other than 429', async () => {
    const { outbox, sender, pool } = senderOn(undefined, { maxAttempts: 3 });
    const NOBODY = 3198; // blocked the bot: 403
    world.start(NOBODY);
    world.tg.blockBot(TOKEN, NOBODY);
    await outbox.enqueue('limits:1', NOBODY, 'never delivered');
    const dueNow = () =>
      pool.query(`UPDATE notifications SET next_attempt_at = now() WHERE dedup_key = 'limits:1'`);
    const round = async () => {
      expect(await sender.sendDue()).toBe(1);
      await dueNow();
    };

    world.tg.injectFault({ token: TOKEN, method: 'sendMessage', kind: '429', retryAfter: 1, times: 5 });
    for (let i = 0; i < 5; i++) await round();
    const throttled = await outbox.get('limits:1');
    expect(throttled).toMatchObject({ attempts: 0, gaveUpAt: null });
    expect(throttled!.lastError).toMatch(/^429 /);

    await round();
    await round();
    expect(await outbox.get('limits:1')).toMatchObject({
      attempts: 2,
      gaveUpAt: null,
      lastError: '403 Forbidden: bot was blocked by the user',
    });
    await round();
    const given = await outbox.get('limits:1');
    expect(given!.gaveUpAt).not.toBeNull();
    expect(given!.sentAt).toBeNull();
  });

  it('each row is claimed only when it is sent, and stop() aborts a send that hangs and hands its row back', async () => {
    const HANG = 3501;
    world.start(HANG);
    // A refusal would be retried only in ten minutes: a row due right after stop() was handed back, not refused.
    const { outbox, sender, pool } = senderOn(undefined, {
      pollMs: 60_000,
      backoff: { initialMs: 600_000, maxMs: 600_000 },
    });
    await outbox.enqueue('hang:1', HANG, 'first');
    await outbox.enqueue('hang:2', HANG, 'second');
    world.tg.injectFault({ token: TOKEN, method: 'sendMessage', kind: 'hang' });
    const calls = () =>
      world.tg.calls(TOKEN).filter((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === HANG)
        .length;
    const rows = async () =>
      Object.fromEntries(
        (
          await pool.query(
            `SELECT dedup_key, attempts, last_error, sent_at, next_attempt_at <= now() AS due
             FROM notifications WHERE dedup_key LIKE 'hang:%'`,
          )
        ).rows.map(({ dedup_key, ...row }) => [dedup_key, row]),
      );

    sender.start();
    await expect.poll(calls, { timeout: 10_000 }).toBe(1);
    // The first is leased while its send hangs; the second is not taken before its own turn.
    expect(await rows()).toEqual({
      'hang:1': { attempts: 0, last_error: null, sent_at: null, due: false },
      'hang:2': { attempts: 0, last_error: null, sent_at: null, due: true },
    });

    await sender.stop();
    const back = { attempts: 0, last_error: null, sent_at: null, due: true };
    expect(await rows()).toEqual({ 'hang:1': back, 'hang:2': back });
    expect(calls()).toBe(1);

    // The next start sends both.
    const next = senderOn();
    expect(await next.sender.sendDue()).toBe(2);
    expect(world.botTexts(HANG)).toEqual(['🧪 STAGING · first', '🧪 STAGING · second']);
  });

  it('a wake that comes while a round runs is kept: the row goes out without waiting for the next poll', async () => {
    const WAKE = 3601;
    world.start(WAKE);
    const outbox = createNotificationOutbox(world.pool());
    let duringRound: (() => Promise<void>) | undefined;
    const watched: NotificationOutbox = {
      ...outbox,
      async claimNext(leaseMs) {
        const row = await outbox.claimNext(leaseMs);
        // After the round's last look for due rows: something is queued and the sender woken.
        const then = row === undefined ? duringRound : undefined;
        duringRound = undefined;
        await then?.();
        return row;
      },
    };
    // The next poll is a minute away, far beyond what this test waits.
    const sender = createOutboxSender({
      chat: createNotificationChat(world.config, createRedactor(secretsOf(world.config))),
      outbox: watched,
      logger: quiet,
      redact: createRedactor(secretsOf(world.config)),
      pollMs: 60_000,
    });
    duringRound = async () => {
      await outbox.enqueue('wake:1', WAKE, 'woken');
      sender.wake();
    };
    sender.start();
    try {
      await expect.poll(() => world.botTexts(WAKE), { timeout: 10_000 }).toEqual(['🧪 STAGING · woken']);
    } finally {
      await sender.stop();
    }
  });
});
