// /rollback <service> alone on a real Docker engine, through the real step runner, Postgres
// and the real resolve, build, migrate, start, switch, verify and cleanup steps (lugh.yml
// and the images come from stand-ins: a map per commit): a set (app, web, worker) deployed
// at B, then its worker alone rolled back to A. Only the worker moves, as A declares it;
// the app and web keep their very containers; nothing is removed; a worker that fails its
// gate leaves the others as they are too.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltImage } from '../../../src/deployer/image-builder.js';
import { createDockerRuntime } from '../../../src/deployer/runtime/docker-runtime.js';
import { parseServiceFile } from '../../../src/deployer/service-file.js';
import { containersOf } from '../../../src/deployer/service-set.js';
import type { SourceOfCommits } from '../../../src/deployer/source-of-commits.js';
import { createStepRunner } from '../../../src/deployer/step-runner.js';
import { DEPLOY_PLAN } from '../../../src/deployer/steps/deploy-steps.js';
import { aloneSet } from '../../../src/deployer/steps/resolve.js';
import { createDeploymentStore, type DeploymentStore } from '../../../src/store/deployments.js';
import { createLockStore } from '../../../src/store/locks.js';
import type { Pool } from '../../../src/store/pool.js';
import { gitShaOf, testDocker, uniqueName } from '../../helpers/docker.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import type { TestDatabase } from '../../helpers/services.js';
import {
  type SetDeployInput,
  type SetWorld,
  setDeployRunner,
  startSetWorld,
} from '../../helpers/set-deploy.js';

const { docker, engine } = await testDocker();

const newSha = () => randomBytes(20).toString('hex');
const CHILD = path.join(import.meta.dirname, '../../helpers/set-deploy-child.ts');

/** lugh.yml at a commit: the worker's port tells which commit's definition a container has. */
const serviceFile = (workerPort: number) => `
services:
  app:
    port: 8080
    health: { http: /healthz }
    order: 10
  web:
    command: [node, server.js, web]
    port: 8082
    health: none
    order: 20
  worker:
    command: [node, server.js, worker]
    port: ${workerPort}
    health: { http: /healthz }
    order: 30
`;

describe.skipIf(!engine)('/rollback <service> alone on the engine (needs a Docker engine)', () => {
  const run = uniqueName('lugh-test-alone');
  const base = `${run}-app`;
  const names = containersOf(parseServiceFile(serviceFile(8081)), base).map((c) => c.name);
  const images = { good: `${run}:good`, bad: `${run}:bad-worker` };
  let world: SetWorld;
  let db: TestDatabase;
  let pool: Pool;
  let deployments: DeploymentStore;
  /** Each commit's lugh.yml and the image its worker gets (the others run `good`). */
  const commits = new Map<string, { file: string; worker: string }>();
  const commit = (workerPort: number, worker = images.good) => {
    const sha = newSha();
    commits.set(sha, { file: serviceFile(workerPort), worker });
    return sha;
  };
  const source: SourceOfCommits = {
    branchSha: async () => {
      throw new Error('every deploy here names its commit');
    },
    commitTree: async (sha) => sha.split('').reverse().join(''),
    tarball: async () => {
      throw new Error('nothing is built: the images are there');
    },
    serviceFile: async (sha) => commits.get(sha)?.file,
  };
  /** The "build": each service's image as `commits` says; the worker's Dockerfile is the app's. */
  const builds: string[] = [];
  const builder = {
    async ensure(request: { sha: string; build?: { dockerfile: string } }): Promise<BuiltImage> {
      builds.push(request.sha);
      const tag = commits.get(request.sha)?.worker ?? images.good;
      const info = await docker.getImage(tag).inspect();
      return { tag, shaTag: tag, imageId: info.Id, reused: 'sha' };
    },
    prune: async () => [],
  } as never;
  const runner = () =>
    createStepRunner({
      env: 'staging',
      logger,
      deployments: createDeploymentStore(pool),
      locks: createLockStore(pool),
      source,
      builder,
      runtime: createDockerRuntime({ docker, logger }),
      notifier: { step: async () => {}, finished: async () => {} },
      containerName: () => base,
      backup: 'staging is not backed up',
      healthDeadlineMs: 10_000,
      verifyMs: 1_000,
      steps: DEPLOY_PLAN,
    });
  const deployAll = async (sha: string) => {
    const d = await deployments.create({ env: 'staging', ref: 'develop', sha, trigger: 'manual' });
    return { id: d.id, outcome: await runner().run(d.id) };
  };
  const rollBackAlone = async (service: string, sha: string) => {
    const { deployment } = await deployments.createRollback({
      env: 'staging',
      sha,
      requestKey: `alone-${randomBytes(4).toString('hex')}`,
      requestedBy: 1,
      only: service,
    });
    return { id: deployment.id, outcome: await runner().run(deployment.id) };
  };
  /** Every container of the set's names (running or not): name → id, commit, worker port. */
  const containers = async () => {
    const out: Record<string, { id: string; sha?: string; running: boolean; port?: string }> = {};
    for (const c of await docker.listContainers({ all: true, filters: { name: [`^/${base}`] } })) {
      const info = await docker.getContainer(c.Id).inspect();
      out[c.Names[0]!.slice(1)] = {
        id: info.Id,
        sha: gitShaOf(info),
        running: info.State.Running,
        port: info.Config.Env?.find((e) => e.startsWith('PORT='))?.slice(5),
      };
    }
    return out;
  };

  beforeAll(async () => {
    world = await startSetWorld(docker, {
      run,
      base,
      images,
      poolName: 'set-alone-test',
      sha: newSha(),
      restart: 'unless-stopped',
    });
    ({ db, pool, deployments } = world);
  }, 600_000);

  afterAll(async () => {
    await world?.close();
  });

  it('the worker alone goes back to A as A declares it; app and web keep their containers at B; nothing is removed', async () => {
    const a = commit(8081);
    const b = commit(8083);
    expect((await deployAll(a)).outcome).toBe('succeeded');
    expect((await deployAll(b)).outcome).toBe('succeeded');
    const before = await containers();
    expect(names.map((n) => before[n]?.sha)).toEqual([b, b, b]);
    expect(before[`${base}-worker-1`]?.port).toBe('8083');

    builds.length = 0;
    const { id, outcome } = await rollBackAlone('worker', a);
    expect(outcome).toBe('succeeded');
    const after = await containers();
    // The worker runs A, with A's definition of it; B's worker is kept stopped as its previous.
    expect(after[`${base}-worker-1`]).toMatchObject({ sha: a, running: true, port: '8081' });
    expect(after[`${base}-worker-1-previous`]).toMatchObject({
      id: before[`${base}-worker-1`]!.id,
      sha: b,
      running: false,
    });
    // The app and web are the very containers they were, at B; no container went.
    for (const name of [base, `${base}-web-1`]) expect(after[name]).toEqual(before[name]);
    for (const name of Object.keys(before).filter((n) => n !== `${base}-worker-1`))
      expect(Object.keys(after)).toContain(name);
    // Only the worker's image was asked for.
    expect(builds).toEqual([a]);

    // The record: the set is the worker alone (partial), the others untouched by name.
    const row = await deployments.get(id);
    expect(row?.onlyService).toBe('worker');
    expect(row?.previousSha).toBe(b);
    expect(row?.services).toMatchObject({ declared: true, only: 'worker' });
    const recorded = row?.services as { services: Array<{ name: string }> } | undefined;
    expect(recorded?.services.map((s) => s.name)).toEqual(['worker']);
    const progress = await deployments.serviceProgress(id);
    expect(progress.map((p) => [p.container, p.state])).toEqual([[`${base}-worker-1`, 'verified']]);
    const steps = Object.fromEntries((await deployments.steps(id)).map((s) => [s.step, s]));
    expect(steps.migrate).toMatchObject({
      status: 'skipped',
      detail: 'one service rolled back alone; the database stays as it is',
    });
    expect(steps.cleanup).toMatchObject({ status: 'skipped' });
    expect(steps.verify?.detail).toBe('worker alone: no other service was touched');
    // It is no release of the environment: the environment still runs B.
    expect(await deployments.runningSha('staging')).toBe(b);
    expect((await deployments.releases('staging', 5)).map((r) => r.sha)).toEqual([b, a]);

    // The next deploy of the set brings the worker back with the others, at the set's commit.
    const c = commit(8083);
    expect((await deployAll(c)).outcome).toBe('succeeded');
    const next = await containers();
    expect(names.map((n) => next[n]?.sha)).toEqual([c, c, c]);
    expect(next[`${base}-worker-1`]?.port).toBe('8083');
  }, 240_000);

  it('an earlier worker that fails its gate: only the worker is tried, and the running one stays', async () => {
    const broken = commit(8081, images.bad);
    const before = await containers();
    const { id, outcome } = await rollBackAlone('worker', broken);
    expect(outcome).not.toBe('succeeded');
    const after = await containers();
    // Every container is the one it was, running what it ran (no pre-flight left behind).
    expect(after).toEqual(before);
    const row = await deployments.get(id);
    expect(row?.error).toMatch(/the service worker \(.*-worker-1\) failed at health/);
    expect(row?.error).not.toMatch(/rolled back with it/);
    const progress = await deployments.serviceProgress(id);
    expect(progress.map((p) => [p.service, p.state])).toEqual([['worker', 'failed']]);
  }, 180_000);

  it('refuses a service the release does not have, before anything is touched', async () => {
    const a = commit(8081);
    const before = await containers();
    const { id, outcome } = await rollBackAlone('mailer', a);
    expect(outcome).toBe('failed');
    expect(await containers()).toEqual(before);
    expect((await deployments.get(id))?.error).toMatch(
      /has no service mailer \(its lugh\.yml declares app, web, worker\)/,
    );
  }, 60_000);

  it('kill -9 of a worker-alone rollback at its switch (switch:after-stop:worker-1): the resumed run converges the worker only, then runs it at the earlier commit', async () => {
    const earlier = commit(8081);
    const before = await containers();
    const { deployment } = await deployments.createRollback({
      env: 'staging',
      sha: earlier,
      requestKey: `alone-kill-${randomBytes(4).toString('hex')}`,
      only: 'worker',
    });
    // What resolve and build give this deployment (the child's steps start at start).
    const input: SetDeployInput = {
      set: aloneSet(parseServiceFile(serviceFile(8081)), 'worker', earlier),
      images: { app: images.good, worker: images.good },
      sha: earlier,
    };
    const failpoint = 'switch:after-stop:worker-1';
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, String(deployment.id)], {
      env: {
        ...process.env,
        LUGH_FAILPOINTS: failpoint,
        LUGH_SET_DEPLOY: JSON.stringify({
          databaseUrl: db.url,
          containerName: base,
          failpointDir: mkdtempSync(path.join(tmpdir(), 'lugh-alone-failpoints-')),
          input,
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes(`failpoint ${failpoint} reached`)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the deploy exited (${code}) first: ${out}`)));
    });
    child.kill('SIGKILL');
    await exited;
    expect((await docker.getContainer(`${base}-worker-1`).inspect()).State.Running).toBe(false);

    // The retried job, in this process.
    const outcome = await setDeployRunner({
      pool,
      docker,
      containerName: base,
      input,
      healthDeadlineMs: 10_000,
      verifyMs: 1_000,
    }).run(deployment.id);
    expect({ outcome, error: (await deployments.get(deployment.id))?.error }).toEqual({
      outcome: 'succeeded',
      error: null,
    });
    const after = await containers();
    expect(after[`${base}-worker-1`]).toMatchObject({ sha: earlier, running: true, port: '8081' });
    // Put back before it switched again: its previous is the worker from before, not the earlier one.
    expect(after[`${base}-worker-1-previous`]?.sha).toBe(before[`${base}-worker-1`]?.sha);
    for (const name of [base, `${base}-web-1`]) expect(after[name]).toEqual(before[name]);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
  }, 240_000);
});
