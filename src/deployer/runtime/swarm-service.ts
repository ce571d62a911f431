import type Docker from 'dockerode';
import { logLines } from '../docker-helpers.js';
import { sleep } from './docker-containers.js';
import { shortTask, type TaskFacts } from './swarm-plan.js';

// Reading and writing one Swarm service through the engine (a manager): its spec, its
// tasks, their logs and why one ended, and an update issued with the registry's
// credentials when there are any. The deploy's decisions are in swarm-plan.ts.

/** How often a deploy looks at the service and its tasks. */
export const SWARM_POLL_MS = 250;

/** The registry credentials the nodes pull with (`X-Registry-Auth`); never logged. */
export interface RegistryAuth {
  readonly username: string;
  readonly password: string;
  readonly serveraddress: string;
}

export type ServiceInfo = Docker.Service & { readonly Spec: Docker.ServiceSpec };

/** `docker service inspect` by name or id, or undefined when there is none. */
export async function findService(docker: Docker, name: string): Promise<ServiceInfo | undefined> {
  try {
    return (await docker.getService(name).inspect()) as ServiceInfo;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

export async function tasksOf(docker: Docker, serviceId: string): Promise<TaskFacts[]> {
  return (await docker.listTasks({ filters: JSON.stringify({ service: [serviceId] }) })) as TaskFacts[];
}

/**
 * Updates a service to `spec` (or, with `rollback`, back to its previous spec, which Swarm
 * keeps), at the version read: a service changed meanwhile is read again and the update
 * tried once more (with `sameSpec`, an update meant to leave the spec as it is, with the spec
 * read again: the one read first may be from before a rollback).
 */
export async function updateService(
  docker: Docker,
  service: ServiceInfo,
  spec: Docker.ServiceSpec,
  options: { readonly rollback?: boolean; readonly sameSpec?: boolean; readonly auth?: RegistryAuth } = {},
): Promise<void> {
  const issue = (s: ServiceInfo, body: Docker.ServiceSpec) =>
    docker.getService(s.ID).update({
      ...(options.auth ? { authconfig: options.auth } : {}),
      _query: { version: s.Version?.Index, ...(options.rollback ? { rollback: 'previous' } : {}) },
      _body: body,
    });
  try {
    await issue(service, spec);
  } catch (error) {
    const message = (error as { json?: { message?: string } }).json?.message ?? '';
    if (!/out of sequence/i.test(message)) throw error;
    const again = await findService(docker, service.ID);
    if (!again) throw error;
    await issue(again, options.rollback || options.sameSpec ? again.Spec : spec);
  }
}

const asBuffer = async (logs: unknown): Promise<Buffer> => {
  if (Buffer.isBuffer(logs)) return logs;
  if (typeof logs === 'string') return Buffer.from(logs);
  const chunks: Buffer[] = [];
  for await (const chunk of logs as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
};

/** The last `lines` non-empty lines a service's tasks printed (every node's, through the manager). */
export async function serviceLogTail(docker: Docker, serviceId: string, lines = 20): Promise<string[]> {
  const logs = await docker
    .getService(serviceId)
    .logs({ stdout: true, stderr: true, tail: lines, follow: false })
    .then(asBuffer, () => Buffer.alloc(0));
  return logLines(logs)
    .filter((l) => l.trim())
    .slice(-lines);
}

/** The last lines one task printed: its logs through the manager, else its container's on this node. */
async function taskLogTail(docker: Docker, task: TaskFacts, lines = 20): Promise<string[]> {
  const fromTask = await (docker.getTask(task.ID) as unknown as { logs(o: object): Promise<unknown> })
    .logs({ stdout: true, stderr: true, tail: lines, follow: false })
    .then(asBuffer, () => Buffer.alloc(0));
  let all = logLines(fromTask).filter((l) => l.trim());
  const containerId = task.Status?.ContainerStatus?.ContainerID;
  if (all.length === 0 && containerId) {
    const fromContainer = await docker
      .getContainer(containerId)
      .logs({ stdout: true, stderr: true, tail: lines, follow: false })
      .then(asBuffer, () => Buffer.alloc(0));
    all = logLines(fromContainer).filter((l) => l.trim());
  }
  return all.slice(-lines);
}

/**
 * Why a task of the new version ended, in a few words (`task 1a2b3c4d5e6f unhealthy`,
 * `… exited with code 1`, `… failed: <Swarm's error>`), and its last lines, then its last
 * health check's output. Its container is read when it is on this node.
 */
export async function whyTaskEnded(
  docker: Docker,
  task: TaskFacts,
): Promise<{ readonly reason: string; readonly logTail: string[] }> {
  const id = shortTask(task.ID);
  const containerId = task.Status?.ContainerStatus?.ContainerID;
  const container = containerId
    ? await docker
        .getContainer(containerId)
        .inspect()
        .catch(() => undefined)
    : undefined;
  const tail = await taskLogTail(docker, task);
  const health = container?.State.Health;
  if (health?.Status === 'unhealthy') {
    const last = health.Log?.at(-1);
    const output = last?.Output?.trim().split('\n').at(-1)?.slice(0, 200);
    const check = last ? `health check: exit ${last.ExitCode}${output ? `: ${output}` : ''}` : undefined;
    return { reason: `task ${id} unhealthy`, logTail: check ? [...tail, check] : tail };
  }
  const err = task.Status?.Err;
  const exit = task.Status?.ContainerStatus?.ExitCode ?? container?.State.ExitCode;
  if (err && /No such image|pull access denied|manifest unknown/i.test(err))
    return {
      reason: `task ${id} failed: ${err}; its node could not get the image: set DEPLOY_REGISTRY so that every node pulls the pushed digest, or check the registry’s credentials`,
      logTail: tail,
    };
  if (err && !/non-zero exit/.test(err)) return { reason: `task ${id} failed: ${err}`, logTail: tail };
  if (exit !== undefined && exit !== 0)
    return { reason: `task ${id} exited with code ${exit}`, logTail: tail };
  return { reason: `task ${id} stopped (${task.Status?.State ?? 'unknown'})`, logTail: tail };
}

/** Update states in which Swarm is still moving tasks. */
const MOVING = new Set(['updating', 'rollback_started']);

/** Waits (bounded) until Swarm is not moving the service's tasks; the service as it then is. */
export async function settled(
  docker: Docker,
  name: string,
  withinMs: number,
): Promise<ServiceInfo | undefined> {
  const until = Date.now() + withinMs;
  for (;;) {
    const service = await findService(docker, name);
    if (!service || !MOVING.has(service.UpdateStatus?.State ?? '') || Date.now() >= until) return service;
    await sleep(SWARM_POLL_MS);
  }
}

/** What to do when the app's Swarm service does not exist. */
export function noService(name: string): string {
  return `there is no Swarm service ${name} to update: deploy the stack first (docker stack deploy -c <compose file> <stack>), or set DEPLOY_CONTAINER to the app service's name (<stack>_<service>, see docker service ls)`;
}
