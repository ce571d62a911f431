import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type Instance, startInstance } from '../../src/app/instance.js';
import { createConfig } from '../../src/config/index.js';
import { createRedis, type Redis } from '../../src/store/redis.js';
import { instanceEnv } from '../helpers/instance-env.js';
import { silentLogger } from '../helpers/logger.js';
import { admin, createPromotionWorld, isPrompt, type PromotionWorld } from '../helpers/promotion-world.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../helpers/services.js';

// This file alone uses Redis database 9, so every key in it was written by the two
// instances below.
const ISOLATED_DB = 9;
const PROD_TOKEN = '7001003:AAPromotionWorldProdToken_abcdefghijklm';

async function allKeys(redis: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

describe('a staging and a production instance on one Redis', () => {
  let world: PromotionWorld | undefined;
  let production: Instance | undefined;
  let prodDb: TestDatabase | undefined;
  let observer: Redis | undefined;
  afterAll(async () => {
    await production?.stop();
    await world?.close();
    await prodDb?.drop();
    await observer?.flushdb();
    await observer?.quit();
  });

  it('each writes only under its own prefix and neither deletes the other’s keys; production claims the deploy staging hands it', async () => {
    const url = new URL(redisUrl());
    url.pathname = `/${ISOLATED_DB}`;
    observer = createRedis(url.toString(), { connectionName: 'isolation-observer' });
    await observer.flushdb();

    world = await createPromotionWorld({
      services: { createDatabase: createTestDatabase, redisUrl: url.toString() },
    });
    const w = world;
    const sub = w.config.redisPrefix.slice('staging:'.length);
    prodDb = await createTestDatabase('prod_lugh');
    w.tg.registerBot({ token: PROD_TOKEN, username: 'LughBot', firstName: 'Lugh' });
    const prodConfig = createConfig(
      instanceEnv({
        appEnv: 'production',
        databaseUrl: prodDb.url,
        apiRoot: w.tg.apiRoot,
        token: PROD_TOKEN,
        redisSub: sub,
        redisUrl: url.toString(),
        extra: {
          ADMIN_IDS: String(admin.id),
          LOG_LEVEL: 'warn',
          // Production reads the GitHub Deployment staging hands it, from the same repository.
          GITHUB_TOKEN: w.config.github.token!,
          GITHUB_REPO: `${w.gh.repo.owner}/${w.gh.repo.name}`,
          GITHUB_API_URL: w.gh.apiUrl,
          PROMOTE_POLL_SECONDS: '1',
          // No such container: the handed-over deploy stops at resolve, before any build.
          DEPLOY_CONTAINER: `lugh-test-absent-prod-${sub}`,
        },
      }),
    );
    production = await startInstance(prodConfig, silentLogger);
    const prodDbRows = async (sql: string) => {
      const client = new pg.Client({ connectionString: prodDb!.url });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    };
    await production.telegram.ready;

    // Staging does a whole promotion (conversation state, a queued job); production talks too.
    const sent = w.say(admin, '/promote');
    const prompt = await w.waitFor(admin.id, (m) => m.message_id > sent.message_id && isPrompt(m));
    w.press(admin.id, prompt, 'Yes', admin);
    await w.waitFor(admin.id, (m) => (m.text ?? '').includes('✅ Merged'));
    const hello = w.tg.sendText({
      token: PROD_TOKEN,
      chat: { id: admin.id, type: 'private' },
      from: admin,
      text: '/promote',
    });
    await w.tg.waitForBotMessage(PROD_TOKEN, admin.id, (m) => m.message_id > hello.message_id);

    // Production claimed the handed-over deploy into its own database and queue, ran it and
    // reported to the chat the promotion came from, through its own bot.
    const result = await w.tg.waitForBotMessage(
      PROD_TOKEN,
      admin.id,
      (m) => (m.text ?? '').includes('Deploy #1</b>') || (m.text ?? '').startsWith('❌ Deploy #1'),
      { timeoutMs: 20_000 },
    );
    expect(result.text).toContain('there is no container lugh-test-absent-');
    const prodRows = await prodDbRows(
      'SELECT env, trigger, status, step, github_deployment_id FROM deployments',
    );
    expect(prodRows).toEqual([
      {
        env: 'production',
        trigger: 'promotion',
        status: 'failed',
        step: 'resolve',
        github_deployment_id: String((await w.handoffs())[0]!.id),
      },
    ]);

    const keys = await allKeys(observer);
    const stagingKeys = keys.filter((k) => k.startsWith(`staging:${sub}:`));
    const prodKeys = keys.filter((k) => k.startsWith(`prod:${sub}:`));
    expect(keys).toEqual([...stagingKeys, ...prodKeys].sort());
    expect(stagingKeys).toEqual(expect.arrayContaining([`staging:${sub}:instance`]));
    expect(stagingKeys.some((k) => k.startsWith(`staging:${sub}:deploys:`))).toBe(true);
    expect(prodKeys).toEqual(expect.arrayContaining([`prod:${sub}:instance`]));
    expect(prodKeys.some((k) => k.startsWith(`prod:${sub}:deploys:`))).toBe(true);

    // Staging deletes everything it owns: production's keys and values are untouched.
    const prodValues = await Promise.all(prodKeys.map((k) => observer!.dump(k)));
    const stagingLeft = await allKeys(observer);
    const toDelete = stagingLeft.filter((k) => k.startsWith(`staging:${sub}:`));
    if (toDelete.length) await observer.del(...toDelete);
    expect(await allKeys(observer)).toEqual(prodKeys);
    expect(await Promise.all(prodKeys.map((k) => observer!.dump(k)))).toEqual(prodValues);
  }, 90_000);
});
