import type { ContainerInspectInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import { createConfig } from '../../../src/config/index.js';
import { runtimeApiAddress } from '../../../src/deployer/proxy/haproxy-proxy.js';
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
