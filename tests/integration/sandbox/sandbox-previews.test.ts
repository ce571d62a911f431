import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type SandboxPreviews,
  startSandboxPreviews,
} from '../../../src/sandbox/launcher/sandbox-previews.js';
import { BASE_IMAGE, createDockerClient, dockerAvailable, uniqueName } from '../../helpers/docker.js';

// What `lugh sandbox` starts for staging's previews (sandbox-previews.ts): a Caddy whose
// admin API lugh routes through, a Postgres server on which a CREATEDB CREATEROLE role
// really makes databases and roles (PGlite cannot), and a Redis with a password; the preview-facing addresses are reached
// from a container on a network of its own, as a preview's is; stop() leaves none running.

const docker = createDockerClient();
const hasDocker = await dockerAvailable(docker);

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** One command on a fresh connection, no client library (they all authenticate first): the first reply line. */
function rawRedis(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write(command));
    socket.once('data', (data) => {
      socket.end();
      resolve(data.toString().split('\r\n')[0]!);
    });
    socket.once('error', reject);
  });
}

describe.skipIf(!hasDocker)('the sandbox’s preview services', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-sandbox-previews-'));
  let previews: SandboxPreviews | undefined;
  afterAll(async () => {
    await previews?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('turn previews on for staging with a routable Caddy, a Postgres that makes roles and a Redis with a password, reachable from a container, and stop them all', async () => {
    previews = await startSandboxPreviews({ docker, dockerReachable: true, id: 'c0ffee', dir, env: {} });
    const env = previews.env;
    expect(previews.namespace).toBe('lugh-sandbox-c0ffee');
    expect(env.FEATURE_PREVIEWS).toBe('true');
    expect(env.PREVIEW_URL_TEMPLATE).toMatch(/^http:\/\/pr-\{n\}\.preview\.localhost:\d+\/$/);
    const httpPort = Number(new URL(env.PREVIEW_URL_TEMPLATE!.replace('{n}', '1')).port);

    // Caddy: its admin API holds the previews' server, listening where the template says.
    const config = (await (
      await fetch(`${env.PREVIEW_PROXY_ADMIN_URL}/config/apps/http/servers`)
    ).json()) as Record<string, { listen: string[] }>;
    expect(config.previews?.listen).toEqual([`127.0.0.1:${httpPort}`]);
    expect(await listening(httpPort)).toBe(true);

    // Postgres: the admin makes a role and a database it owns, and that role logs in with its password.
    const admin = new pg.Client({ connectionString: env.PREVIEW_DATABASE_ADMIN_URL });
    await admin.connect();
    // As an operator's admin role for previews: it may create databases and roles, and is no superuser.
    const self = await admin.query(
      'select rolsuper, rolcreatedb, rolcreaterole from pg_roles where rolname = current_user',
    );
    expect(self.rows[0]).toEqual({ rolsuper: false, rolcreatedb: true, rolcreaterole: true });
    await admin.query(`create role sandbox_probe login password 'probe-pw'`);
    await admin.query('grant sandbox_probe to current_user');
    await admin.query('create database sandbox_probe owner sandbox_probe');
    await admin.end();
    const [gatewayHost, dbPort] = env.PREVIEW_DATABASE_HOST!.split(':');
    const asRole = new pg.Client({
      connectionString: `postgres://sandbox_probe:probe-pw@127.0.0.1:${dbPort}/sandbox_probe`,
    });
    await asRole.connect();
    expect((await asRole.query('select current_database() as db')).rows[0].db).toBe('sandbox_probe');
    await asRole.end();

    // Redis: nothing without the password; with it, everything.
    const redisUrl = new URL(env.PREVIEW_REDIS_URL!);
    expect(redisUrl.hostname).toBe(gatewayHost);
    expect(await rawRedis(Number(redisUrl.port), 'SET k v\r\n')).toMatch(/^-NOAUTH/);
    const withPassword = new Redis(env.PREVIEW_REDIS_URL!);
    expect(await withPassword.ping()).toBe('PONG');
    withPassword.disconnect();

    // From a container on a network of its own (as a preview's), both answer at the gateway.
    const network = uniqueName('lugh-test-sbpv');
    await docker.createNetwork({ Name: network, Labels: { 'lugh.test': network } });
    try {
      const probe = await docker.createContainer({
        Image: BASE_IMAGE,
        Labels: { 'lugh.test': network },
        Cmd: [
          'node',
          '-e',
          `const net=require('net');let n=0;for(const p of [${dbPort},${redisUrl.port}])net.connect(p,'${gatewayHost}').on('connect',function(){this.end();if(++n===2)process.exit(0)}).on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),10000)`,
        ],
        HostConfig: { NetworkMode: network },
      });
      await probe.start();
      const { StatusCode } = (await probe.wait()) as { StatusCode: number };
      await probe.remove({ force: true });
      expect(StatusCode).toBe(0);
    } finally {
      await docker
        .getNetwork(network)
        .remove()
        .catch(() => {});
    }

    const adminPort = Number(new URL(env.PREVIEW_PROXY_ADMIN_URL!).port);
    await previews.stop();
    previews = undefined;
    for (const port of [adminPort, httpPort, Number(dbPort), Number(redisUrl.port)])
      expect({ port, listening: await listening(port) }).toEqual({ port, listening: false });
  }, 90_000);

  it('without caddy on PATH, still run previews, each published on a port of 127.0.0.1, and say how to get the proxy', async () => {
    // A PATH with the servers the sandbox starts (and runuser, for Postgres as root) but no caddy.
    const bin = mkdtempSync(path.join(tmpdir(), 'lugh-path-'));
    for (const tool of ['redis-server', 'runuser']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`])
        .stdout.toString()
        .trim();
      if (found) symlinkSync(found, path.join(bin, tool));
    }
    const path0 = process.env.PATH;
    process.env.PATH = bin;
    let fallback: SandboxPreviews | undefined;
    try {
      fallback = await startSandboxPreviews({ docker, dockerReachable: true, id: 'c0ffee', dir, env: {} });
    } finally {
      process.env.PATH = path0;
    }
    try {
      expect(fallback.env.PREVIEW_PROXY_ADMIN_URL).toBeUndefined();
      expect(fallback.env.FEATURE_PREVIEWS).toBe('true');
      expect(fallback.env.PREVIEW_URL_TEMPLATE).toContain('{n}');
      expect(fallback.banner.join('\n')).toContain(
        'no caddy on PATH: each preview is published on a port of 127.0.0.1',
      );
      expect(fallback.env.PREVIEW_REDIS_URL).toMatch(/^redis:\/\/:[^@]+@/);
    } finally {
      await fallback.stop();
      rmSync(bin, { recursive: true, force: true });
    }
  }, 60_000);

  it('are off without a Docker engine, and say so', async () => {
    const off = await startSandboxPreviews({ docker, dockerReachable: false, id: 'c0ffee', dir, env: {} });
    expect(off.env).toEqual({});
    expect(off.banner.join('\n')).toContain('previews need a Docker engine');
  });
});
