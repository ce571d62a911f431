import { afterAll, describe, expect, it, vi } from 'vitest';
import { startInstance } from '../../src/app/instance.js';
import { createConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { startLocalRedis } from '../../src/sandbox/redis-server.js';
import { startTelegramStandIn, type TelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { instanceEnv } from '../helpers/instance-env.js';
import { FAKE_TOKEN } from '../helpers/lugh-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

// Ctrl-C in a terminal signals a whole process group: a Redis started alongside can die
// before lugh has closed its connections to it. The shutdown must not wait for it.
describe('an instance whose Redis went away first', () => {
  let tg: TelegramStandIn | undefined;
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await tg?.close();
    await db?.drop();
  });

  it('still stops (lease, queue, connections) and prints no raw connection errors', async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: FAKE_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db = await createTestDatabase('staging_lugh');
    const redis = await startLocalRedis();
    const config = createConfig(
      instanceEnv({ databaseUrl: db.url, apiRoot: tg.apiRoot, redisUrl: redis.url }),
    );
    const instance = await startInstance(
      config,
      createLogger({ level: 'fatal', secrets: [], destination: { write: () => {} } }),
    );
    await expect.poll(() => instance.telegram.status().state).toBe('ok');
    const stderr = vi.spyOn(console, 'error');
    await redis.stop();
    // Let the clients notice and start reconnecting, as they do after a real Ctrl-C.
    await new Promise((resolve) => setTimeout(resolve, 500));

    let stopped = false;
    const stopping = instance.stop().then(() => {
      stopped = true;
    });
    // Generous against a loaded machine; without the fix this never resolves at all.
    await expect.poll(() => stopped, { timeout: 8_000 }).toBe(true);
    await stopping;
    expect(stderr).not.toHaveBeenCalled();
    stderr.mockRestore();
  }, 30_000);
});
