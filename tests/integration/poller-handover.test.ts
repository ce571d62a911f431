import { afterAll, describe, expect, it } from 'vitest';
import { type Instance, startInstance } from '../../src/app/instance.js';
import { createConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { freePort } from '../../src/sandbox/free-port.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { ADMIN_ID, instanceEnv } from '../helpers/instance-env.js';
import { FAKE_TOKEN } from '../helpers/lugh-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

describe('two containers of one environment during a deploy', () => {
  let tg: TelegramStandIn | undefined;
  let db: TestDatabase | undefined;
  const instances: Instance[] = [];
  afterAll(async () => {
    for (const i of instances) await i.stop();
    await tg?.close();
    await db?.drop();
  });

  it('the new one waits in standby (ready) while the old one polls, and takes over when it stops: no 409', async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: FAKE_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db = await createTestDatabase('staging_lugh');
    const sub = `handover${Date.now()}`;
    const lines: string[] = [];
    const start = async () => {
      const port = await freePort();
      const config = createConfig(
        instanceEnv({ databaseUrl: db!.url, apiRoot: tg!.apiRoot, port, redisSub: sub }),
      );
      const logger = createLogger({
        level: 'debug',
        secrets: [],
        destination: { write: (l: string) => lines.push(l) },
      });
      const instance = await startInstance(config, logger);
      instances.push(instance);
      await instance.telegram.ready;
      return { instance, port };
    };
    const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/healthz`)).json();

    const old = await start();
    await expect.poll(() => old.instance.telegram.status().state).toBe('ok');
    const next = await start();
    await expect.poll(() => next.instance.telegram.status().state).toBe('standby');
    expect(await health(next.port)).toMatchObject({
      status: 'ok',
      telegram: expect.stringMatching(/^ok: standby/),
    });

    const chat = { id: -9090, type: 'group' as const, title: 'ops' };
    const ask = async () => {
      const sent = tg!.sendText({
        token: FAKE_TOKEN,
        chat,
        from: { id: ADMIN_ID, first_name: 'Ada' },
        text: '/whoami',
      });
      return tg!.waitForBotMessage(FAKE_TOKEN, chat.id, (m) => m.message_id > sent.message_id, {
        timeoutMs: 10_000,
      });
    };
    expect((await ask()).text).toContain('Role: admin');

    await old.instance.stop();
    await expect.poll(() => next.instance.telegram.status().state, { timeout: 10_000 }).toBe('ok');
    expect((await ask()).text).toContain('Role: admin');
    expect(lines.join('')).not.toContain('"telegram":"conflict"');
  }, 60_000);
});
