// The real install path, end to end: deploy/bootstrap.sh on a Docker engine of its own
// (a private dockerd, so the install's fixed names and the engine's faults stay away from
// the engine other tests share), `.local` files holding test values, both bots pointed at
// the Telegram stand-in and GitHub at its stand-in. Infra, staging and production come up
// healthy; running bootstrap again changes nothing.
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDocker } from '../helpers/docker.js';
import {
  APP_CONTAINERS,
  INFRA_CONTAINERS,
  type InstalledLugh,
  installLugh,
} from '../helpers/installed-lugh.js';
import { type PrivateEngine, privateEngineSupported, startPrivateEngine } from '../helpers/private-engine.js';

const { engine: sharedEngine } = await testDocker();
const supported = sharedEngine && privateEngineSupported();
if (process.env.CI && !supported) throw new Error('CI needs root, dockerd and ip for the bootstrap test');

const ALL = [...INFRA_CONTAINERS, APP_CONTAINERS.staging, APP_CONTAINERS.prod];

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
      lugh = await installLugh(engine);
      firstOutput = await lugh.bootstrap();
    }, 900_000);

    afterAll(async () => {
      await lugh?.close();
      await engine?.close();
    }, 120_000);

    it('brings up infra, staging and production healthy, both bots answering through the stand-in', async () => {
      expect(firstOutput).toContain(`lugh:sha-${lugh.sha.slice(0, 12)} exists`);
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
      const output = await lugh.bootstrap();
      expect(output).not.toContain('building lugh:');
      expect(output).not.toMatch(
        /Recreating|Creating lugh-(staging|prod)-app|Creating lugh-(postgres|redis)/,
      );
      expect(await identity()).toEqual(before);
      expect((await engine.docker.listImages()).map((i) => i.Id).sort()).toEqual(images);
    }, 300_000);
  },
);
