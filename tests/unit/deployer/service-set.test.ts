import { describe, expect, it } from 'vitest';
import type { ContainerSnapshot } from '../../../src/deployer/container-plan.js';
import { parseServiceFile, ServiceFileError } from '../../../src/deployer/service-file.js';
import {
  buildsOf,
  containersOf,
  dockerHealthcheck,
  ONE_SERVICE,
  serviceSnapshot,
} from '../../../src/deployer/service-set.js';

const THREE = `
services:
  web:
    build: { dockerfile: web/Dockerfile, context: web }
    port: 8080
    traffic: true
    order: 30
  app:
    port: 3000
    traffic: true
    replicas: 2
    health: { http: /healthz }
    order: 20
  worker:
    image_of: app
    command: [node, worker.js]
    health: { command: [node, worker.js, --check], interval_seconds: 3 }
    order: 10
`;

const problems = (text: string) => {
  try {
    parseServiceFile(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceFileError);
    return (error as Error).message;
  }
  throw new Error('parsed');
};

describe('lugh.yml', () => {
  it('orders the services by their order, and resolves a shared image to its build', () => {
    const set = parseServiceFile(THREE);
    expect(set.declared).toBe(true);
    expect(set.services.map((s) => s.name)).toEqual(['worker', 'app', 'web']);
    const worker = set.services[0]!;
    expect(worker.build).toEqual({ dockerfile: 'Dockerfile', context: '.' });
    expect(worker.command).toEqual(['node', 'worker.js']);
    expect(worker.health).toEqual({ command: ['node', 'worker.js', '--check'], intervalSeconds: 3 });
    expect(set.services[1]).toMatchObject({
      replicas: 2,
      port: 3000,
      traffic: true,
      health: { http: '/healthz' },
    });
    expect(set.services[2]!.build).toEqual({ dockerfile: 'web/Dockerfile', context: 'web' });
  });

  it('keeps the file order between services of one order', () => {
    const set = parseServiceFile('services:\n  b: {}\n  app: {}\n  a: {}\n');
    expect(set.services.map((s) => s.name)).toEqual(['b', 'app', 'a']);
  });

  it('builds each distinct image once, naming the services that run it', () => {
    expect(buildsOf(parseServiceFile(THREE))).toEqual([
      { build: { dockerfile: 'Dockerfile', context: '.' }, services: ['worker', 'app'] },
      { build: { dockerfile: 'web/Dockerfile', context: 'web' }, services: ['web'] },
    ]);
  });

  it('refuses a set without app, naming what to do', () => {
    expect(problems('services:\n  api: {}\n')).toMatch(/has no `app`.*name one service app/);
  });

  it('refuses bad fields, naming each', () => {
    const message = problems(
      'services:\n  app: { replicas: 0, traffic: true }\n  Web: {}\n  w: { image_of: nope }\n  x: { colour: red }\n',
    );
    expect(message).toMatch(/services\.app\.replicas/);
    expect(message).toMatch(/takes traffic but names no port/);
    expect(message).toMatch(/services\.x: .*colour/i);
  });

  it('refuses names lugh uses, unknown and circular image_of', () => {
    expect(problems('services:\n  app: {}\n  previous: {}\n')).toMatch(
      /services\.previous: the name is a name lugh uses/,
    );
    expect(problems('services:\n  app: {}\n  w: { image_of: nope }\n')).toMatch(/no service nope/);
    expect(problems('services:\n  app: {}\n  a: { image_of: b }\n  b: { image_of: a }\n')).toMatch(/circle/);
    expect(problems('services:\n  app: { build: {}, image_of: w }\n  w: {}\n')).toMatch(
      /both build and image_of/,
    );
  });

  it('refuses what is not YAML, or paths outside the repository', () => {
    expect(problems('services: [\n')).toMatch(/not valid YAML/);
    expect(problems('services:\n  app: { build: { dockerfile: ../Dockerfile } }\n')).toMatch(
      /inside the repository/,
    );
    expect(problems('')).toMatch(/the file|services/);
  });
});

describe('the containers of a set', () => {
  it('are the app container itself for a repository without lugh.yml', () => {
    expect(containersOf(ONE_SERVICE, 'lugh-staging-app')).toEqual([
      { service: 'app', replica: 1, name: 'lugh-staging-app', backend: 'lugh-staging-app', server: 'app' },
    ]);
  });

  it('go service by service, replica by replica, named from the app container', () => {
    expect(containersOf(parseServiceFile(THREE), 'x-app')).toEqual([
      { service: 'worker', replica: 1, name: 'x-app-worker-1', backend: 'x-app-worker', server: 'app' },
      { service: 'app', replica: 1, name: 'x-app', backend: 'x-app', server: 'app' },
      { service: 'app', replica: 2, name: 'x-app-2', backend: 'x-app', server: 'app2' },
      { service: 'web', replica: 1, name: 'x-app-web-1', backend: 'x-app-web', server: 'app' },
    ]);
  });
});

describe('a service container planned from the app container', () => {
  const template: ContainerSnapshot = {
    name: 'x-app',
    image: 'img:old',
    env: ['APP_ENV=staging', 'PORT=3000', 'DATABASE_URL=postgres://db/staging'],
    labels: { 'com.docker.compose.service': 'staging-app', owner: 'team', 'lugh.sha': 'abc' },
    cmd: ['node', 'server.js'],
    networks: { 'stg-net': { aliases: ['app', 'staging-app'] }, 'stg-data': { aliases: [] } },
    portBindings: { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '3000' }] },
    exposedPorts: { '3000/tcp': {} },
    restartPolicy: { Name: 'unless-stopped' },
    host: { Memory: 384 * 2 ** 20, OomScoreAdj: 500, CpuShares: 256 },
    overImage: { StopTimeout: 20 },
  };
  const set = parseServiceFile(THREE);
  const worker = set.services.find((s) => s.name === 'worker')!;
  const web = set.services.find((s) => s.name === 'web')!;
  const [workerContainer, , , webContainer] = containersOf(set, 'x-app');

  it('keeps the environment, limits, networks and restart policy, with its own command and health', () => {
    const snap = serviceSnapshot(template, worker, workerContainer!);
    expect(snap.name).toBe('x-app-worker-1');
    expect(snap.env).toEqual(template.env);
    expect(snap.host).toEqual(template.host);
    expect(snap.restartPolicy).toEqual({ Name: 'unless-stopped' });
    expect(snap.cmd).toEqual(['node', 'worker.js']);
    expect(snap.overImage).toEqual({ StopTimeout: 20, Healthcheck: dockerHealthcheck(worker.health) });
    expect(snap.overImage.Healthcheck?.Test).toEqual(['CMD', 'node', 'worker.js', '--check']);
  });

  it('publishes no host port, answers under its service name and says which service it is', () => {
    const snap = serviceSnapshot(template, web, webContainer!);
    expect(snap.portBindings).toEqual({});
    expect(snap.exposedPorts).toEqual({ '8080/tcp': {} });
    expect(snap.env).toContain('PORT=8080');
    expect(snap.env).not.toContain('PORT=3000');
    expect(snap.networks).toEqual({ 'stg-net': { aliases: ['web'] }, 'stg-data': { aliases: ['web'] } });
    expect(snap.labels).toEqual({
      owner: 'team',
      'lugh.set': 'x-app',
      'lugh.service': 'web',
      'lugh.replica': '1',
    });
  });

  it('asks the image for nothing when health is an HTTP path, and turns Docker’s check off for none', () => {
    expect(dockerHealthcheck({ http: '/healthz' })).toBeUndefined();
    expect(dockerHealthcheck('none')).toEqual({ Test: ['NONE'] });
    expect(dockerHealthcheck(undefined)).toBeUndefined();
  });
});
