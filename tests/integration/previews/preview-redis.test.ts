// A preview's Redis prefix on the real Redis server: its ACL user writes under its prefix
// and is refused outside it, ensure is idempotent, clear removes exactly its keys and its
// user; a server whose default user needs no password, or that refuses lugh ACLs, gives no
// Redis at all (never the admin URL), saying what to set.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewNames } from '../../../src/previews/preview.js';
import { createPreviewRedis, PreviewRedisError } from '../../../src/previews/preview-redis.js';
import { uniqueName } from '../../helpers/docker.js';
import { type GuardedRedis, startGuardedRedis } from '../../helpers/guarded-redis.js';
import { redisUrl } from '../../helpers/services.js';

const namespace = uniqueName('t');
let server: GuardedRedis;
let previews: ReturnType<typeof createPreviewRedis>;
const seven = previewNames(7, namespace);
const eight = previewNames(8, namespace);
const seventy = previewNames(70, namespace);

const clients: Redis[] = [];
const connect = (url: string) => {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  clients.push(redis);
  return redis;
};

describe('preview Redis prefixes', () => {
  let admin: Redis;
  beforeAll(async () => {
    server = await startGuardedRedis();
    previews = createPreviewRedis({ url: server.url });
    admin = connect(server.url);
    await admin.connect();
  });
  afterAll(async () => {
    for (const names of [seven, eight, seventy]) await previews?.clear(names).catch(() => {});
    for (const c of clients) c.disconnect();
    await server?.stop();
  });

  it('gives a user that writes under its prefix and is refused outside it', async () => {
    const given = await previews.ensure(seven);
    expect(given).toMatchObject({ prefix: seven.redisPrefix, acl: true });
    expect(new URL(given.url).username).toBe(seven.redisUser);
    expect(await previews.ensure(seven)).toEqual(given);
    const preview = connect(given.url);
    await preview.connect();
    await preview.set(`${seven.redisPrefix}session`, 'mine');
    expect(await preview.get(`${seven.redisPrefix}session`)).toBe('mine');
    await expect(preview.set('staging:session', 'stolen')).rejects.toThrow(/NOPERM/);
    await expect(preview.get(`${eight.redisPrefix}x`)).rejects.toThrow(/NOPERM/);
    await expect(preview.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
    await expect(preview.call('ACL', 'SETUSER', 'me', 'on', '~*')).rejects.toThrow(/NOPERM/);
    await expect(preview.call('CONFIG', 'GET', 'requirepass')).rejects.toThrow(/NOPERM/);
    // What BullMQ asks first.
    expect(await preview.info('server')).toMatch(/redis_version/);
    expect(await admin.exists('staging:session')).toBe(0);
  });

  it('lets a preview run BullMQ under its prefix as its ACL user (as a preview of lugh does)', async () => {
    const { url } = await previews.ensure(seven);
    const connection = { url, maxRetriesPerRequest: null };
    const prefix = `${seven.redisPrefix}bull`;
    const queue = new Queue('jobs', { connection, prefix });
    const worker = new Worker('jobs', async (job) => job.data, { connection, prefix });
    try {
      const done = new Promise<unknown>((resolve, reject) => {
        worker.on('completed', (_job, value) => resolve(value));
        worker.on('error', reject);
        setTimeout(() => reject(new Error('the job did not complete within 20 s')), 20_000).unref();
      });
      await queue.add('one', { n: 1 });
      expect(await done).toEqual({ n: 1 });
    } finally {
      await worker.close(true).catch(() => {});
      await queue.close().catch(() => {});
    }
    expect((await admin.keys(`${prefix}:*`)).length).toBeGreaterThan(0);
  });

  it('clears exactly its keys (not pr70’s, whose prefix starts the same) and its user', async () => {
    await previews.clear(seven);
    const { url } = await previews.ensure(seven);
    for (let i = 0; i < 1_200; i++) await admin.set(`${seven.redisPrefix}k${i}`, 'v');
    await admin.set(`${eight.redisPrefix}kept`, 'v');
    await admin.set(`${seventy.redisPrefix}kept`, 'v');
    await admin.set(`${seven.redisPrefix.slice(0, -1)}`, 'not under the prefix');
    expect(await previews.clear(seven)).toBe(1_200);
    expect(await admin.keys(`${seven.redisPrefix}*`)).toEqual([]);
    expect(await admin.get(`${eight.redisPrefix}kept`)).toBe('v');
    expect(await admin.get(`${seventy.redisPrefix}kept`)).toBe('v');
    expect(await admin.get(seven.redisPrefix.slice(0, -1))).toBe('not under the prefix');
    await admin.del(seven.redisPrefix.slice(0, -1));
    expect(await admin.call('ACL', 'LIST')).not.toEqual(
      expect.arrayContaining([expect.stringContaining(`user ${seven.redisUser} `)]),
    );
    const probe = connect(server.url);
    await probe.connect();
    const parsed = new URL(url);
    await expect(probe.call('AUTH', parsed.username, parsed.password)).rejects.toThrow(/WRONGPASS/);
    expect(await previews.clear(seven)).toBe(0);
  });

  it('refuses a preview Redis where lugh may not manage users, and never hands out its own login', async () => {
    // A login limited like a preview's own: ACL GETUSER/SETUSER answer NOPERM.
    const limited = await previews.ensure(eight);
    const asLimited = createPreviewRedis({ url: limited.url });
    const error = await asLimited.ensure(seventy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreviewRedisError);
    expect(String(error)).toMatch(/ACL/);
    expect(String(error)).not.toContain(new URL(limited.url).password);
  });

  it('refuses a Redis whose default user needs no password, saying what to set', async () => {
    // The shared test Redis: `default` is on with nopass, so any preview could log in as it.
    const open = createPreviewRedis({ url: redisUrl() });
    const error = await open.ensure(seventy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreviewRedisError);
    expect(String(error)).toMatch(/default user/);
    expect(String(error)).toMatch(/requirepass|password/);
    const probe = connect(redisUrl());
    await probe.connect();
    expect(await probe.call('ACL', 'LIST')).not.toEqual(
      expect.arrayContaining([expect.stringContaining(`user ${seventy.redisUser} `)]),
    );
  });

  it('refuses a PREVIEW_REDIS_URL without a password (the preview passwords are keyed by it)', async () => {
    const bare = new URL(server.url);
    bare.password = '';
    const error = await createPreviewRedis({ url: bare.toString() })
      .ensure(seventy)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreviewRedisError);
    expect(String(error)).toMatch(/password/);
  });

  it('refuses what lists or wipes other prefixes: KEYS, SCAN, RANDOMKEY, SCRIPT FLUSH, FUNCTION FLUSH', async () => {
    const { url } = await previews.ensure(seven);
    const preview = connect(url);
    await preview.connect();
    await expect(preview.call('KEYS', '*')).rejects.toThrow(/NOPERM/);
    await expect(preview.call('SCAN', '0')).rejects.toThrow(/NOPERM/);
    await expect(preview.call('RANDOMKEY')).rejects.toThrow(/NOPERM/);
    await expect(preview.call('SCRIPT', 'FLUSH')).rejects.toThrow(/NOPERM/);
    await expect(preview.call('SCRIPT', 'KILL')).rejects.toThrow(/NOPERM/);
    await expect(preview.call('FUNCTION', 'FLUSH')).rejects.toThrow(/NOPERM/);
    // Scripts on its own keys still run (BullMQ's are EVALSHA/EVAL).
    expect(await preview.eval('return redis.call("SET", KEYS[1], "x")', 1, `${seven.redisPrefix}s`)).toBe(
      'OK',
    );
  });

  it('says which Redis it could not reach, without the password', async () => {
    const gone = createPreviewRedis({ url: 'redis://lugh:hunter2-s3cret@127.0.0.1:1/0' });
    const error = await gone.ensure(seven).catch((e: Error) => e);
    expect(String(error)).toMatch(/PREVIEW_REDIS_URL/);
    expect(String(error)).not.toContain('s3cret');
  });
});

describe('preview Redis users on a server with an ACL file', () => {
  it('are saved to it (a Redis restart keeps them) and removed from it', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { freePort } = await import('../../../src/sandbox/free-port.js');
    const dir = mkdtempSync(join(tmpdir(), 'lugh-test-aclfile-'));
    const aclfile = join(dir, 'users.acl');
    writeFileSync(aclfile, 'user default on >acl-file-pw ~* &* +@all\n');
    const port = await freePort();
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--aclfile',
        aclfile,
      ],
      { stdio: 'ignore' },
    );
    try {
      const url = `redis://:acl-file-pw@127.0.0.1:${port}`;
      const probe = connect(url);
      for (let i = 0; i < 50; i++) {
        if (
          await probe.connect().then(
            () => true,
            () => false,
          )
        )
          break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const names = previewNames(9, namespace);
      const withFile = createPreviewRedis({ url });
      await withFile.ensure(names);
      expect(readFileSync(aclfile, 'utf8')).toContain(`user ${names.redisUser} `);
      await withFile.clear(names);
      expect(readFileSync(aclfile, 'utf8')).not.toContain(`user ${names.redisUser} `);
    } finally {
      for (const c of clients) c.disconnect();
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
