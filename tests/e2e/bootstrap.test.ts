// The real install path, end to end: deploy/bootstrap.sh on a Docker engine of its own
// (a private dockerd, so the install's fixed names and the engine's faults stay away from
// the engine other tests share), `.local` files holding test values, both bots pointed at
// the Telegram stand-in and GitHub at its stand-in. Infra, staging and production come up
// healthy; running bootstrap again changes nothing. Then, on that very install, a staging
// self-deploy is paused inside its switch (LUGH_FAILPOINTS, right after the old app
// container stopped) and the host "reboots" (every lugh process and container, the engine,
// its containerd and shims SIGKILLed, then the engine started again and bootstrap run
// again, as systemd and an operator would). Nobody re-runs the deploy: it must converge on
// its own. Then only dockerd is SIGKILLed and started again while a self-deploy is paused
// at the same instant: bootstrap turned on live-restore (without it Docker 20.10 stops
// every container of a dockerd that died when it starts again, and restarts none of them),
// so everything runs on; the paused runner, going on, finds the engine unreachable through
// its old socket, exits, is started again by Docker and converges the deploy.
import { readFileSync, writeFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findContainer, logTail } from '../../src/deployer/docker-helpers.js';
import { gitShaOf, testDocker, waitFor } from '../helpers/docker.js';
import {
  ADMIN,
  APP_CONTAINERS,
  INFRA_CONTAINERS,
  type InstalledLugh,
  installLugh,
  STAGING_TOKEN,
} from '../helpers/installed-lugh.js';
import { type PrivateEngine, privateEngineSupported, startPrivateEngine } from '../helpers/private-engine.js';

const { engine: sharedEngine } = await testDocker();
const supported = sharedEngine && privateEngineSupported();
if (process.env.CI && !supported) throw new Error('CI needs root, dockerd and ip for the bootstrap test');

const ALL = [...INFRA_CONTAINERS, APP_CONTAINERS.staging, APP_CONTAINERS.prod];
// Where the self-deploys below are killed: the old app is stopped, the new one not made.
// The runner pauses there PAUSE_S seconds (the reboot comes well before it goes on; dockerd
// is back before it does), once per runner.
const FAILPOINT = 'switch:after-stop';
const PAUSE_S = 40;
describe.skipIf(!supported)(
  'deploy/bootstrap.sh on a private engine (needs root and the npm registry)',
  () => {
    let engine: PrivateEngine;
    let lugh: InstalledLugh;
    let firstOutput = '';

    const inspect = (name: string) => engine.docker.getContainer(name).inspect();
    const health = async (name: string) => (await inspect(name)).State.Health?.Status;
    const identity = async () =>
      Object.fromEntries(
        await Promise.all(
          ALL.map(async (name) => {
            const info: Docker.ContainerInspectInfo = await inspect(name);
            return [name, { id: info.Id, startedAt: info.State.StartedAt, image: info.Image }] as const;
          }),
        ),
      );

    /** Waits for Docker's health check to pass; on a timeout, fails with what it said and the logs. */
    const waitHealthy = async (name: string, timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ((await health(name)) === 'healthy') return;
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      const info = await inspect(name);
      const checks = info.State.Health?.Log?.map((l) => l.Output.trim()).join('\n');
      const logs = await engine.docker.getContainer(name).logs({ stdout: true, stderr: true, tail: 30 });
      throw new Error(
        `${name} is ${info.State.Health?.Status}:\n${checks}\n--- logs:\n${logs.toString('utf8')}`,
      );
    };

    beforeAll(async () => {
      engine = await startPrivateEngine();
      lugh = await installLugh(engine, {
        settings: { staging: { LUGH_FAILPOINTS: `${FAILPOINT}@${PAUSE_S}s*1`, DEPLOY_VERIFY_SECONDS: '5' } },
      });
      // A setting of the operator's own, which bootstrap must keep.
      writeFileSync(engine.daemonJson, '{ "max-concurrent-downloads": 2 }\n');
      firstOutput = await lugh.bootstrap();
    }, 900_000);

    afterAll(async () => {
      await lugh?.close();
      await engine?.close();
    }, 120_000);

    it('brings up infra, staging and production healthy, both bots answering through the stand-in', async () => {
      expect(firstOutput).toContain(`lugh:sha-${lugh.sha.slice(0, 12)} exists`);
      expect(firstOutput).toContain(
        'reloaded the engine (SIGHUP, no container restarted): live-restore is on',
      );
      expect(JSON.parse(readFileSync(engine.daemonJson, 'utf8'))).toEqual({
        'max-concurrent-downloads': 2,
        'live-restore': true,
      });
      expect((await engine.docker.info()).LiveRestoreEnabled).toBe(true);
      for (const name of ALL) await waitHealthy(name);
      for (const url of [lugh.http.staging, lugh.http.prod]) {
        const response = await fetch(`${url}/healthz`);
        expect(response.status).toBe(200);
      }
      for (const env of ['staging', 'prod'] as const) {
        const whoami = await lugh.ask(env, '/whoami', 60_000);
        expect(whoami.text).toContain('Role: admin');
        expect(whoami.text).toContain(`Version: ${lugh.sha.slice(0, 7)}`);
      }
      // The apps drive the engine they run on: the private one, through its socket.
      const staging = await inspect(APP_CONTAINERS.staging);
      expect(staging.HostConfig.Binds?.filter((b) => b.includes('docker.sock'))).toEqual([
        `${engine.socket}:/var/run/docker.sock:rw`,
      ]);
    }, 300_000);

    it('running it twice changes nothing: same containers, same start times, no build', async () => {
      const before = await identity();
      const images = (await engine.docker.listImages()).map((i) => i.Id).sort();
      const daemonJson = readFileSync(engine.daemonJson, 'utf8');
      const output = await lugh.bootstrap();
      expect(output).toContain('live-restore is on');
      expect(output).not.toContain('reloaded the engine');
      expect(readFileSync(engine.daemonJson, 'utf8')).toBe(daemonJson);
      expect(output).not.toContain('building lugh:');
      expect(output).not.toMatch(
        /Recreating|Creating lugh-(staging|prod)-app|Creating lugh-(postgres|redis)/,
      );
      expect(await identity()).toEqual(before);
      expect((await engine.docker.listImages()).map((i) => i.Id).sort()).toEqual(images);
    }, 300_000);

    /** A staging self-deploy of a new commit, paused at FAILPOINT in its runner container. */
    const deployPausedInSwitch = async (label: string) => {
      const next = await lugh.gh.pushCommit('develop', {
        message: `Fault: ${label}`,
        files: { [`tests/fault-marker-${Date.now()}.txt`]: `${label}\n` },
      });
      await lugh.imageFor(next);
      const queued = await lugh.ask('staging', '/deploy staging', 60_000);
      const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
      expect(id, queued.text).toBeGreaterThan(0);
      const runner = `${APP_CONTAINERS.staging}-deploy-${id}`;
      await waitFor(
        `failpoint ${FAILPOINT} reached in ${runner}`,
        async () => {
          const info = await findContainer(engine.docker, runner);
          if (!info) return false;
          const lines = await logTail(engine.docker.getContainer(info.Id), 2_000);
          return lines.some((l) => l.includes(`failpoint ${FAILPOINT} reached`));
        },
        400_000,
      );
      return { id, next, runner };
    };

    /**
     * One staging app container running (the new commit if it passed its gates, else the
     * one before), no runner or half-made container left, the row finished, the lock free,
     * exactly one final message, production the same container, and both bots answering.
     */
    const expectConverged = async (
      deploy: { id: number; next: string },
      before: { stagingSha: string; prod: Docker.ContainerInspectInfo },
    ) => {
      const finalText = new RegExp(`^🧪 STAGING · (✅|❌|↩️) Deploy #${deploy.id}\\b`);
      const final = await lugh.tg.waitForBotMessage(
        STAGING_TOKEN,
        ADMIN.id,
        (m) => finalText.test(m.text ?? ''),
        {
          timeoutMs: 600_000,
        },
      );
      await waitFor(
        'the runner container to be removed',
        async () =>
          (await engine.docker.listContainers({ all: true, filters: { name: ['-deploy-'] } })).length === 0,
        300_000,
      );
      const containers = await engine.docker.listContainers({
        all: true,
        filters: { name: [`^/${APP_CONTAINERS.staging}`] },
      });
      expect(containers.filter((c) => c.State === 'running').map((c) => c.Names[0])).toEqual([
        `/${APP_CONTAINERS.staging}`,
      ]);
      // No half-made container is left: the app, and the previous version if it switched.
      const succeeded = final.text?.includes(`✅ Deploy #${deploy.id} done`);
      expect(containers.map((c) => c.Names[0]).sort()).toEqual(
        succeeded
          ? [`/${APP_CONTAINERS.staging}`, `/${APP_CONTAINERS.staging}-previous`].sort()
          : expect.arrayContaining([`/${APP_CONTAINERS.staging}`]),
      );
      expect(containers.length).toBeLessThanOrEqual(2);
      const app = await inspect(APP_CONTAINERS.staging);
      expect(gitShaOf(app)).toBe(succeeded ? deploy.next : before.stagingSha);
      const status = await lugh.sql('staging', `SELECT status FROM deployments WHERE id = ${deploy.id}`);
      expect(status).toEqual(succeeded ? 'succeeded' : expect.stringMatching(/^(failed|rolled_back)$/));
      expect(await lugh.sql('staging', 'SELECT count(*) FROM locks WHERE expires_at > now()')).toBe('0');
      const finals = lugh.tg
        .transcript(STAGING_TOKEN, ADMIN.id)
        .filter((e) => e.kind === 'bot_message' && finalText.test(e.text ?? ''));
      expect(finals).toHaveLength(1);
      const prod = await inspect(APP_CONTAINERS.prod);
      expect([prod.Id, prod.Image, prod.State.Running]).toEqual([before.prod.Id, before.prod.Image, true]);
      await waitHealthy(APP_CONTAINERS.staging, 180_000);
      await waitHealthy(APP_CONTAINERS.prod, 180_000);
      expect((await lugh.ask('staging', '/whoami', 90_000)).text).toContain(
        `Version: ${(succeeded ? deploy.next : before.stagingSha).slice(0, 7)}`,
      );
      expect((await lugh.ask('prod', '/whoami', 90_000)).text).toContain('Role: admin');
      return final.text ?? '';
    };

    const stateBefore = async () => ({
      stagingSha: gitShaOf(await inspect(APP_CONTAINERS.staging)) as string,
      prod: await inspect(APP_CONTAINERS.prod),
    });

    it(`host reboot during a staging self-deploy's switch (${FAILPOINT}): converges after the engine and bootstrap start again`, async () => {
      const before = await stateBefore();
      const deploy = await deployPausedInSwitch('host reboot');
      await engine.crash();
      await engine.start();
      await lugh.bootstrap();
      await expectConverged(deploy, before);
    }, 1_200_000);

    it(`dockerd SIGKILLed and started again during a staging self-deploy's switch (${FAILPOINT}): everything runs on, the deploy converges`, async () => {
      const before = await stateBefore();
      const deploy = await deployPausedInSwitch('dockerd restart');
      const others = [...INFRA_CONTAINERS, APP_CONTAINERS.prod, deploy.runner];
      const running = async () =>
        Object.fromEntries(
          await Promise.all(
            others.map(async (name) => {
              const info = await inspect(name);
              return [name, { id: info.Id, startedAt: info.State.StartedAt, running: info.State.Running }];
            }),
          ),
        );
      const untouched = await running();
      await engine.killDaemon();
      await engine.start();
      // live-restore: no container was stopped or started again, the paused runner included.
      expect(await running()).toEqual(untouched);
      const runnerLog = async () =>
        (await logTail(engine.docker.getContainer(deploy.runner), 2_000)).join('\n');
      expect(await runnerLog(), 'the runner went on before dockerd was back').not.toContain(
        `failpoint ${FAILPOINT} passed`,
      );
      // Going on, the runner meets the engine through the socket it was started with, which
      // dockerd made anew: it leaves the deploy to its next life, which Docker starts.
      await waitFor(
        'the runner to find the engine unreachable and be started again',
        async () =>
          (await runnerLog()).includes('leaving the deploy to the restarted runner') &&
          (await inspect(deploy.runner)).RestartCount >= 1,
        (PAUSE_S + 120) * 1_000,
      );
      const final = await expectConverged(deploy, before);
      expect(final).toContain(`✅ Deploy #${deploy.id} done`);
    }, 1_200_000);
  },
);
