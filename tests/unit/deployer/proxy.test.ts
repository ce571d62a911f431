import type { ContainerInspectInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import { createConfig } from '../../../src/config/index.js';
import { requestsBoundTo, runtimeApiAddress } from '../../../src/deployer/proxy/haproxy-proxy.js';
import { upstreamOf } from '../../../src/deployer/proxy/upstream.js';
import { problemsOf } from '../../helpers/config-problems.js';

const inspectOf = (over: {
  networks?: Record<string, { IPAddress: string }>;
  bindings?: Record<string, unknown>;
  exposed?: Record<string, object>;
}) =>
  ({
    NetworkSettings: { Networks: over.networks ?? {} },
    HostConfig: { PortBindings: over.bindings ?? {} },
    Config: { ExposedPorts: over.exposed },
  }) as unknown as ContainerInspectInfo;

describe('upstreamOf: where a proxy reaches a container', () => {
  it('its address on the first network that gives one, and the port it publishes', () => {
    expect(
      upstreamOf(
        inspectOf({
          networks: { none: { IPAddress: '' }, lugh_prod: { IPAddress: '172.18.0.5' } },
          bindings: { '3000/tcp': [{ HostPort: '3000' }] },
          exposed: { '8080/tcp': {} },
        }),
      ),
    ).toBe('172.18.0.5:3000');
  });

  it('else the first TCP port it exposes (a pre-flight publishes none)', () => {
    expect(
      upstreamOf(
        inspectOf({
          networks: { bridge: { IPAddress: '172.17.0.9' } },
          exposed: { '53/udp': {}, '8080/tcp': {} },
        }),
      ),
    ).toBe('172.17.0.9:8080');
  });

  it('none for a container with no address (stopped) or no port', () => {
    expect(
      upstreamOf(inspectOf({ networks: { bridge: { IPAddress: '' } }, exposed: { '8080/tcp': {} } })),
    ).toBe(undefined);
    expect(upstreamOf(inspectOf({ networks: { bridge: { IPAddress: '172.17.0.9' } } }))).toBe(undefined);
  });
});

describe('DEPLOY_PROXY_ADMIN_URL', () => {
  const env = {
    APP_ENV: 'production',
    TELEGRAM_BOT_TOKEN: '1234567:AAH-fake_token_for_tests_only_0123456789',
    DATABASE_URL: 'postgres://lugh_prod:s3cretpw@db:5432/prod_lugh',
    REDIS_URL: 'redis://:redispw@redis:6379',
    ADMIN_IDS: '111',
  };

  it('is optional: without it the app container owns its port', () => {
    expect(createConfig(env).deploy.proxyAdminUrl).toBe(undefined);
  });

  it('takes HAProxy’s runtime API over TCP or a UNIX socket', () => {
    for (const url of ['tcp://127.0.0.1:9999', 'unix:///run/haproxy/admin.sock']) {
      expect(createConfig({ ...env, DEPLOY_PROXY_ADMIN_URL: url }).deploy.proxyAdminUrl).toBe(url);
    }
    expect(runtimeApiAddress('tcp://127.0.0.1:9999')).toEqual({ host: '127.0.0.1', port: 9999 });
    expect(runtimeApiAddress('unix:///run/haproxy/admin.sock')).toEqual({ path: '/run/haproxy/admin.sock' });
  });

  it('refuses anything else, naming the variable', () => {
    for (const url of ['http://127.0.0.1:2019', '127.0.0.1:9999', 'tcp://127.0.0.1']) {
      expect(problemsOf({ ...env, DEPLOY_PROXY_ADMIN_URL: url }).map((p) => p.variable)).toEqual([
        'DEPLOY_PROXY_ADMIN_URL',
      ]);
    }
  });
});

/** A stream of HAProxy 2.6's `show sess all`, as far as its server line (the rest is not read). */
const stream = (id: string, backend: string, server: string, addr?: string, retries = 0) =>
  [
    `0x${id}: [02/Dec/2026:01:12:39.637095] id=1 proto=tcpv4 source=127.0.0.1:48780`,
    `  flags=0xc4a, conn_retries=${retries}, conn_exp=<NEVER> conn_et=0x000 srv_conn=0x5632c5c717b0, pend_pos=(nil) waiting=0 epoch=0`,
    '  frontend=public (id=2 mode=http), listener=? (id=1) addr=127.0.0.1:19080',
    `  backend=${backend} (id=3 mode=http)${addr ? ' addr=127.0.0.1:38630' : ''}`,
    `  server=${server} (id=1)${addr ? ` addr=${addr}` : ''}`,
    '  task=0x7fb42c0423c0 (state=0x00 nice=0 calls=2 rate=0 exp=0s tmask=0x2 age=1s)',
  ].join('\n');

describe('requestsBoundTo: the requests HAProxy still holds at an address it no longer routes to', () => {
  const cli = [
    '0x7fb42c047000: [02/Dec/2026:01:12:40.861440] id=3 proto=tcpv4 source=127.0.0.1:38364',
    '  flags=0x8, conn_retries=0, conn_exp=<NEVER> conn_et=0x000 srv_conn=(nil), pend_pos=(nil) waiting=0 epoch=0x1',
    '  frontend=GLOBAL (id=0 mode=tcp), listener=? (id=1) addr=127.0.0.1:19999',
    '  backend=<NONE> (id=-1 mode=-)',
    '  server=<NONE> (id=-1)',
  ].join('\n');

  it("counts the backend server's requests connected to that address, not those at the new one", () => {
    const dump = [
      stream('a1', 'lugh-prod', 'app', '172.17.0.4:8080'),
      stream('a2', 'lugh-prod', 'app', '172.17.0.3:8080'),
      stream('a3', 'lugh-prod', 'app', '172.17.0.4:8080'),
      cli,
    ].join('\n');
    expect(requestsBoundTo(dump, 'lugh-prod', 'app', '172.17.0.4:8080')).toBe(2);
    expect(requestsBoundTo(dump, 'lugh-prod', 'app', '172.17.0.9:8080')).toBe(0);
  });

  it('counts a request waiting to retry (no address shown), since HAProxy retries at the address it chose', () => {
    const dump = [stream('b1', 'lugh-prod', 'app', undefined, 2), stream('b2', 'lugh-prod', 'app')].join(
      '\n',
    );
    expect(requestsBoundTo(dump, 'lugh-prod', 'app', '172.17.0.4:8080')).toBe(1);
  });

  it("leaves out other backends' and other servers' requests, and the runtime API's own", () => {
    const dump = [
      stream('c1', 'lugh-prod-web', 'app', '172.17.0.4:8080'),
      stream('c2', 'lugh-prod', 'app2', '172.17.0.4:8080'),
      stream('c3', 'lugh-prod-x', 'app', '172.17.0.4:8080', 1),
      cli,
    ].join('\n');
    expect(requestsBoundTo(dump, 'lugh-prod', 'app', '172.17.0.4:8080')).toBe(0);
    expect(requestsBoundTo(dump, 'lugh-prod', 'app2', '172.17.0.4:8080')).toBe(1);
  });
});
