// A lugh process killed (SIGKILL) in the middle of a batch it took past its first one,
// whose updates' claims it writes behind instead of waiting for them: the next process,
// once the lease expired, handles what the dead one had not begun, and nothing twice.
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/sandbox/free-port.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { ADMIN_ID, instanceEnv } from '../helpers/instance-env.js';
import { FAKE_TOKEN, type LughProcess, spawnLugh } from '../helpers/lugh-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

describe('a poller killed mid-batch', () => {
  let tg: TelegramStandIn | undefined;
  let db: TestDatabase | undefined;
  const processes: LughProcess[] = [];
  afterAll(async () => {
    for (const p of processes)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await tg?.close();
    await db?.drop();
  });

  it('past its first batch: the next poller answers each update the killed one had not begun, once', async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: FAKE_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db = await createTestDatabase('staging_lugh');
    const sub = `kill${Date.now()}`;
    const start = async () => {
      const p = spawnLugh(
        ['start'],
        instanceEnv({ databaseUrl: db!.url, apiRoot: tg!.apiRoot, port: await freePort(), redisSub: sub }),
      );
      processes.push(p);
      return p;
    };
    const admin = { id: ADMIN_ID, first_name: 'Ada' };
    const chat = { id: -9393, type: 'group' as const, title: 'ops' };
    const other = { id: -9494, type: 'group' as const, title: 'warm-up' };
    const say = (text: string) => tg!.sendText({ token: FAKE_TOKEN, chat, from: admin, text });
    const sayThere = (text: string) => tg!.sendText({ token: FAKE_TOKEN, chat: other, from: admin, text });
    const sendsTo = (id: number) =>
      tg!.calls(FAKE_TOKEN).filter((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === id)
        .length;

    const old = await start();
    // The first batch (its claims waited for), then a batch of three queued while the
    // warm-up's second reply is held up by a 429: that batch's claims are written behind.
    const first = sayThere('/version');
    await tg.waitForBotMessage(FAKE_TOKEN, other.id, (m) => m.message_id > first.message_id, {
      timeoutMs: 30_000,
    });
    tg.injectFault({
      token: FAKE_TOKEN,
      method: 'sendMessage',
      chatId: other.id,
      kind: '429',
      retryAfter: 2,
    });
    sayThere('/version');
    await expect.poll(() => sendsTo(other.id), { timeout: 10_000 }).toBe(2);
    tg.injectFault({
      token: FAKE_TOKEN,
      method: 'sendMessage',
      chatId: chat.id,
      kind: '429',
      retryAfter: 60,
    });
    say('/whoami');
    say('/version');
    say('/flags');
    // Killed while its reply to /whoami waits out the 429: /whoami was claimed (behind),
    // /version and /flags were not begun.
    await expect.poll(() => sendsTo(chat.id), { timeout: 15_000 }).toBe(1);
    old.child.kill('SIGKILL');
    await old.exited;

    // The next one takes the lease once the dead one's expires, and is given the batch again.
    await start();
    say('/whoami');
    // Updates are handled in order: once the fourth is answered, a repeat of the killed
    // one's /whoami would have been answered before it.
    const texts = () =>
      tg!
        .transcript(FAKE_TOKEN, chat.id)
        .filter((e) => e.kind === 'bot_message')
        .map((e) => e.text ?? '');
    await expect
      .poll(() => texts().length >= 3 && texts().at(-1)!.includes('Role: admin'), { timeout: 40_000 })
      .toBe(true);
    // /version, /flags, then the fourth /whoami; the killed one's /whoami is not answered
    // again (at most once: it was claimed before its handler ran).
    expect(texts(), texts().join('\n---\n')).toHaveLength(3);
    expect(texts().filter((t) => t.includes('Role: admin'))).toHaveLength(1);
  }, 120_000);
});
