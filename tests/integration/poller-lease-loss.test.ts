import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type Socket } from 'node:net';
import { Bot } from 'grammy';
import { afterAll, describe, expect, it } from 'vitest';
import type { BotContext } from '../../src/bot/context.js';
import { startTelegramRuntime, type TelegramRuntime } from '../../src/bot/telegram-runtime.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { createPollerLease } from '../../src/store/poller-lease.js';
import { closeRedis, createRedis, keyspace, type Redis } from '../../src/store/redis.js';
import { silentLogger } from '../helpers/logger.js';
import { redisUrl } from '../helpers/services.js';

/** A TCP path to Redis that can be cut, as a network partition cuts it. */
async function cuttablePath(target: URL) {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    cut() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

describe('a poller that loses its lease', () => {
  let tg: TelegramStandIn | undefined;
  const runtimes: TelegramRuntime[] = [];
  const connections: Redis[] = [];
  afterAll(async () => {
    for (const r of runtimes) await r.stop();
    for (const c of connections) await closeRedis(c);
    await tg?.close();
  });

  const setUp = async () => {
    tg ??= await startTelegramStandIn();
    const token = `${Math.floor(Math.random() * 1e9)}:${randomUUID().replaceAll('-', '')}`;
    tg.registerBot({ token, username: 'LughLeaseBot', firstName: 'Lugh Lease' });
    const space = keyspace(`staging:lease${randomUUID().slice(0, 8)}`);
    const events: string[] = [];
    const poller = (name: string, url: string) => {
      const redis = createRedis(url, { connectionName: `lease-${name}` });
      connections.push(redis);
      const bot = new Bot<BotContext>(token, { client: { apiRoot: tg!.apiRoot } });
      bot.on('message:text', (ctx) => ctx.reply(`${name}: ${ctx.message.text}`));
      const runtime = startTelegramRuntime(bot, {
        logger: silentLogger,
        lease: createPollerLease(redis, space, { ttlMs: 1_500, retryMs: 100 }),
        backoff: { initialMs: 100, maxMs: 500 },
        onStatus: (state) => events.push(`${name} ${state}`),
      });
      runtimes.push(runtime);
      return runtime;
    };
    const chat = { id: -7070, type: 'group' as const, title: 'ops' };
    const answered = async (text: string) => {
      const sent = tg!.sendText({ token, chat, from: { id: 1001, first_name: 'Ada' }, text });
      await tg!.waitForBotMessage(token, chat.id, (m) => m.message_id > sent.message_id, {
        timeoutMs: 10_000,
      });
      return tg!
        .transcript(token, chat.id)
        .filter((e) => e.kind === 'bot_message' && e.text?.endsWith(`: ${text}`))
        .map((e) => (e.kind === 'bot_message' ? e.text : ''));
    };
    return { space, events, poller, answered };
  };

  it('stops polling once another holds the lease, before that one polls: no 409', async () => {
    const { space, events, poller, answered } = await setUp();
    const admin = createRedis(redisUrl(), { connectionName: 'lease-admin' });
    connections.push(admin);
    const old = poller('old', redisUrl());
    await expect.poll(() => old.status().state).toBe('ok');
    const next = poller('new', redisUrl());
    await expect.poll(() => next.status().state).toBe('standby');

    await admin.set(space.key('telegram', 'poller'), 'intruder', 'PX', 2_000);
    await expect.poll(() => old.status().state, { timeout: 10_000 }).toBe('standby');
    // Once the intruder's lease runs out, one of the two polls again.
    await expect
      .poll(() => [old.status().state, next.status().state].sort().join(), { timeout: 10_000 })
      .toBe('ok,standby');
    expect(await answered('hello')).toHaveLength(1);
    expect(events).not.toContain('old conflict');
    expect(events).not.toContain('new conflict');
  }, 30_000);

  it('stops polling when Redis cannot be reached, before the lease expires and a standby takes it', async () => {
    const { events, poller, answered } = await setUp();
    const path = await cuttablePath(new URL(redisUrl()));
    const old = poller('old', path.url);
    await expect.poll(() => old.status().state).toBe('ok');
    const next = poller('new', redisUrl());
    await expect.poll(() => next.status().state).toBe('standby');

    path.cut();
    await expect.poll(() => next.status().state, { timeout: 10_000 }).toBe('ok');
    const newOk = events.lastIndexOf('new ok');
    const oldStopped = events.findIndex(
      (e, i) => i > events.indexOf('old ok') && e.startsWith('old ') && e !== 'old ok',
    );
    expect(oldStopped, events.join(', ')).toBeGreaterThan(-1);
    expect(oldStopped, events.join(', ')).toBeLessThan(newOk);
    expect(await answered('hello')).toEqual(['new: hello']);
    expect(events).not.toContain('old conflict');
    expect(events).not.toContain('new conflict');
  }, 30_000);
});
