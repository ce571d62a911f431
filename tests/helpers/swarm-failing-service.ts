// A Swarm service whose versions are chosen by commit: one crash-loops, one falls over
// after it took traffic, the others serve. Versions put back over its failing tasks race
// Swarm's restart supervisor (moby/swarmkit#2242); the surplus tests share it.
import type Docker from 'dockerode';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Preflight } from '../../src/deployer/runtime/runtime.js';
import { createSwarmRuntime } from '../../src/deployer/runtime/swarm-runtime.js';
import { BASE_IMAGE, ensureBaseImage, uniqueName } from './docker.js';
import { silentLogger as logger } from './logger.js';
import { removeSwarmResources, TEST_LABEL } from './swarm.js';

const S = 1_000_000_000;
export const REPLICAS = 2;
/** The commit whose tasks exit at once; any other is served after 3 s (healthy a second or two later). */
export const CRASHING = 'dead'.repeat(10);
/**
 * The commit whose tasks serve (healthy) and exit 4.5 s after they started: a task listens
 * at 3 s and is healthy by its next check (checks each second), so it falls within Swarm's
 * monitor window of its own slot (2 s, monitorMs), or, on a machine too slow to be healthy
 * by then, before it was healthy: either way Swarm's update fails and rolls back. (At 7 s
 * it outlived the window once checks got fast, and the update completed.)
 */
export const FALLING = 'fa11'.repeat(10);
/**
 * The rounds of a race-hunting case: one in `npm test`, `full` in `npm run soak` (LUGH_SOAK=1).
 * Each round is one more chance for the race; the suite keeps one so that every path is run,
 * the soak run repeats them to catch the race itself.
 */
export const soakRounds = (full: number): number[] =>
  Array.from({ length: process.env.LUGH_SOAK ? full : 1 }, (_, i) => i + 1);
/** A commit that serves, one per round and kind of case. */
export const goodOf = (round: number, kind: number) => `${kind}${round}`.padStart(40, 'f');

const SERVER = `if (process.env.GIT_SHA === '${CRASHING}') { console.log('crashing'); process.exit(1); }
if (process.env.GIT_SHA === '${FALLING}') setTimeout(() => process.exit(1), 4500);
setTimeout(() => require('node:http').createServer((q, r) => r.end('ok')).listen(8080), 3000);
process.on('SIGTERM', () => process.exit(0));`;

const shaOf = (task: { Spec: { ContainerSpec: { Env?: string[] } } }) =>
  (task.Spec.ContainerSpec.Env ?? []).find((e: string) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length);

/**
 * The service (REPLICAS tasks, restarted as fast as Swarm can), created before the file's
 * tests and removed after them, and what the tests do to it through the Swarm runtime.
 */
export function failingService(docker: Docker, prefix: string) {
  const run = uniqueName(prefix);
  const name = `${run}-app`;

  beforeAll(async () => {
    await ensureBaseImage(docker);
    await docker.createService({
      Name: name,
      Labels: { [TEST_LABEL]: run },
      TaskTemplate: {
        ContainerSpec: {
          Image: BASE_IMAGE,
          Command: ['node', '-e', SERVER],
          Env: [`GIT_SHA=${goodOf(0, 0)}`],
          Labels: { [TEST_LABEL]: run },
          HealthCheck: {
            // busybox wget: a check each second costs next to nothing (a node check ~0.1 s of CPU).
            Test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080'],
            Interval: 1 * S,
            // Long: a check's node that starts slowly on a busy machine is not sickness (these
            // versions fail by exiting); with 5 s a healthy version was rolled back under load.
            Timeout: 20 * S,
            Retries: 3,
            StartPeriod: 10 * S,
          },
          StopGracePeriod: 1 * S,
        },
        // Failed tasks are restarted as fast as Swarm can: its restart supervisor races the rollback.
        RestartPolicy: { Condition: 'any', Delay: S / 10 },
      },
      Mode: { Replicated: { Replicas: REPLICAS } },
    } as Docker.ServiceSpec);
  }, 120_000);

  afterAll(async () => {
    await removeSwarmResources(docker, run);
  }, 120_000);

  /** What the runtime said as progress (cleared by the tests between phases). */
  const said: string[] = [];
  const progress = async (text: string) => {
    said.push(text);
  };
  const runtime = () => createSwarmRuntime({ docker, logger, monitorMs: 2_000 });

  /** The tasks Swarm wants running: how many per slot, and the commit each runs. */
  async function desired(): Promise<{ slots: number[]; shas: (string | undefined)[] }> {
    const tasks = await docker.listTasks({
      filters: JSON.stringify({ service: [name], 'desired-state': ['running'] }),
    });
    const slots = new Map<number, number>();
    for (const t of tasks) slots.set(t.Slot ?? 0, (slots.get(t.Slot ?? 0) ?? 0) + 1);
    return { slots: [...slots.values()], shas: tasks.map(shaOf) };
  }

  /** A deploy of `sha` through the runtime, as the steps run it; `inVerify` a second into its verify. */
  async function deploy(sha: string, verifyMs: number, inVerify?: () => Promise<void>): Promise<void> {
    const rt = runtime();
    const preflight = await rt.startPreflight({ containerName: name, image: BASE_IMAGE, sha });
    await rt.awaitPreflight(preflight, 90_000, progress);
    const switched = await rt.switchOver(preflight, 90_000, async () => {}, progress);
    const timer = inVerify ? setTimeout(() => void inVerify(), 1_000) : undefined;
    try {
      await rt.verify(switched, verifyMs, progress);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The update of `sha` issued through the runtime's start step, as a deploy's start leaves it. */
  async function startUpdate(sha: string): Promise<Preflight> {
    return runtime().startPreflight({ containerName: name, image: BASE_IMAGE, sha });
  }

  /** Waits until `count` tasks of `sha` created since `since` (ms) have failed. */
  async function failedAtLeast(sha: string, since: number, count: number): Promise<void> {
    const failed = async () =>
      (await docker.listTasks({ filters: JSON.stringify({ service: [name] }) })).filter(
        (t) =>
          shaOf(t) === sha &&
          Date.parse(t.CreatedAt ?? '') >= since &&
          ['failed', 'complete'].includes(t.Status?.State ?? ''),
      ).length;
    await expect.poll(failed, { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(count);
  }

  const stateNow = async () =>
    ((await docker.getService(name).inspect()) as Docker.Service).UpdateStatus?.State ?? '';

  /** Waits until Swarm calls the service's latest update `state` (`completed`, `rollback_completed`). */
  async function updateState(state: string): Promise<void> {
    await expect.poll(stateNow, { timeout: 90_000, interval: 250 }).toBe(state);
  }

  /** Puts the crashing version there by hand (no rollback), as a person would, and waits for its tasks to fail. */
  async function crashLoop(): Promise<void> {
    const since = Date.now() - 1_000;
    const s = (await docker.getService(name).inspect()) as Docker.Service;
    const spec = s.Spec!;
    const container = (spec.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec!;
    const env = (container.Env ?? []).filter((e) => !e.startsWith('GIT_SHA='));
    await docker.getService(name).update({
      _query: { version: s.Version?.Index },
      _body: {
        ...spec,
        TaskTemplate: {
          ...spec.TaskTemplate,
          ContainerSpec: { ...container, Env: [...env, `GIT_SHA=${CRASHING}`] },
        },
        UpdateConfig: { Parallelism: 2, Order: 'stop-first', FailureAction: 'continue' },
      },
    });
    await failedAtLeast(CRASHING, since, 2 * REPLICAS);
  }

  /** Kills the containers of the tasks running now: the version falls over after it took traffic. */
  async function crashRunningTasks(): Promise<void> {
    const tasks = await docker.listTasks({
      filters: JSON.stringify({ service: [name], 'desired-state': ['running'] }),
    });
    for (const t of tasks) {
      const id = t.Status?.ContainerStatus?.ContainerID;
      if (id)
        await docker
          .getContainer(id)
          .kill({ signal: 'SIGKILL' })
          .catch(() => {});
    }
  }

  /** One task per slot, each of `sha`; any surplus said in the runtime's words. */
  async function expectOnePerSlot(sha: string, told: readonly string[] = said): Promise<void> {
    expect(await desired()).toEqual({ slots: [1, 1], shas: [sha, sha] });
    for (const line of told.filter((t) => t.includes('surplus')))
      expect(line).toMatch(/^Swarm left \d+ surplus tasks? running \(moby\/swarmkit#2242\)/);
  }

  return {
    name,
    said,
    progress,
    runtime,
    deploy,
    startUpdate,
    failedAtLeast,
    updateState,
    crashLoop,
    crashRunningTasks,
    expectOnePerSlot,
  };
}
