import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import { describeDockerError, LeftToNextRunError, RolledBackError } from '../errors.js';
import type { Failpoints } from '../failpoints.js';
import { sleep } from './docker-containers.js';
import type { Preflight, StepProgress, Switched } from './runtime.js';
import {
  imageOf,
  planPutBack,
  replicasOf,
  type TaskFacts,
  tasksOfUpdate,
  tokenOf,
  updatingText,
} from './swarm-plan.js';
import {
  findService,
  type RegistryAuth,
  type ServiceInfo,
  SWARM_POLL_MS,
  serviceLogTail,
  tasksOf,
  updateService,
  whyTaskEnded,
} from './swarm-service.js';
import { settledBack, stopSurplus } from './swarm-surplus.js';

// One deploy as one Swarm service update, followed phase by phase so that the named steps
// stay the Docker runtime's: start issues the update (start-first, failure_action
// rollback); health waits until the new tasks all run (Swarm calls a task with a health
// check running only once it is healthy), saying `updating 1/2 tasks`; switch waits until
// Swarm calls the update completed (the old tasks gone, the monitor window over); verify
// watches the new tasks through DEPLOY_VERIFY_SECONDS. A rollback Swarm does on its own (a
// new task failing within the monitor window) and one lugh does (too slow, or sick in
// verify, with `rollback=previous`) are both lugh's automatic rollback to the chat.

export interface SwarmUpdateDeps {
  readonly docker: Docker;
  readonly log: Logger;
  readonly failpoints: Failpoints;
  /** UpdateConfig.Monitor lugh sets; undefined: the service's own (its stack's), else Swarm's 5 s. */
  readonly monitorMs?: number;
  readonly auth?: RegistryAuth;
  /** The update status each update found when it was issued, by token: a later one is its own. */
  readonly issuedAfter: Map<string, string | undefined>;
  /**
   * The previous spec's image of a service whose surplus was stopped (the unchanged update
   * made the current spec the previous one), by service: cleanup keeps it all the same.
   */
  readonly replacedImages: Map<string, string>;
}

/** Swarm's own default monitor window after each task's update. */
export const DEFAULT_MONITOR_MS = 5_000;

/** The monitor window of a service's updates: lugh's setting, else the one its stack gave it, else Swarm's default. */
export function monitorOf(deps: Pick<SwarmUpdateDeps, 'monitorMs'>, service: ServiceInfo): number {
  const own = (service.Spec.UpdateConfig?.Monitor ?? 0) / 1_000_000;
  return deps.monitorMs ?? (own > 0 ? own : DEFAULT_MONITOR_MS);
}

const noProgress: StepProgress = async () => {};

/** Whether the service's update status is the one this update started (not an older update's). */
const ownStatus = (deps: SwarmUpdateDeps, service: ServiceInfo, token: string): boolean => {
  const startedAt = service.UpdateStatus?.StartedAt;
  return startedAt !== undefined && startedAt !== deps.issuedAfter.get(token);
};

const rollingBack = (s: ServiceInfo) => (s.UpdateStatus?.State ?? '').startsWith('rollback');

/** Says a progress line once, each time it changes. */
function sayer(progress: StepProgress) {
  let last: string | undefined;
  return async (text: string) => {
    if (text === last) return;
    last = text;
    await progress(text);
  };
}

/**
 * The failed task Swarm named ("…early termination of task <id>") or, else, the update's
 * first task that ended: why, and its last lines.
 */
async function failureOf(
  deps: SwarmUpdateDeps,
  service: ServiceInfo,
  tasks: readonly TaskFacts[],
  token: string,
): Promise<{ reason: string; logTail: string[] }> {
  const named = /task ([a-z0-9]{12,})/.exec(service.UpdateStatus?.Message ?? '')?.[1];
  const task = tasks.find((t) => named && t.ID.startsWith(named)) ?? tasksOfUpdate(tasks, token).failed;
  if (task) return whyTaskEnded(deps.docker, task);
  return {
    reason: service.UpdateStatus?.Message ?? 'the update failed',
    logTail: await serviceLogTail(deps.docker, service.ID),
  };
}

/**
 * Waits for Swarm's rollback to end; what runs then, in the error's words. A rollback over
 * tasks that were failing may leave surplus tasks as an update does (moby/swarmkit#2242):
 * `settledBack` stops them once it has ended at the version put back.
 */
async function rollbackEnd(
  deps: SwarmUpdateDeps,
  name: string,
  backTo: string,
  say: (text: string) => Promise<void>,
): Promise<string> {
  const after = await settledBack(deps, name, { image: backTo }, say);
  const state = after?.UpdateStatus?.State;
  if (state === 'rollback_started') return 'the rollback is still under way';
  if (state === 'updating') return 'putting the previous version back is still under way';
  if (state === 'paused')
    return `putting the previous version back paused (${after?.UpdateStatus?.Message ?? 'Swarm says no more'}): see docker service ps ${name}`;
  if (state === 'rollback_paused')
    return `the rollback paused (${after?.UpdateStatus?.Message ?? 'Swarm says no more'}): see docker service ps ${name}`;
  return 'the previous version runs again';
}

/** Swarm rolled the update back itself: the chat hears it as lugh's automatic rollback. */
async function rolledBackBySwarm(
  deps: SwarmUpdateDeps,
  preflight: Pick<Preflight, 'target' | 'id' | 'currentId'>,
  service: ServiceInfo,
  say: (text: string) => Promise<void>,
): Promise<RolledBackError> {
  const { containerName, image } = preflight.target;
  const { reason, logTail } = await failureOf(
    deps,
    service,
    await tasksOf(deps.docker, service.ID),
    preflight.id,
  );
  await say(`rolled back: ${reason}`);
  const runs = await rollbackEnd(deps, containerName, preflight.currentId, say);
  deps.log.warn({ image, reason }, 'Swarm rolled the update back');
  return new RolledBackError(`${image}: ${reason}; Swarm rolled ${containerName} back, ${runs}`, logTail);
}

/**
 * Puts back the version the update replaced: Swarm's `rollback=previous` while the
 * service's previous spec is that version, else an update to its image. Nothing when the
 * spec is no longer this update's (Swarm rolled it back already, or a person moved on).
 */
export async function putBack(
  deps: SwarmUpdateDeps,
  name: string,
  update: { readonly token: string; readonly image: string; readonly sha?: string },
): Promise<boolean> {
  const service = await findService(deps.docker, name);
  if (!service || tokenOf(service.Spec) !== update.token) return false;
  if (imageOf(service.PreviousSpec) === update.image) {
    await updateService(deps.docker, service, service.Spec, { rollback: true, auth: deps.auth });
  } else {
    const back = planPutBack(service.Spec, update, { monitorMs: monitorOf(deps, service) });
    await updateService(deps.docker, service, back, { auth: deps.auth });
  }
  return true;
}

/** lugh rolls the update back (`reason` names why); the error says what runs then. */
export async function rollBack(
  deps: SwarmUpdateDeps,
  switched: Switched,
  reason: string,
  say: (text: string) => Promise<void> = noProgress,
): Promise<RolledBackError> {
  const { containerName, image } = switched.target;
  const service = await findService(deps.docker, containerName);
  const tasks = service ? await tasksOf(deps.docker, service.ID) : [];
  const failed = tasksOfUpdate(tasks, switched.nextId).failed;
  const tail = failed
    ? (await whyTaskEnded(deps.docker, failed)).logTail
    : service
      ? await serviceLogTail(deps.docker, service.ID)
      : [];
  await putBack(deps, containerName, { token: switched.nextId, image: switched.currentId });
  const runs = await rollbackEnd(deps, containerName, switched.currentId, say);
  deps.log.warn({ image, reason }, 'rolled the service back to its previous version');
  return new RolledBackError(`${image} ${reason}; ${runs}`, tail);
}

const asSwitched = (preflight: Preflight): Switched => ({
  target: preflight.target,
  nextId: preflight.id,
  currentId: preflight.currentId,
  previousName: preflight.target.containerName,
});

/**
 * Waits until the update's tasks all run (healthy), saying `updating k/n tasks` as they
 * come; a rollback by Swarm, or none within the deadline (then lugh rolls back), fails it.
 */
export async function awaitTasks(
  deps: SwarmUpdateDeps,
  preflight: Preflight,
  deadlineMs: number,
  progress: StepProgress = noProgress,
): Promise<void> {
  const say = sayer(progress);
  const name = preflight.target.containerName;
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const service = await findService(deps.docker, name);
    if (!service) throw new Error(`the Swarm service ${name} went away during its update`);
    if (ownStatus(deps, service, preflight.id) && rollingBack(service))
      throw await rolledBackBySwarm(deps, preflight, service, say);
    const replicas = replicasOf(service.Spec);
    const { running } = tasksOfUpdate(await tasksOf(deps.docker, service.ID), preflight.id);
    await say(updatingText(running, replicas));
    if (running >= replicas) return;
    await sleep(SWARM_POLL_MS);
  }
  throw await rollBack(
    deps,
    asSwitched(preflight),
    `did not become healthy within ${Math.round(deadlineMs / 1000)} s`,
    say,
  );
}

/**
 * Waits until Swarm calls the update completed: every old task gone and the monitor
 * window over. The lock is checked before and after; a lost lock rolls back.
 */
export async function awaitCompleted(
  deps: SwarmUpdateDeps,
  preflight: Preflight,
  deadlineMs: number,
  holdLock: () => Promise<void> = async () => {},
  progress: StepProgress = noProgress,
): Promise<Switched> {
  const say = sayer(progress);
  const switched = asSwitched(preflight);
  const name = preflight.target.containerName;
  const lockLost = () =>
    holdLock().then(
      () => undefined,
      (error: unknown) => {
        // This process is stopping (most likely the very task this update replaces): the
        // update goes on, and the next task's run follows it (see run-resumer.ts).
        if (error instanceof LeftToNextRunError) throw error;
        return `was not switched to: the deploy lost its lock (${describeDockerError(error)})`;
      },
    );
  const lost = await lockLost();
  if (lost) throw await rollBack(deps, switched, lost, say);
  await deps.failpoints.reach('switch:during-health');
  const current = await findService(deps.docker, name);
  const until = Date.now() + deadlineMs + (current ? monitorOf(deps, current) : DEFAULT_MONITOR_MS);
  while (Date.now() < until) {
    const service = await findService(deps.docker, name);
    if (!service) throw new Error(`the Swarm service ${name} went away during its update`);
    const own = ownStatus(deps, service, preflight.id);
    if (own && rollingBack(service)) throw await rolledBackBySwarm(deps, preflight, service, say);
    if (own && service.UpdateStatus?.State === 'completed') {
      const lostAfter = await lockLost();
      if (lostAfter) throw await rollBack(deps, switched, lostAfter, say);
      return switched;
    }
    if (own && service.UpdateStatus?.State === 'paused')
      throw await rollBack(
        deps,
        switched,
        `was paused by Swarm (${service.UpdateStatus.Message ?? ''})`,
        say,
      );
    const replicas = replicasOf(service.Spec);
    const { running } = tasksOfUpdate(await tasksOf(deps.docker, service.ID), preflight.id);
    await say(`${updatingText(running, replicas)}, old tasks stopping`);
    await sleep(SWARM_POLL_MS);
  }
  throw await rollBack(
    deps,
    switched,
    `was not completed by Swarm within ${Math.round(deadlineMs / 1000)} s`,
    say,
  );
}

/**
 * The update's tasks must all keep running (healthy) through the window; one that ends in
 * it, or a rollback started by anyone else, rolls the service back and fails the deploy.
 */
export async function watchTasks(
  deps: SwarmUpdateDeps,
  switched: Switched,
  windowMs: number,
  progress: StepProgress = noProgress,
): Promise<void> {
  const say = sayer(progress);
  const name = switched.target.containerName;
  await say(`watching the new tasks for ${Math.round(windowMs / 1000)} s`);
  await deps.failpoints.reach('verify:during');
  const since = Date.now();
  const until = since + windowMs;
  while (Date.now() < until) {
    const service = await findService(deps.docker, name);
    if (!service) throw new Error(`the Swarm service ${name} went away during its verify`);
    if (tokenOf(service.Spec) !== switched.nextId || rollingBack(service))
      throw await rolledBackBySwarm(
        deps,
        { target: switched.target, id: switched.nextId, currentId: switched.currentId },
        service,
        say,
      );
    const tasks = await tasksOf(deps.docker, service.ID);
    // A task that ended before the window (a resumed verify's: the one killed with the lugh
    // that ran it, which Swarm replaced) is not this window's to judge.
    const { failed } = tasksOfUpdate(tasks, switched.nextId, since);
    if (failed) {
      const { reason } = await whyTaskEnded(deps.docker, failed);
      await say(`rolled back: ${reason}`);
      throw await rollBack(deps, switched, `${reason} after the switch`, say);
    }
    await sleep(SWARM_POLL_MS);
  }
  await stopSurplus(deps, name, say);
}
