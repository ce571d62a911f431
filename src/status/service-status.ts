// /status of an environment that runs a service set (lugh.yml): a line per service with the
// commit its containers run, replicas ready of those its last deployment asked for, and health.

/** One container of a set as Docker describes it (app/service-containers.ts lists them). */
export interface SetContainerState {
  readonly service: string;
  readonly replica: number;
  readonly name: string;
  readonly state: string;
  /** Docker's health check status; undefined when the container has none. */
  readonly health?: string;
  readonly sha?: string;
}

/** A service of the set, as /status shows it. */
export interface ServiceStatus {
  readonly service: string;
  /** The distinct commits its containers run (more than one: caught halfway). */
  readonly shas: readonly string[];
  /** Running, and healthy when it has a health check. */
  readonly ready: number;
  /** What the last succeeded deployment's set asks for; undefined when none is recorded. */
  readonly desired?: number;
  /** The worst of its containers: `unhealthy`, `starting`, `healthy`, `none` (no health check), `missing`. */
  readonly health: 'unhealthy' | 'starting' | 'healthy' | 'none' | 'missing' | 'stopped';
}

/** Replicas per service of a recorded set (`deployments.services`, as lugh.yml was resolved). */
export function desiredReplicas(recorded: unknown): Record<string, number> | undefined {
  const services = (recorded as { services?: unknown } | null | undefined)?.services;
  if (!Array.isArray(services)) return undefined;
  const out: Record<string, number> = {};
  for (const s of services) {
    const { name, replicas } = (s ?? {}) as { name?: unknown; replicas?: unknown };
    if (typeof name === 'string') out[name] = typeof replicas === 'number' ? replicas : 1;
  }
  return Object.keys(out).length ? out : undefined;
}

const ready = (c: SetContainerState) =>
  c.state === 'running' && (c.health === undefined || c.health === 'healthy');

/**
 * A status per service, in the order the containers come (the app first), then any service
 * the recorded set asks for that has no container. Empty for one service (the app
 * container alone, and no set recorded): /status then shows what it always did.
 */
export function serviceStatuses(
  containers: readonly SetContainerState[],
  desired: Readonly<Record<string, number>> | undefined,
): ServiceStatus[] {
  const names = [...new Set([...containers.map((c) => c.service), ...Object.keys(desired ?? {})])];
  if (containers.length <= 1 && names.length <= 1) return [];
  return names.map((service): ServiceStatus => {
    const of = containers.filter((c) => c.service === service);
    const health: ServiceStatus['health'] =
      of.length === 0
        ? 'missing'
        : of.some((c) => c.health === 'unhealthy')
          ? 'unhealthy'
          : of.some((c) => c.state !== 'running')
            ? 'stopped'
            : of.some((c) => c.health === 'starting')
              ? 'starting'
              : of.every((c) => c.health === undefined)
                ? 'none'
                : 'healthy';
    return {
      service,
      shas: [...new Set(of.flatMap((c) => (c.sha ? [c.sha] : [])))],
      ready: of.filter(ready).length,
      ...(desired?.[service] !== undefined ? { desired: desired[service] } : {}),
      health,
    };
  });
}
