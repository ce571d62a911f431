// A service set (lugh.yml) deployed on a real Docker engine through the real step runner
// and Postgres: its containers replaced in order, one at a time (app ×2 behind HAProxy
// keeps serving), rolled back as one when a service fails its gate, and converged after a
// kill -9 of the deploy at each container's switch.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployNotifier } from '../../../src/deployer/deploy-notifier.js';
import { upstreamOf } from '../../../src/deployer/proxy/upstream.js';
import { containersOf } from '../../../src/deployer/service-set.js';
import type { DeploymentStore } from '../../../src/store/deployments.js';
import type { Pool } from '../../../src/store/pool.js';
import { gitShaOf, testDocker, uniqueName } from '../../helpers/docker.js';
import { haproxyInstalled, pollEvery, type RunningHaproxy, startHaproxy } from '../../helpers/haproxy.js';
import type { TestDatabase } from '../../helpers/services.js';
import {
  SET,
  type SetDeployInput,
  type SetWorld,
  setDeployRunner,
  startSetWorld,
} from '../../helpers/set-deploy.js';

const { docker, engine } = await testDocker();

const newSha = () => randomBytes(20).toString('hex');
const CHILD = path.join(import.meta.dirname, '../../helpers/set-deploy-child.ts');

/** Resolves once the child wrote `line` to stderr; rejects if it exits first or takes too long. */
function reached(child: ChildProcess, line: string, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`no "${line}" within ${timeoutMs} ms: ${out}`)),
      timeoutMs,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the deploy exited (${code}) before "${line}": ${out}`));
    });
  });
}

describe.skipIf(!engine)('a service set’s switch (needs a Docker engine)', () => {
  const run = uniqueName('lugh-test-set');
  const base = `${run}-app`;
  const names = containersOf(SET, base).map((c) => c.name);
  let world: SetWorld;
  let db: TestDatabase;
  let pool: Pool;
  let deployments: DeploymentStore;
  let proxy: RunningHaproxy | undefined;
  const images = { good: `${run}:good`, bad: `${run}:bad-worker`, sick: `${run}:sick-worker` };
  /** Each container's state changes as the notifier heard them, in order: `<container> <state>`. */
  const moves: string[] = [];
  const seen = new Map<string, string>();
  const finished = new Map<number, { message: string; logTail?: readonly string[] }>();
  const notifier: DeployNotifier = {
    step: async () => {},
    finished: async (id, _env, outcome) => {
      finished.set(id, outcome);
    },
    services: async (id) => {
      for (const row of await deployments.serviceProgress(id)) {
        const key = `${id} ${row.container}`;
        if (seen.get(key) !== row.state) moves.push(`${row.container} ${row.state}`);
        seen.set(key, row.state);
      }
    },
  };
  const inputOf = (sha: string, image: string): SetDeployInput => ({
    set: SET,
    sha,
    images: { app: images.good, web: images.good, worker: image },
  });
  const runner = (input: SetDeployInput, verifyMs = 2_000) =>
    setDeployRunner({
      pool,
      docker,
      containerName: base,
      input,
      proxyAdminUrl: proxy?.adminUrl,
      notifier,
      healthDeadlineMs: 10_000,
      verifyMs,
    });
  const create = () =>
    deployments.create({ env: 'staging', ref: 'develop', trigger: 'manual', requestedBy: 1 });
  /** What runs under each of the set's names: its commit, or `-` when it is not running. */
  const versions = async () =>
    Promise.all(
      names.map(async (name) => {
        const info = await docker
          .getContainer(name)
          .inspect()
          .catch(() => undefined);
        return info?.State.Running ? gitShaOf(info) : '-';
      }),
    );
  /** Containers of the set's names that run, besides the set's own (pre-flights, leftovers). */
  const strays = async () =>
    (await docker.listContainers({ filters: { name: [`^/${base}`] } }))
      .map((c) => c.Names[0]!.slice(1))
      .filter((n) => !names.includes(n));

  /** Runs the deploy in a child process until it reaches `failpoint`, then kills it with SIGKILL. */
  const killAt = async (failpoint: string, id: number, input: SetDeployInput) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, String(id)], {
      env: {
        ...process.env,
        LUGH_FAILPOINTS: failpoint,
        LUGH_SET_DEPLOY: JSON.stringify({
          databaseUrl: db.url,
          containerName: base,
          proxyAdminUrl: proxy?.adminUrl,
          failpointDir: mkdtempSync(path.join(tmpdir(), 'lugh-set-failpoints-')),
          input,
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await reached(child, `failpoint ${failpoint} reached`);
    child.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    world = await startSetWorld(docker, {
      run,
      base,
      images,
      poolName: 'set-switch-test',
      sha: newSha(),
      restart: 'unless-stopped',
    });
    ({ db, pool, deployments } = world);
    if (haproxyInstalled()) {
      // Every server starts at the one app there is; each replica's switch re-points its own.
      const dial = upstreamOf(await world.app.inspect())!;
      proxy = await startHaproxy(base, dial, { [base]: { app2: dial }, [`${base}-web`]: { app: dial } });
    }
  }, 600_000);

  afterAll(async () => {
    await proxy?.close();
    await world?.close();
  });

  it('deploys the set in order, one container at a time, new services and replicas started fresh', async () => {
    const sha = newSha();
    const d = await create();
    moves.length = 0;
    expect(await runner(inputOf(sha, images.good)).run(d.id)).toBe('succeeded');
    expect(await versions()).toEqual([sha, sha, sha, sha]);
    expect(await strays()).toEqual([]);
    const progress = await deployments.serviceProgress(d.id);
    expect(progress.map((p) => [p.container, p.state])).toEqual(names.map((n) => [n, 'verified']));
    // In order, and one at a time: a container starts only once the one before it switched.
    const switchedOrder = moves.filter((m) => m.endsWith(' switched')).map((m) => m.split(' ')[0]);
    expect(switchedOrder).toEqual(names);
    for (let i = 1; i < names.length; i++) {
      expect(moves.indexOf(`${names[i]} starting`)).toBeGreaterThan(
        moves.indexOf(`${names[i - 1]} switched`),
      );
    }
    // Each service runs with its own command, port and labels.
    const worker = await docker.getContainer(`${base}-worker-1`).inspect();
    expect(worker.Config.Cmd).toEqual(['node', 'server.js', 'worker']);
    expect(worker.Config.Env).toContain('PORT=8081');
    expect(worker.Config.Labels).toMatchObject({
      'lugh.set': base,
      'lugh.service': 'worker',
      'lugh.replica': '1',
      'lugh.health-path': '/healthz',
    });
    const steps = await deployments.steps(d.id);
    expect(steps.find((s) => s.step === 'health')).toMatchObject({ status: 'skipped' });
  }, 180_000);

  it.skipIf(!haproxyInstalled())(
    'a rolling replacement of app ×2 behind HAProxy keeps serving: no request fails',
    async () => {
      const sha = newSha();
      const d = await create();
      const client = pollEvery(`${proxy!.url}/`);
      const outcome = await runner(inputOf(sha, images.good)).run(d.id);
      const polled = await client.stop();
      expect(outcome).toBe('succeeded');
      expect(polled.sent).toBeGreaterThan(20);
      expect({ failed: polled.failed, why: polled.why }).toEqual({ failed: 0, why: [] });
      expect(await versions()).toEqual([sha, sha, sha, sha]);
      // Both replicas serve the new version through their own servers.
      const answers = new Set<string>();
      for (let i = 0; i < 6; i++) answers.add(await (await fetch(`${proxy!.url}/`)).text());
      expect([...answers].every((a) => JSON.parse(a).version === sha)).toBe(true);
    },
    180_000,
  );

  it('a worker that fails its health check rolls back the app and web already switched, naming it', async () => {
    const before = await versions();
    const d = await create();
    const outcome = await runner(inputOf(newSha(), images.bad)).run(d.id);
    expect(outcome).toBe('rolled_back');
    expect(await versions()).toEqual(before);
    expect(await strays()).toEqual([]);
    const row = await deployments.get(d.id);
    expect(row?.error).toMatch(/the service worker \(.*-worker-1\) failed at health/);
    expect(row?.error).toMatch(/rolled back with it: web .*app replica 2 .*app replica 1/);
    const progress = await deployments.serviceProgress(d.id);
    expect(progress.map((p) => [p.service, p.replica, p.state])).toEqual([
      ['app', 1, 'rolled_back'],
      ['app', 2, 'rolled_back'],
      ['web', 1, 'rolled_back'],
      ['worker', 1, 'failed'],
    ]);
    // The message says it, with the worker's last lines.
    expect(finished.get(d.id)?.message).toBe(row?.error);
    expect(finished.get(d.id)?.logTail?.join('\n')).toMatch(/worker \w+ up, its health check fails/);
  }, 180_000);

  it('a worker that falls sick during verify: the whole set goes back, the worker named at verify', async () => {
    const before = await versions();
    const d = await create();
    // The window outlasts the worker's 4 healthy seconds.
    const outcome = await runner(inputOf(newSha(), images.sick), 12_000).run(d.id);
    expect(outcome).toBe('rolled_back');
    expect(await versions()).toEqual(before);
    expect(await strays()).toEqual([]);
    const row = await deployments.get(d.id);
    expect(row?.error).toMatch(
      /the service worker \(.*-worker-1\) failed at verify: did not stay healthy for 12 s after the switch \(\/healthz failed 2 times in a row, last: answered 500\)/,
    );
    expect(row?.error).toMatch(/rolled back with it: worker .*web .*app replica 2 .*app replica 1/);
    const progress = await deployments.serviceProgress(d.id);
    expect(progress.map((p) => p.state)).toEqual(['rolled_back', 'rolled_back', 'rolled_back', 'failed']);
  }, 180_000);

  // Every container already exists here, so each one's switch stops a running container.
  for (const c of containersOf(SET, `${run}-app`)) {
    const failpoint = `switch:after-stop:${c.service}-${c.replica}`;
    it(`kill -9 of the deploy at ${failpoint}: the resumed run converges, then the whole set runs the new version`, async () => {
      const sha = newSha();
      const d = await create();
      const input = inputOf(sha, images.good);
      await killAt(failpoint, d.id, input);
      // Killed with the container stopped: it does not run now.
      expect((await docker.getContainer(c.name).inspect()).State.Running).toBe(false);
      // The retried job: the same deployment run again, in another process.
      const outcome = await runner(input).run(d.id);
      expect({ outcome, error: (await deployments.get(d.id))?.error }).toEqual({
        outcome: 'succeeded',
        error: null,
      });
      expect(await versions()).toEqual(names.map(() => sha));
      expect(await strays()).toEqual([]);
      const progress = await deployments.serviceProgress(d.id);
      expect(progress.map((p) => p.state)).toEqual(names.map(() => 'verified'));
      // Converged before switching again: what every container keeps as previous is the
      // version before this deployment, never the new one the killed run had switched to.
      for (const name of names) {
        expect(gitShaOf(await docker.getContainer(`${name}-previous`).inspect())).not.toBe(sha);
      }
      // Exactly one container of each name, and each one's kept previous version stopped.
      for (const name of names) {
        const same = await docker.listContainers({
          all: true,
          filters: { name: [`^/${name}(-previous)?$`] },
        });
        expect(same.map((x) => [x.Names[0], x.State]).sort()).toEqual(
          [
            [`/${name}`, 'running'],
            [`/${name}-previous`, 'exited'],
          ].sort(),
        );
      }
    }, 240_000);
  }

  it('a service no longer in lugh.yml: its containers are removed once the new set is verified', async () => {
    const withoutWeb = { ...SET, services: SET.services.filter((x) => x.name !== 'web') };
    const sha = newSha();
    const d = await create();
    const input = { ...inputOf(sha, images.good), set: withoutWeb };
    expect(await runner(input).run(d.id)).toBe('succeeded');
    const left = await docker.listContainers({ all: true, filters: { name: [`^/${base}-web-`] } });
    expect(left.map((c) => c.Names[0])).toEqual([]);
    expect((await deployments.steps(d.id)).find((x) => x.step === 'verify')?.detail).toBe(
      `removed ${base}-web-1, ${base}-web-1-previous: no longer in the set`,
    );
    // The others run the new version.
    for (const name of containersOf(withoutWeb, base).map((c) => c.name)) {
      expect(gitShaOf(await docker.getContainer(name).inspect())).toBe(sha);
    }
  }, 180_000);

  // web is gone now (the test before): the next deploy creates it again.
  it('kill -9 while a new service is created (switch:after-create:web-1): the resumed run removes it, puts back the others, and deploys the set', async () => {
    const sha = newSha();
    const d = await create();
    const input = inputOf(sha, images.good);
    await killAt('switch:after-create:web-1', d.id, input);
    expect((await docker.getContainer(`${base}-web-1`).inspect()).State.Running).toBe(false);
    const outcome = await runner(input).run(d.id);
    expect({ outcome, error: (await deployments.get(d.id))?.error }).toEqual({
      outcome: 'succeeded',
      error: null,
    });
    expect(await versions()).toEqual(names.map(() => sha));
    expect(await strays()).toEqual([]);
    // app ×2 were put back before switching again; web is new: nothing kept as its previous.
    for (const name of [base, `${base}-2`])
      expect(gitShaOf(await docker.getContainer(`${name}-previous`).inspect())).not.toBe(sha);
    const webPrevious = await docker.listContainers({
      all: true,
      filters: { name: [`^/${base}-web-1-previous$`] },
    });
    expect(webPrevious).toEqual([]);
  }, 240_000);

  it('kill -9 during the set’s verify (verify:during): every container goes back, then the resumed run switches and verifies again', async () => {
    const sha = newSha();
    const d = await create();
    const input = inputOf(sha, images.good);
    await killAt('verify:during', d.id, input);
    // Killed with the whole set switched to the new version, unverified.
    expect(await versions()).toEqual(names.map(() => sha));
    const outcome = await runner(input).run(d.id);
    expect({ outcome, error: (await deployments.get(d.id))?.error }).toEqual({
      outcome: 'succeeded',
      error: null,
    });
    expect(await versions()).toEqual(names.map(() => sha));
    for (const name of names)
      expect(gitShaOf(await docker.getContainer(`${name}-previous`).inspect())).not.toBe(sha);
    expect((await deployments.serviceProgress(d.id)).map((p) => p.state)).toEqual(
      names.map(() => 'verified'),
    );
  }, 240_000);
});
