// /status's reading of a Swarm service on the real engine (a single-node swarm manager):
// a 2-replica service with a health check, the same service halfway through an update, and
// a service that is not there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStatusService, buildUsageSampler } from '../../../src/app/status.js';
import { readSwarmService } from '../../../src/app/swarm-services.js';
import { renderStatusDetails } from '../../../src/bot/status/render.js';
import { ownStatus } from '../../../src/status/status-report.js';
import type { PromotionStore } from '../../../src/store/promotions.js';
import { createRedis } from '../../../src/store/redis.js';
import { ensureBaseImage, testDocker, uniqueName, waitFor } from '../../helpers/docker.js';
import { instanceConfig } from '../../helpers/instance-env.js';
import { redisUrl } from '../../helpers/services.js';
import { ensureSwarm, removeSwarmResources, TEST_LABEL } from '../../helpers/swarm.js';

const { docker, engine } = await testDocker();
const swarm = engine && (await ensureSwarm(docker).catch(() => false));
const SECOND = 1e9;
const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);

describe.skipIf(!swarm)(
  '/status reads a Swarm service: tasks per node, desired against running, the update',
  () => {
    const run = uniqueName('lugh-test-status-swarm');
    // As a stack names it, carrying its environment (staging's DEPLOY_CONTAINER must).
    const name = `${run}-staging_app`;
    let image: string;
    let hostname: string;

    const spec = (sha: string, update: object = {}) => ({
      Name: name,
      Labels: { [TEST_LABEL]: run, 'lugh.sha': sha },
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          Command: ['sleep', 'infinity'],
          Env: [`GIT_SHA=${sha}`],
          Labels: { [TEST_LABEL]: run },
          Init: true,
          StopGracePeriod: SECOND,
          Healthcheck: { Test: ['CMD', 'true'], Interval: SECOND, Timeout: SECOND, Retries: 2 },
        },
        RestartPolicy: { Condition: 'any', Delay: SECOND },
      },
      Mode: { Replicated: { Replicas: 2 } },
      UpdateConfig: {
        Parallelism: 1,
        Order: 'start-first',
        FailureAction: 'pause',
        Monitor: 2 * SECOND,
        ...update,
      },
    });

    beforeAll(async () => {
      image = await ensureBaseImage(docker);
      hostname = (await docker.info()).Name;
      await docker.createService(spec(OLD));
    }, 120_000);

    afterAll(async () => {
      await removeSwarmResources(docker, run);
    }, 60_000);

    it('a 2-replica service: both tasks running and healthy on this node, with the commit they run', async () => {
      const status = await waitFor(
        'two healthy tasks',
        async () => {
          const s = await readSwarmService(docker, name);
          return s.running === 2 ? s : undefined;
        },
        90_000,
      );
      expect(status).toMatchObject({ name, desired: 2, global: false, running: 2, sha: OLD });
      expect(status.update).toBeUndefined();
      expect(status.tasks.map((t) => [t.slot, t.node, t.state, t.health, t.sha])).toEqual([
        [1, hostname, 'running', 'healthy', OLD],
        [2, hostname, 'running', 'healthy', OLD],
      ]);
    }, 120_000);

    it('halfway through an update: Swarm’s state is updating, and the tasks run both commits', async () => {
      const service = docker.getService(name);
      // A long pause between the two tasks holds the update halfway for the test to look. The
      // manager may bump the version as it records the tasks: read it again and retry.
      for (let attempt = 1; ; attempt++) {
        const info = await service.inspect();
        try {
          await service.update({ version: info.Version.Index, ...spec(NEW, { Delay: 120 * SECOND }) });
          break;
        } catch (error) {
          if (attempt >= 10 || !/out of sequence/.test(String(error))) throw error;
        }
      }
      const status = await waitFor(
        'an update halfway',
        async () => {
          const s = await readSwarmService(docker, name);
          const shas = s.tasks.filter((t) => t.state === 'running').map((t) => t.sha);
          // Past start-first's overlap (slot 1's old task still wanted until the new one runs).
          return s.update?.state === 'updating' &&
            s.tasks.length === 2 &&
            shas.includes(NEW) &&
            shas.includes(OLD)
            ? s
            : undefined;
        },
        90_000,
      );
      expect(status.sha).toBe(NEW);
      expect(status.update).toMatchObject({ state: 'updating' });
      expect(status.update?.message).toMatch(/update in progress/);
      expect(status.desired).toBe(2);
      expect(status.tasks.map((t) => t.sha).sort()).toEqual([OLD, NEW].sort());
    }, 120_000);

    it('a service that is not there: a named error /status shows as unknown', async () => {
      await expect(readSwarmService(docker, `${run}-absent`)).rejects.toThrow(
        `there is no Swarm service ${run}-absent`,
      );
    });

    it('an instance with DEPLOY_RUNTIME=swarm: /status Details shows its service and tasks, and why the other is unknown', async () => {
      const config = instanceConfig({
        appEnv: 'staging',
        databaseUrl: 'postgres://lugh_staging:pw@127.0.0.1:1/staging_lugh',
        apiRoot: 'http://127.0.0.1:1',
        extra: { DEPLOY_RUNTIME: 'swarm', DEPLOY_CONTAINER: name },
      });
      const redis = createRedis(redisUrl(), { connectionName: 'status-swarm-test' });
      try {
        const own = () =>
          ownStatus({
            env: 'staging',
            gitSha: NEW,
            startedAt: new Date(),
            container: name,
            health: { status: 'ok', db: 'ok', redis: 'ok', telegram: 'ok' },
          });
        const parts = { docker: async () => docker, redis, otherPrefix: `${run}-nobody` };
        const usage = buildUsageSampler(config, parts);
        const status = buildStatusService(config, {
          ...parts,
          self: { read: async () => own() } as never,
          usage,
          promotions: { inFlight: async () => undefined } as unknown as PromotionStore,
        });
        const text = renderStatusDetails(await status.report());
        expect(text).toContain(`Swarm service ${name} · <code>bbbbbbb</code> · 2/2 running · ⏳ updating`);
        expect(text).toMatch(/✅ task \d on [^:]+: running \(healthy\) · <code>(aaaaaaa|bbbbbbb)<\/code>/);
        // The other instance published nothing: its service is unknown, saying which.
        expect(text).toContain('Swarm service ❔ unknown — there is no Swarm service lugh-prod_prod-app');
        // No container is looked for on Swarm, and none is sampled.
        expect(text).not.toContain('container');
        await usage.sampleNow();
        expect(usage.latest(name)).toBeUndefined();
      } finally {
        redis.disconnect();
      }
    }, 60_000);
  },
);
