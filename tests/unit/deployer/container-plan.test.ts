import type { ContainerInspectInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import { extraNetworks, planRunner, planSwitch, snapshotOf } from '../../../src/deployer/container-plan.js';

const SHA = 'a'.repeat(40);
const ID = 'abc123def4567890';

/** `docker inspect` of a compose-made app container on two networks, as the engine reports it. */
const inspected = {
  Id: ID,
  Name: '/lugh-staging',
  Image: 'sha256:old',
  Config: {
    Image: 'lugh:staging-000000000000',
    Env: ['APP_ENV=staging', 'GIT_SHA=0000', 'NODE_ENV=production', 'PATH=/usr/bin'],
    Labels: {
      'com.docker.compose.service': 'lugh',
      'lugh.env': 'staging',
      'lugh.migrate': '["node","dist/cli.js","migrate"]',
      'lugh.role': 'app',
    },
    Cmd: ['start'],
    User: 'node',
    ExposedPorts: { '3001/tcp': {} },
    Entrypoint: ['node', 'dist/cli.js'],
    WorkingDir: '/app',
    Volumes: { '/srv/lugh': {}, '/app/cache': {} },
    Healthcheck: { Test: ['CMD', 'node', 'dist/cli.js', 'healthcheck'], Interval: 10e9, Retries: 3 },
    StopSignal: 'SIGTERM',
    StopTimeout: 30,
  },
  HostConfig: {
    Binds: ['/var/run/docker.sock:/var/run/docker.sock'],
    PortBindings: { '3001/tcp': [{ HostIp: '127.0.0.1', HostPort: '3001' }] },
    RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
    NetworkMode: 'staging-net',
    Memory: 512,
    MemoryReservation: 128,
    MemorySwap: 1024,
    NanoCpus: 1,
    CpuShares: 2,
    OomScoreAdj: 500,
    LogConfig: { Type: 'json-file', Config: { 'max-file': '3', 'max-size': '10m' } },
    Init: true,
    GroupAdd: ['998'],
    CapAdd: null,
    Tmpfs: { '/tmp': 'size=64m' },
    ShmSize: 67108864,
    ConsoleSize: [0, 0],
    MaskedPaths: ['/proc/kcore'],
  },
  NetworkSettings: {
    Networks: {
      'staging-net': { Aliases: ['lugh', 'abc123def456'] },
      'staging-data': { Aliases: ['lugh-app'] },
    },
  },
} as unknown as ContainerInspectInfo;

/** The image's own config, which inspect merges into the container's. */
const imageConfig = {
  Env: ['NODE_ENV=production', 'PATH=/usr/bin'],
  Labels: { 'lugh.migrate': '["node","dist/cli.js","migrate"]' },
  Entrypoint: ['node', 'dist/cli.js'],
  WorkingDir: '/app',
  Volumes: { '/app/cache': {} },
  Healthcheck: { Test: ['CMD', 'node', 'dist/cli.js', 'healthcheck'], Interval: 30e9, Retries: 3 },
  StopSignal: 'SIGTERM',
};

/** The host settings of `inspected` a new container takes as they are. */
const kept = {
  Binds: ['/var/run/docker.sock:/var/run/docker.sock'],
  Tmpfs: { '/tmp': 'size=64m' },
  GroupAdd: ['998'],
  Memory: 512,
  MemoryReservation: 128,
  MemorySwap: 1024,
  NanoCpus: 1,
  CpuShares: 2,
  ShmSize: 67108864,
  OomScoreAdj: 500,
  LogConfig: { Type: 'json-file', Config: { 'max-file': '3', 'max-size': '10m' } },
  Init: true,
};

/** What `inspected` sets over its image: its volume, its own health check, a stop timeout. */
const overImage = {
  Volumes: { '/srv/lugh': {} },
  Healthcheck: { Test: ['CMD', 'node', 'dist/cli.js', 'healthcheck'], Interval: 10e9, Retries: 3 },
  StopTimeout: 30,
};

const snapshot = snapshotOf(inspected, imageConfig);

describe('container plans', () => {
  it('a snapshot keeps what the container adds to its image, its host settings, and network aliases but the short id', () => {
    expect(snapshot).toEqual({
      name: 'lugh-staging',
      image: 'lugh:staging-000000000000',
      env: ['APP_ENV=staging', 'GIT_SHA=0000'],
      labels: { 'com.docker.compose.service': 'lugh', 'lugh.env': 'staging', 'lugh.role': 'app' },
      cmd: ['start'],
      user: 'node',
      networks: { 'staging-net': { aliases: ['lugh'] }, 'staging-data': { aliases: ['lugh-app'] } },
      portBindings: { '3001/tcp': [{ HostIp: '127.0.0.1', HostPort: '3001' }] },
      exposedPorts: { '3001/tcp': {} },
      restartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      // Not the engine's own defaults (ConsoleSize, MaskedPaths) nor what inspect reports as null.
      host: kept,
      overImage,
    });
    expect(extraNetworks(snapshot)).toEqual([['staging-data', ['lugh-app']]]);
  });

  it('the switch: a pre-flight with no ports, aliases or restarts, and the final container in its place', () => {
    const shared = {
      Image: 'lugh:staging-aaaaaaaaaaaa',
      Cmd: ['start'],
      User: 'node',
      ExposedPorts: { '3001/tcp': {} },
      ...overImage,
    };
    const host = { ...kept, NetworkMode: 'staging-net' };
    const labels = { 'com.docker.compose.service': 'lugh', 'lugh.env': 'staging', 'lugh.sha': SHA };
    expect(planSwitch(snapshot, 'lugh:staging-aaaaaaaaaaaa', SHA)).toEqual({
      preflight: {
        ...shared,
        name: 'lugh-staging-preflight-aaaaaaa',
        Env: ['APP_ENV=staging', `GIT_SHA=${SHA}`, 'LUGH_ROLE=preflight'],
        Labels: { ...labels, 'lugh.role': 'preflight' },
        HostConfig: { ...host, PortBindings: {}, RestartPolicy: { Name: 'no' } },
        NetworkingConfig: { EndpointsConfig: { 'staging-net': { Aliases: [] } } },
      },
      final: {
        ...shared,
        name: 'lugh-staging',
        Env: ['APP_ENV=staging', `GIT_SHA=${SHA}`],
        Labels: { ...labels, 'lugh.role': 'app' },
        HostConfig: {
          ...host,
          PortBindings: { '3001/tcp': [{ HostIp: '127.0.0.1', HostPort: '3001' }] },
          RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
        },
        NetworkingConfig: { EndpointsConfig: { 'staging-net': { Aliases: ['lugh'] } } },
      },
      previousName: 'lugh-staging-previous',
      extraNetworks: { preflight: [['staging-data', []]], final: [['staging-data', ['lugh-app']]] },
    });
  });

  it('the runner: the app’s environment, volumes, user, networks and host settings, taking no traffic and no compose labels, restarted by Docker when it dies', () => {
    expect(
      planRunner(snapshot, { name: 'lugh-staging-deploy-42', image: 'sha256:old', deploymentId: 42 }),
    ).toEqual({
      name: 'lugh-staging-deploy-42',
      Image: 'sha256:old',
      Env: ['APP_ENV=staging', 'GIT_SHA=0000', 'LUGH_ROLE=runner'],
      Cmd: ['deploy-run', '42'],
      User: 'node',
      Labels: { 'lugh.env': 'staging', 'lugh.role': 'runner', 'lugh.deployment': '42' },
      Healthcheck: { Test: ['NONE'] },
      HostConfig: {
        ...kept,
        NetworkMode: 'staging-net',
        Init: true,
        RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 },
      },
      NetworkingConfig: { EndpointsConfig: { 'staging-net': { Aliases: [] } } },
    });
  });

  it('a runner launched from a runner-like container does not keep its old role', () => {
    const asPreflight = { ...snapshot, env: ['APP_ENV=staging', 'LUGH_ROLE=preflight'] };
    expect(planRunner(asPreflight, { name: 'r', image: 'i', deploymentId: 1 }).Env).toEqual([
      'APP_ENV=staging',
      'LUGH_ROLE=runner',
    ]);
  });
});
