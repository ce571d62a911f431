import { describe, expect, it } from 'vitest';
import type { ContainerSnapshot } from '../../../src/deployer/container-plan.js';
import { parseFailpoints } from '../../../src/deployer/failpoints.js';
import { upstreamOf } from '../../../src/deployer/proxy/upstream.js';
import { healthProbeOf } from '../../../src/deployer/runtime/docker-containers.js';
import { parseServiceFile } from '../../../src/deployer/service-file.js';
import { containersOf, withService } from '../../../src/deployer/service-set.js';
import {
  membersOf,
  NEW_CONTAINER,
  replacedByRecord,
  replacesDetail,
} from '../../../src/deployer/set-members.js';

const SET = parseServiceFile(`
services:
  app:
    port: 3000
    traffic: true
    replicas: 2
    health: { http: /ready }
  worker:
    command: [node, worker.js]
    health: none
  web:
    port: 8080
    traffic: true
`);

describe('a set container’s health', () => {
  it('asks the lugh.health-path label’s path, even without a Docker health check', () => {
    expect(
      healthProbeOf({ Env: ['PORT=3000'], Labels: { 'lugh.health-path': '/ready' }, Healthcheck: null }),
    ).toEqual({ port: 3000, path: '/ready' });
    expect(
      healthProbeOf({
        Env: ['PORT=3000'],
        Labels: { 'lugh.health-path': '/ready' },
        Healthcheck: { Test: ['NONE'] },
      }),
    ).toEqual({ port: 3000, path: '/ready' });
  });

  it('a container without the label and without a check is not probed (as before)', () => {
    expect(healthProbeOf({ Env: ['PORT=3000'], Labels: { 'lugh.service': 'worker' } })).toBeUndefined();
  });
});

describe('a running container with its service’s lugh.yml settings', () => {
  const running: ContainerSnapshot = {
    name: 'x',
    image: 'img:old',
    env: ['APP_ENV=staging', 'PORT=9999'],
    labels: { owner: 'team', 'lugh.health-path': '/old' },
    cmd: ['node', 'server.js'],
    networks: { net: { aliases: ['app'] } },
    portBindings: { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '3000' }] },
    exposedPorts: {},
    restartPolicy: { Name: 'unless-stopped' },
    host: { Memory: 1 },
    overImage: { StopTimeout: 20, Healthcheck: { Test: ['CMD', 'true'] } },
  };
  const [app1, , worker] = containersOf(SET, 'x');
  const app = SET.services.find((s) => s.name === 'app')!;
  const workerService = SET.services.find((s) => s.name === 'worker')!;

  it('keeps its ports, networks and limits; takes the port, health path and labels of its service', () => {
    const snap = withService(running, app, app1!, 'x');
    expect(snap.portBindings).toEqual(running.portBindings);
    expect(snap.networks).toEqual(running.networks);
    expect(snap.host).toEqual(running.host);
    expect(snap.env).toEqual(['APP_ENV=staging', 'PORT=3000']);
    expect(snap.exposedPorts).toEqual({ '3000/tcp': {} });
    expect(snap.cmd).toEqual(['node', 'server.js']);
    expect(snap.labels).toEqual({
      owner: 'team',
      'lugh.set': 'x',
      'lugh.service': 'app',
      'lugh.replica': '1',
      'lugh.health-path': '/ready',
    });
  });

  it('a service with `health: none` and a command: no check, its command, no stale health path', () => {
    const snap = withService({ ...running, name: 'x-worker-1' }, workerService, worker!, 'x');
    expect(snap.cmd).toEqual(['node', 'worker.js']);
    expect(snap.overImage).toEqual({ StopTimeout: 20, Healthcheck: { Test: ['NONE'] } });
    expect(snap.labels['lugh.health-path']).toBeUndefined();
  });
});

describe('the set’s containers behind a proxy', () => {
  it('each replica of a service that takes traffic has its own server in its service’s backend', () => {
    const routes = membersOf(SET, 'x', true).map((m) => [m.container.name, m.route]);
    expect(routes).toEqual([
      ['x', { backend: 'x', server: 'app', port: 3000 }],
      ['x-2', { backend: 'x', server: 'app2', port: 3000 }],
      ['x-worker-1', undefined],
      ['x-web-1', { backend: 'x-web', server: 'app', port: 8080 }],
    ]);
  });

  it('without a proxy, no container has a route', () => {
    expect(membersOf(SET, 'x', false).every((m) => m.route === undefined)).toBe(true);
  });

  it('a service’s port is where the proxy sends it, whatever else its image exposes', () => {
    const info = {
      NetworkSettings: { Networks: { net: { IPAddress: '10.0.0.5' } } },
      HostConfig: { PortBindings: {} },
      Config: { ExposedPorts: { '9000/tcp': {}, '8080/tcp': {} } },
    } as never;
    expect(upstreamOf(info, 8080)).toBe('10.0.0.5:8080');
    expect(upstreamOf(info)).toBe('10.0.0.5:9000');
  });
});

describe('what a set container’s record says it replaced', () => {
  it('reads back the id recorded at switching, or that it is new', () => {
    expect(replacedByRecord(replacesDetail('0123456789abcdef'))).toEqual({ replacedId: '0123456789abcdef' });
    expect(replacedByRecord(NEW_CONTAINER)).toEqual({ created: true });
    expect(replacedByRecord('health: did not become healthy')).toEqual({});
    expect(replacedByRecord(null)).toEqual({});
  });
});

describe('failpoints qualified by a set’s container', () => {
  it('parses a name with the service and replica', () => {
    expect(parseFailpoints('switch:after-stop:worker-1*1').get('switch:after-stop:worker-1')).toEqual({
      times: 1,
      pauseMs: Number.POSITIVE_INFINITY,
    });
  });
});
