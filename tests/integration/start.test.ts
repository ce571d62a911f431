import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/sandbox/free-port.js';
import { startTelegramStandIn } from '../../src/sandbox/telegram/index.js';
import { ADMIN_ID, instanceEnv } from '../helpers/instance-env.js';
import { FAKE_TOKEN, type LughProcess, runLugh, spawnLugh } from '../helpers/lugh-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

type StandIn = Awaited<ReturnType<typeof startTelegramStandIn>>;

async function getJson(port: number, path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls /healthz until `accept` holds; fails with the last answer after `deadlineMs`. */
async function healthWhere(
  port: number,
  accept: (r: { status: number; body: Record<string, unknown> }) => boolean,
  deadlineMs = 20_000,
) {
  const until = Date.now() + deadlineMs;
  let last: unknown = 'no answer';
  while (Date.now() < until) {
    try {
      const r = await getJson(port, '/healthz');
      last = r;
      if (accept(r)) return r;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/healthz never matched; last answer: ${JSON.stringify(last)}`);
}

function exitWithin(p: LughProcess, ms: number) {
  return Promise.race([
    p.exited,
    new Promise<string>((resolve) => setTimeout(() => resolve(`still running after ${ms} ms`), ms)),
  ]);
}

describe('lugh start', () => {
  let tg: StandIn;
  let db: TestDatabase;
  const processes: LughProcess[] = [];
  const start = (env: Record<string, string>) => {
    const p = spawnLugh(['start'], env);
    processes.push(p);
    return p;
  };

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    tg.registerBot({ token: FAKE_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
    db = await createTestDatabase('staging_lugh');
  });
  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await tg?.close();
    await db?.drop();
  });

  it('answers /healthz 200 with every dependency ok, serves /version, handles a command, and stops on SIGTERM', async () => {
    const port = await freePort();
    const lugh = start(instanceEnv({ databaseUrl: db.url, apiRoot: tg.apiRoot, port }));
    const health = await healthWhere(port, (r) => r.status === 200);
    expect(health.body).toEqual({ status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' });

    const version = await getJson(port, '/version');
    expect(version.body).toMatchObject({
      env: 'staging',
      version: expect.any(String),
      startedAt: expect.any(String),
    });
    expect(version.body.uptimeSeconds).toEqual(expect.any(Number));
    expect(version.body.gitSha).toMatch(/^[0-9a-f]{40}$|^$/);

    const sent = tg.sendText({
      token: FAKE_TOKEN,
      chat: { id: ADMIN_ID, type: 'private' },
      from: { id: ADMIN_ID, first_name: 'Ada' },
      text: '/whoami',
    });
    const reply = await tg.waitForBotMessage(FAKE_TOKEN, ADMIN_ID, (m) => m.message_id > sent.message_id, {
      timeoutMs: 10_000,
    });
    expect(reply.text).toContain('Role: admin');

    lugh.child.kill('SIGTERM');
    expect(await exitWithin(lugh, 10_000)).toBe(0);
    const output = lugh.stdout() + lugh.stderr();
    expect(output).toContain('"msg":"stopped"');
    expect(output).not.toContain(FAKE_TOKEN.split(':')[1]);
  });

  it('on SIGTERM finishes the update in flight before it exits', async () => {
    const port = await freePort();
    const lugh = start(instanceEnv({ databaseUrl: db.url, apiRoot: tg.apiRoot, port }));
    await healthWhere(port, (r) => r.status === 200);
    const chatId = -5005;
    // The reply is held back by a 429 with retry_after 2 s: the update is in flight when SIGTERM lands.
    tg.injectFault({ token: FAKE_TOKEN, method: 'sendMessage', kind: '429', retryAfter: 2, times: 1 });
    const before = tg.calls(FAKE_TOKEN).filter((c) => c.method === 'sendMessage').length;
    tg.sendText({
      token: FAKE_TOKEN,
      chat: { id: chatId, type: 'group', title: 'ops' },
      from: { id: ADMIN_ID, first_name: 'Ada' },
      text: '/whoami',
    });
    await expect
      .poll(() => tg.calls(FAKE_TOKEN).filter((c) => c.method === 'sendMessage').length, { timeout: 10_000 })
      .toBe(before + 1);
    lugh.child.kill('SIGTERM');
    expect(await exitWithin(lugh, 10_000)).toBe(0);
    const replies = tg.transcript(FAKE_TOKEN, chatId).filter((e) => e.kind === 'bot_message');
    expect(replies).toHaveLength(1);
    expect(replies[0]?.kind === 'bot_message' && replies[0].text).toContain('Role: admin');
  });

  it('on SIGTERM waits out a 429 longer than Docker’s default 10 s grace: the update in flight is answered, not lost', async () => {
    const port = await freePort();
    const lugh = start(instanceEnv({ databaseUrl: db.url, apiRoot: tg.apiRoot, port }));
    await healthWhere(port, (r) => r.status === 200);
    const chatId = -5006;
    // Claimed and confirmed, the update is nobody else's: a process that exits before the
    // reply goes out loses it.
    tg.injectFault({ token: FAKE_TOKEN, method: 'sendMessage', kind: '429', retryAfter: 12, chatId });
    tg.sendText({
      token: FAKE_TOKEN,
      chat: { id: chatId, type: 'group', title: 'ops' },
      from: { id: ADMIN_ID, first_name: 'Ada' },
      text: '/whoami',
    });
    await expect
      .poll(
        () => tg.calls(FAKE_TOKEN).some((c) => c.method === 'sendMessage' && c.params.chat_id === chatId),
        {
          timeout: 10_000,
        },
      )
      .toBe(true);
    lugh.child.kill('SIGTERM');
    expect(await exitWithin(lugh, 20_000)).toBe(0);
    const replies = tg.transcript(FAKE_TOKEN, chatId).filter((e) => e.kind === 'bot_message');
    expect(replies).toHaveLength(1);
  }, 40_000);

  it('takes updates by webhook when TELEGRAM_WEBHOOK_URL is set, and refuses a request without the secret', async () => {
    const port = await freePort();
    const secret = 'webhook-secret-for-tests_0123';
    const lugh = start(
      instanceEnv({
        databaseUrl: db.url,
        apiRoot: tg.apiRoot,
        port,
        extra: {
          TELEGRAM_WEBHOOK_URL: `http://127.0.0.1:${port}/webhooks/telegram`,
          TELEGRAM_WEBHOOK_SECRET: secret,
        },
      }),
    );
    await healthWhere(port, (r) => r.status === 200);
    const setWebhook = tg
      .calls(FAKE_TOKEN)
      .filter((c) => c.method === 'setWebhook')
      .at(-1);
    expect(setWebhook?.params).toMatchObject({
      url: `http://127.0.0.1:${port}/webhooks/telegram`,
      secret_token: secret,
    });

    const chatId = -6006;
    const sent = tg.sendText({
      token: FAKE_TOKEN,
      chat: { id: chatId, type: 'group', title: 'ops' },
      from: { id: ADMIN_ID, first_name: 'Ada' },
      text: '/whoami',
    });
    const reply = await tg.waitForBotMessage(FAKE_TOKEN, chatId, (m) => m.message_id > sent.message_id, {
      timeoutMs: 10_000,
    });
    expect(reply.text).toContain('Role: admin');

    const forged = await fetch(`http://127.0.0.1:${port}/webhooks/telegram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'wrong' },
      body: JSON.stringify({
        update_id: 999999,
        message: {
          message_id: 1,
          date: 0,
          chat: { id: chatId, type: 'group' },
          from: { id: ADMIN_ID, is_bot: false, first_name: 'Ada' },
          text: '/flags',
        },
      }),
    });
    expect(forged.status).toBe(401);

    lugh.child.kill('SIGTERM');
    expect(await exitWithin(lugh, 10_000)).toBe(0);
    // The webhook secret is a secret too: it never reaches the logs.
    expect(lugh.stdout() + lugh.stderr()).not.toContain(secret);
  });

  it('keeps running but reports telegram down (503) when the Bot API rejects the token', async () => {
    const port = await freePort();
    const rejected = '1112223:AAThisTokenIsUnknownToTheStandIn_xyz';
    const lugh = start(instanceEnv({ databaseUrl: db.url, apiRoot: tg.apiRoot, port, token: rejected }));
    const health = await healthWhere(
      port,
      (r) => r.status === 503 && String(r.body.telegram).includes('rejected'),
    );
    expect(health.body).toMatchObject({ status: 'unavailable', db: 'ok', redis: 'ok' });
    expect(String(health.body.telegram)).toContain('401');
    expect(lugh.child.exitCode).toBeNull();
    lugh.child.kill('SIGTERM');
    expect(await exitWithin(lugh, 10_000)).toBe(0);
    expect(lugh.stdout() + lugh.stderr()).not.toContain(rejected.split(':')[1]);
  });

  it('retries a Bot API that is unreachable at start and becomes healthy once it answers', async () => {
    const port = await freePort();
    const apiPort = await freePort();
    const lugh = start(instanceEnv({ databaseUrl: db.url, apiRoot: `http://127.0.0.1:${apiPort}`, port }));
    const down = await healthWhere(
      port,
      (r) => r.status === 503 && String(r.body.telegram).includes('unreachable'),
    );
    expect(down.body).toMatchObject({ db: 'ok', redis: 'ok' });
    // The network error names the request URL, token and all: it is scrubbed before it is shown.
    expect(String(down.body.telegram)).toContain('network error: request to');
    expect(String(down.body.telegram)).not.toContain(FAKE_TOKEN.split(':')[1]);
    const late = await startTelegramStandIn({ port: apiPort });
    try {
      late.registerBot({ token: FAKE_TOKEN, username: 'LughDevBot', firstName: 'Lugh Dev' });
      const up = await healthWhere(port, (r) => r.status === 200, 40_000);
      expect(up.body.telegram).toBe('ok');
      lugh.child.kill('SIGTERM');
      expect(await exitWithin(lugh, 10_000)).toBe(0);
    } finally {
      await late.close();
    }
  }, 60_000);

  it('refuses to start when the other environment already drives the same bot token', async () => {
    const prodDb = await createTestDatabase('prod_lugh');
    try {
      const sub = `clash${Date.now()}`;
      const prodPort = await freePort();
      const prod = start(
        instanceEnv({
          appEnv: 'production',
          databaseUrl: prodDb.url,
          apiRoot: tg.apiRoot,
          port: prodPort,
          redisSub: sub,
        }),
      );
      await healthWhere(prodPort, (r) => r.status === 200);
      const stagingRun = start(
        instanceEnv({ databaseUrl: db.url, apiRoot: tg.apiRoot, port: await freePort(), redisSub: sub }),
      );
      expect(await exitWithin(stagingRun, 20_000)).toBe(2);
      expect(stagingRun.stdout()).toContain('each environment needs its own bot');
      prod.child.kill('SIGTERM');
      expect(await exitWithin(prod, 10_000)).toBe(0);
    } finally {
      await prodDb.drop();
    }
  }, 60_000);

  it('refuses to start on a database it cannot migrate, and meanwhile takes no update', async () => {
    // The migration check runs while the Bot API accepts the token: polling must wait for it.
    const token = '9876545:AAUnmigratableStartTestToken_0123456';
    tg.registerBot({ token, username: 'LughDevBot', firstName: 'Lugh Dev' });
    const broken = await createTestDatabase('staging_lugh');
    try {
      const client = new pg.Client(broken.url);
      await client.connect();
      await client.query(
        'CREATE TABLE pgmigrations (id serial PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)',
      );
      await client.query("INSERT INTO pgmigrations (name, run_on) VALUES ('0000_not_in_this_build', now())");
      await client.end();
      const user = { id: 777, first_name: 'Early' };
      tg.sendText({ token, chat: { id: user.id, type: 'private' }, from: user, text: '/help' });
      const run = start(
        instanceEnv({ databaseUrl: broken.url, apiRoot: tg.apiRoot, port: await freePort(), token }),
      );
      expect(await exitWithin(run, 20_000)).not.toBe(0);
      expect(run.stdout() + run.stderr()).toContain('0000_not_in_this_build');
      expect(tg.calls(token).map((c) => c.method)).not.toContain('getUpdates');
      expect(tg.transcript(token, user.id).filter((e) => e.kind === 'bot_message')).toEqual([]);
    } finally {
      await broken.drop();
    }
  }, 30_000);

  it('exits 2 naming the variable when the configuration is invalid', async () => {
    const result = await runLugh(['start'], {
      ...instanceEnv({ databaseUrl: db.url, apiRoot: tg.apiRoot }),
      ADMIN_IDS: '',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ADMIN_IDS');
  });
});
