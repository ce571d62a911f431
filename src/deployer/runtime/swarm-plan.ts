import type Docker from 'dockerode';
import { COMMIT_ENV_VARS } from '../container-plan.js';

// The Swarm runtime's decisions as data: the service update a deploy issues, and what the
// service's tasks say about it. Pure, so they are tested by equality
// (tests/unit/deployer/swarm-plan.test.ts); swarm-runtime.ts and swarm-follow.ts run them.

/** The container label each task of one update carries (the update's token): its new tasks. */
export const UPDATE_LABEL = 'lugh.update';
/** The commit a service (and each of its tasks) runs, as lugh deployed it. */
export const SHA_LABEL = 'lugh.sha';

const NS_PER_MS = 1_000_000;

/** A Swarm task, as the engine lists it (the fields lugh reads). */
export interface TaskFacts {
  readonly ID: string;
  /** Its replica slot (replicated services; none for a global one's, which have a node each). */
  readonly Slot?: number;
  readonly NodeID?: string;
  readonly DesiredState?: string;
  readonly CreatedAt?: string;
  readonly Spec?: { readonly ContainerSpec?: { readonly Labels?: Readonly<Record<string, string>> } };
  readonly Status?: {
    readonly State?: string;
    /** When the task last changed state (RFC 3339). */
    readonly Timestamp?: string;
    readonly Message?: string;
    readonly Err?: string;
    readonly ContainerStatus?: { readonly ContainerID?: string; readonly ExitCode?: number };
  };
}

/** The update and rollback settings a deploy puts on the service: one task at a time, start-first. */
export function updateConfigOf(monitorMs: number): {
  UpdateConfig: Docker.UpdateConfig;
  RollbackConfig: Docker.UpdateConfig;
} {
  const monitor = monitorMs * NS_PER_MS;
  return {
    // Start-first: the new task runs (healthy) before the old one stops; a failure within the
    // monitor window rolls the whole service back to its previous spec.
    UpdateConfig: {
      Parallelism: 1,
      Delay: 0,
      Order: 'start-first',
      FailureAction: 'rollback',
      Monitor: monitor,
      MaxFailureRatio: 0,
    },
    // A rollback that fails stops where it is (paused), for a person: another rollback of
    // the rollback would flap between two broken versions.
    RollbackConfig: {
      Parallelism: 1,
      Delay: 0,
      Order: 'start-first',
      FailureAction: 'pause',
      Monitor: monitor,
      MaxFailureRatio: 0,
    },
  };
}

/** `NAME=value` for each commit variable, replacing the spec's own (GIT_SHA always; COMMIT_SHA when the image or spec has it). */
function withSha(env: readonly string[], sha: string, imageEnv: readonly string[]): string[] {
  const has = (name: string) => [...env, ...imageEnv].some((e) => e.startsWith(`${name}=`));
  const names = COMMIT_ENV_VARS.filter((name) => name === 'GIT_SHA' || has(name));
  return [
    ...env.filter((e) => !names.some((n) => e.startsWith(`${n}=`))),
    ...names.map((n) => `${n}=${sha}`),
  ];
}

/**
 * The service's spec for a deploy: its own spec with the new image (an opaque reference: a
 * local tag, or a registry's digest reference), the commit in its environment and labels,
 * the update's token on its tasks, and lugh's update and rollback settings. Everything else
 * (secrets, networks, mounts, placement, health check, replicas) stays as the stack set it.
 */
export function planServiceUpdate(
  spec: Docker.ServiceSpec,
  target: { readonly image: string; readonly sha: string; readonly token: string },
  options: { readonly monitorMs: number; readonly imageEnv?: readonly string[] },
): Docker.ServiceSpec {
  const template = (spec.TaskTemplate ?? {}) as Docker.ContainerTaskSpec;
  const container = template.ContainerSpec ?? {};
  return {
    ...spec,
    Labels: { ...spec.Labels, [SHA_LABEL]: target.sha },
    TaskTemplate: {
      ...template,
      ContainerSpec: {
        ...container,
        Image: target.image,
        Env: withSha(container.Env ?? [], target.sha, options.imageEnv ?? []),
        Labels: { ...container.Labels, [SHA_LABEL]: target.sha, [UPDATE_LABEL]: target.token },
      },
    },
    ...updateConfigOf(options.monitorMs),
  };
}

/** The spec putting back a version the service ran (`image` at `sha`), when its previous spec is not that version. */
export function planPutBack(
  spec: Docker.ServiceSpec,
  back: { readonly image: string; readonly sha?: string },
  options: { readonly monitorMs: number },
): Docker.ServiceSpec {
  const template = (spec.TaskTemplate ?? {}) as Docker.ContainerTaskSpec;
  const container = template.ContainerSpec ?? {};
  const { [UPDATE_LABEL]: _token, ...labels } = container.Labels ?? {};
  const sha = back.sha;
  const next: Docker.ServiceSpec = {
    ...spec,
    Labels: sha ? { ...spec.Labels, [SHA_LABEL]: sha } : spec.Labels,
    TaskTemplate: {
      ...template,
      ContainerSpec: {
        ...container,
        Image: back.image,
        Env: sha ? withSha(container.Env ?? [], sha, []) : container.Env,
        Labels: sha ? { ...labels, [SHA_LABEL]: sha } : labels,
      },
    },
    ...updateConfigOf(options.monitorMs),
  };
  // Putting back that fails stops there, for a person: Swarm's rollback of it would bring
  // back the very version being put away.
  return { ...next, UpdateConfig: { ...next.UpdateConfig!, FailureAction: 'pause' } };
}

/** The image reference a service's spec runs. */
export const imageOf = (spec: Docker.ServiceSpec | undefined): string | undefined =>
  (spec?.TaskTemplate as Docker.ContainerTaskSpec | undefined)?.ContainerSpec?.Image;

/** The token of the update a spec came from (none: not lugh's, or put back by hand). */
export const tokenOf = (spec: Docker.ServiceSpec | undefined): string | undefined =>
  (spec?.TaskTemplate as Docker.ContainerTaskSpec | undefined)?.ContainerSpec?.Labels?.[UPDATE_LABEL];

/** A service's replicas (1 for a service that is not replicated). */
export const replicasOf = (spec: Docker.ServiceSpec | undefined): number =>
  spec?.Mode?.Replicated?.Replicas ?? 1;

/**
 * Task states of a task that ended on its own: it failed, exited (even with 0: an app's task
 * is not meant to end), was refused or lost its node. A task Swarm stops on purpose (an
 * update or rollback replacing it, a surplus replica after a restart) ends `shutdown`.
 */
const FAILED = new Set(['complete', 'failed', 'rejected', 'orphaned']);

/**
 * Where one update's tasks are: how many run (Swarm reports a task with a health check as
 * running only once healthy), and the first that ended, in the order they were created.
 * `endedSince` (ms since the epoch): only a task that ended at or after it is a failure (a
 * verify resumed after its lugh was killed watches its own window; the task killed with
 * that lugh ended before it, and Swarm has replaced it).
 */
export function tasksOfUpdate(
  tasks: readonly TaskFacts[],
  token: string,
  endedSince?: number,
): { readonly running: number; readonly failed?: TaskFacts } {
  const mine = tasks
    .filter((t) => t.Spec?.ContainerSpec?.Labels?.[UPDATE_LABEL] === token)
    .sort((a, b) => (a.CreatedAt ?? '').localeCompare(b.CreatedAt ?? ''));
  const running = mine.filter((t) => t.Status?.State === 'running' && t.DesiredState === 'running').length;
  const endedInTime = (t: TaskFacts) =>
    endedSince === undefined || !(Date.parse(t.Status?.Timestamp ?? '') < endedSince);
  return { running, failed: mine.find((t) => FAILED.has(t.Status?.State ?? '') && endedInTime(t)) };
}

/**
 * Tasks Swarm wants running beyond one per slot: after an update over tasks that failed
 * during it, Swarm's restart supervisor and its updater may both have started a task of the
 * new spec in one slot (moby/swarmkit#2242), and nothing stops the second until Swarm next
 * reconciles the service. (A start-first update runs two in a slot a moment: count it only
 * once the update has completed.)
 */
export function surplusOf(tasks: readonly TaskFacts[]): number {
  const bySlot = new Map<string, number>();
  for (const t of tasks) {
    if (t.DesiredState !== 'running') continue;
    const slot = t.Slot ? `slot ${t.Slot}` : `node ${t.NodeID ?? t.ID}`;
    bySlot.set(slot, (bySlot.get(slot) ?? 0) + 1);
  }
  return [...bySlot.values()].reduce((sum, n) => sum + n - 1, 0);
}

/** The live progress line of an update: `updating 1/2 tasks`. */
export const updatingText = (running: number, replicas: number): string =>
  `updating ${Math.min(running, replicas)}/${replicas} tasks`;

/** A task's id as people read it (Docker's CLI shows 12 characters). */
export const shortTask = (id: string): string => id.slice(0, 12);

/** `GIT_SHA`, else lugh's `lugh.sha` label, else COMMIT_SHA: the commit a service's spec runs. */
export function shaOf(service: { readonly Spec: Docker.ServiceSpec }): string | undefined {
  const container = (service.Spec.TaskTemplate as Docker.ContainerTaskSpec | undefined)?.ContainerSpec;
  const env = (name: string) => container?.Env?.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
  return [
    env('GIT_SHA'),
    container?.Labels?.[SHA_LABEL],
    service.Spec.Labels?.[SHA_LABEL],
    env('COMMIT_SHA'),
  ].find((v) => v !== undefined && /^[0-9a-f]{40}$/.test(v));
}
