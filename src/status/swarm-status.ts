// /status of an environment whose app is a Swarm service (DEPLOY_RUNTIME=swarm): its tasks
// per node, desired against running, Swarm's update state, and the version each task runs.
// The engine's answers come in as plain data (app/swarm-services.ts asks for them).

/** The parts of a Swarm task /status reads (the engine's `GET /tasks` item). */
export interface RawTask {
  readonly ID: string;
  readonly NodeID?: string;
  readonly Slot?: number;
  readonly DesiredState?: string;
  readonly CreatedAt?: string;
  readonly Status?: {
    readonly State?: string;
    readonly Err?: string;
    readonly ContainerStatus?: { readonly ContainerID?: string };
  };
  readonly Spec?: {
    readonly ContainerSpec?: {
      readonly Image?: string;
      readonly Env?: readonly string[];
      readonly Labels?: Readonly<Record<string, string>>;
    };
  };
}

/** The parts of a Swarm service /status reads (`GET /services/{id}`). */
export interface RawService {
  readonly ID: string;
  readonly Spec?: {
    readonly Name?: string;
    readonly Labels?: Readonly<Record<string, string>>;
    readonly Mode?: { readonly Replicated?: { readonly Replicas?: number }; readonly Global?: object };
    readonly TaskTemplate?: {
      readonly ContainerSpec?: { readonly Image?: string; readonly Env?: readonly string[] };
    };
  };
  readonly UpdateStatus?: {
    readonly State?: string;
    readonly Message?: string;
    readonly StartedAt?: string;
    readonly CompletedAt?: string;
  };
}

/** One task Swarm wants running, as /status shows it. */
export interface SwarmTaskStatus {
  /** Its replica slot (replicated services). */
  readonly slot?: number;
  /** The node's hostname (its id when the node is not known). */
  readonly node: string;
  /** Swarm's state: `running`, `starting`, `preparing`, `failed`, … */
  readonly state: string;
  /** Docker's health check of its container, when this engine can see the container. */
  readonly health?: string;
  /** The commit it runs (its GIT_SHA, else the `lugh.sha` label). */
  readonly sha?: string;
  /** The image's digest (`sha256:…`), when the task runs an image by digest. */
  readonly digest?: string;
  /** Swarm's error for the task (a failed start, a health check that failed). */
  readonly error?: string;
}

/** Swarm's state of the service's last update (`UpdateStatus`). */
export interface SwarmUpdate {
  /** `updating`, `paused`, `completed`, `rollback_started`, `rollback_paused`, `rollback_completed`. */
  readonly state: string;
  readonly message?: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
}

/** A Swarm service of an environment, as /status shows it. */
export interface SwarmServiceStatus {
  readonly name: string;
  /** Replicas asked for (replicated), or the tasks Swarm placed (global). */
  readonly desired: number;
  readonly global: boolean;
  /**
   * Tasks Swarm wants running that run (and are healthy when their container says so). While
   * Swarm moves tasks, slots (nodes, global): a start-first update's second task in a slot is
   * not counted twice; otherwise each task, so that the surplus Swarm may leave after an
   * update (moby/swarmkit#2242) shows as `4/2`.
   */
  readonly running: number;
  readonly tasks: readonly SwarmTaskStatus[];
  /** Undefined when the service was never updated. */
  readonly update?: SwarmUpdate;
  /** The commit the service's spec asks for (`lugh.sha` label, else its GIT_SHA). */
  readonly sha?: string;
  /** The spec's image digest, when it names one. */
  readonly digest?: string;
}

const envValue = (env: readonly string[] | undefined, key: string) =>
  env?.find((e) => e.startsWith(`${key}=`))?.slice(key.length + 1) || undefined;

/** `sha256:…` of an image reference by digest (`repo@sha256:…`), else undefined. */
export const digestOf = (image: string | undefined) => /@(sha256:[0-9a-f]{64})$/.exec(image ?? '')?.[1];

/**
 * The service's status from the engine's answers: the tasks Swarm wants running (an
 * update's old tasks, shut down, and failed ones Swarm replaced are left out), in slot order.
 */
export function swarmServiceStatus(input: {
  service: RawService;
  tasks: readonly RawTask[];
  /** Node id → hostname. */
  nodes: ReadonlyMap<string, string>;
  /** Docker's health status of a task's container, by container id, when visible from here. */
  health: ReadonlyMap<string, string>;
}): SwarmServiceStatus {
  const { service } = input;
  const spec = service.Spec ?? {};
  const current = input.tasks
    .filter((t) => t.DesiredState === 'running')
    .sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0) || (a.NodeID ?? '').localeCompare(b.NodeID ?? ''));
  const global = spec.Mode?.Global !== undefined;
  const u = service.UpdateStatus;
  const moving = u?.State === 'updating' || u?.State === 'rollback_started';
  const tasks = current.map((t): SwarmTaskStatus => {
    const c = t.Spec?.ContainerSpec;
    const container = t.Status?.ContainerStatus?.ContainerID;
    const health = container ? input.health.get(container) : undefined;
    const sha = envValue(c?.Env, 'GIT_SHA') ?? c?.Labels?.['lugh.sha'];
    const digest = digestOf(c?.Image);
    return {
      ...(t.Slot !== undefined ? { slot: t.Slot } : {}),
      node: (t.NodeID && input.nodes.get(t.NodeID)) || t.NodeID || 'no node yet',
      state: t.Status?.State ?? 'unknown',
      ...(health ? { health } : {}),
      ...(sha ? { sha } : {}),
      ...(digest ? { digest } : {}),
      ...(t.Status?.Err ? { error: t.Status.Err } : {}),
    };
  });
  const sha = spec.Labels?.['lugh.sha'] ?? envValue(spec.TaskTemplate?.ContainerSpec?.Env, 'GIT_SHA');
  const digest = digestOf(spec.TaskTemplate?.ContainerSpec?.Image);
  return {
    name: spec.Name ?? service.ID,
    desired: global ? tasks.length : (spec.Mode?.Replicated?.Replicas ?? 1),
    global,
    running: new Set(
      current
        .filter((_t, i) => tasks[i]!.state === 'running' && [undefined, 'healthy'].includes(tasks[i]!.health))
        // Per slot (node, global) while an update runs two tasks in one slot a moment.
        .map((t) => (moving ? ((global ? t.NodeID : t.Slot) ?? t.ID) : t.ID)),
    ).size,
    tasks,
    ...(u?.State
      ? {
          update: {
            state: u.State,
            ...(u.Message ? { message: u.Message } : {}),
            ...(u.StartedAt ? { startedAt: u.StartedAt } : {}),
            ...(u.CompletedAt ? { completedAt: u.CompletedAt } : {}),
          },
        }
      : {}),
    ...(sha ? { sha } : {}),
    ...(digest ? { digest } : {}),
  };
}
