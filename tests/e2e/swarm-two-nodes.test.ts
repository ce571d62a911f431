// Two nodes, one swarm, one registry (tests/helpers/two-node-swarm.ts): what a registry
// and deploys by digest are for. An image built on the shared engine is pushed to the
// registry and a service is created from its digest reference on the manager; with the
// manager drained, the task runs on the worker, which pulled those bytes from the
// registry (it never had the image). Then the worker goes away (its dockerd killed): the
// manager sees the node down after a few heartbeats and starts the task again on the
// node that is left, from the same digest.
import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTestResources, testDocker, uniqueName } from '../helpers/docker.js';
import { privateEngineSupported } from '../helpers/private-engine.js';
import { registryInstalled } from '../helpers/registry.js';
import { startTwoNodeSwarm, type TwoNodeSwarm } from '../helpers/two-node-swarm.js';

const { docker: host, engine } = await testDocker();
const supported = engine && privateEngineSupported() && registryInstalled();
if (process.env.CI && !supported)
  throw new Error('CI needs root, dockerd, ip and docker-registry for the two-node test');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 2 MB image: the static busybox, sleeping. Built on the shared engine. */
async function buildTinyImage(docker: Docker, tag: string, run: string): Promise<void> {
  const context = pack();
  context.entry({ name: 'busybox', mode: 0o755 }, readFileSync('/bin/busybox'));
  context.entry(
    { name: 'Dockerfile' },
    `FROM scratch\nCOPY busybox /bin/busybox\nLABEL lugh.test=${run}\nCMD ["/bin/busybox", "sleep", "3600"]\n`,
  );
  context.finalize();
  const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
    t: tag,
    rm: true,
    forcerm: true,
  });
  const errors: string[] = [];
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (e) => (e ? reject(e) : resolve()),
      (ev: { error?: string }) => {
        if (ev.error) errors.push(ev.error);
      },
    ),
  );
  if (errors.length) throw new Error(`building ${tag} failed: ${errors.join('; ')}`);
}

/** Pushes `ref` from `docker`; the digest the registry gave it. */
async function push(docker: Docker, ref: string): Promise<string> {
  const at = ref.lastIndexOf(':');
  const stream = await docker.getImage(ref).push({ tag: ref.slice(at + 1) });
  let digest: string | undefined;
  const errors: string[] = [];
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (e) => (e ? reject(e) : resolve()),
      (ev: { error?: string; aux?: { Digest?: string } }) => {
        if (ev.error) errors.push(ev.error);
        if (ev.aux?.Digest) digest = ev.aux.Digest;
      },
    ),
  );
  if (errors.length || !digest) throw new Error(`pushing ${ref} failed: ${errors.join('; ') || 'no digest'}`);
  return digest;
}

interface TaskView {
  readonly node: string;
  readonly state: string;
  readonly desired: string;
  readonly image: string;
}

async function tasksOf(docker: Docker, service: string): Promise<TaskView[]> {
  const tasks = await docker.listTasks({ filters: { service: [service] } });
  return tasks.map((t) => ({
    node: t.NodeID as string,
    state: t.Status?.State as string,
    desired: t.DesiredState as string,
    image: t.Spec?.ContainerSpec?.Image as string,
  }));
}

async function until<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined>,
  seen: () => Promise<unknown>,
) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end)
      throw new Error(`${what}: not within ${ms / 1000} s; ${JSON.stringify(await seen())}`);
    await sleep(500);
  }
}

describe.skipIf(!supported)(
  'a swarm of two nodes pulling from one registry (needs root, dockerd, ip)',
  () => {
    const run = uniqueName('lugh-test-two-node');
    const tag = `${run}:1`;
    let swarm: TwoNodeSwarm;

    beforeAll(async () => {
      await buildTinyImage(host, tag, run);
      swarm = await startTwoNodeSwarm();
    }, 240_000);

    afterAll(async () => {
      await swarm?.close();
      await removeTestResources(host, run);
    }, 120_000);

    it('runs a service by digest on the worker from the registry, and reschedules it on the manager when the worker goes away', async () => {
      const { manager, worker, managerNode, workerNode, registry } = swarm;
      // Into the registry: the image from the shared engine, pushed by the manager's engine.
      await manager.loadImage(tag);
      const remote = `${registry.address}/two-node-app`;
      await manager.docker.getImage(tag).tag({ repo: remote, tag: 'sha-0000000000aa' });
      const digest = await push(manager.docker, `${remote}:sha-0000000000aa`);
      const reference = `${remote}@${digest}`;
      // The worker never had it: it must pull it.
      await expect(worker.docker.getImage(tag).inspect()).rejects.toMatchObject({ statusCode: 404 });

      const drain = async (availability: 'drain' | 'active') => {
        const node = await manager.docker.getNode(managerNode).inspect();
        await manager.docker
          .getNode(managerNode)
          .update({ version: node.Version.Index, ...node.Spec, Availability: availability });
      };
      await drain('drain');
      const service = await manager.docker.createService({
        Name: 'two-node-app',
        Labels: { 'lugh.test': run },
        TaskTemplate: {
          ContainerSpec: { Image: reference, Command: ['/bin/busybox', 'sleep', '3600'] },
          RestartPolicy: { Condition: 'any', Delay: 1_000_000_000 },
        },
        Mode: { Replicated: { Replicas: 1 } },
      });
      const serviceId = (service as { id?: string; ID?: string }).id ?? (service as { ID: string }).ID;
      const seen = () => tasksOf(manager.docker, serviceId);
      const onWorker = await until(
        'the task running on the worker',
        120_000,
        async () => (await seen()).find((t) => t.node === workerNode && t.state === 'running'),
        seen,
      );
      expect(onWorker.image).toBe(reference);
      // The worker's container runs the registry's bytes: its image is the pushed digest.
      const [container] = await worker.docker.listContainers({
        filters: { label: [`com.docker.swarm.service.id=${serviceId}`] },
      });
      expect(container, 'no task container on the worker').toBeDefined();
      const pulled = await worker.docker.getImage(container!.ImageID).inspect();
      expect(pulled.RepoDigests).toContain(reference);

      // The worker goes away; the manager takes tasks again.
      await drain('active');
      await worker.killDaemon();
      await until(
        'the worker seen down',
        120_000,
        async () => {
          const node = await manager.docker.getNode(workerNode).inspect();
          return node.Status?.State === 'down' ? true : undefined;
        },
        async () => (await manager.docker.listNodes()).map((n) => [n.ID, n.Status]),
      );
      const onManager = await until(
        'the task rescheduled on the manager',
        120_000,
        async () => (await seen()).find((t) => t.node === managerNode && t.state === 'running'),
        seen,
      );
      expect(onManager.image).toBe(reference);
      // The one on the worker is not wanted any more.
      expect((await seen()).filter((t) => t.desired === 'running').map((t) => t.node)).toEqual([managerNode]);
    }, 420_000);
  },
);
