import type { ContainerSnapshot } from './container-plan.js';

/**
 * An environment as a set of services, declared by the repository being deployed in
 * `lugh.yml` at its root (README: "Several services"). A repository without the file is
 * one service, `app`: the environment's container (DEPLOY_CONTAINER), deployed as before.
 * Pure: planned here (parsed in service-file.ts), run by the deployer.
 */
export const SERVICE_FILE = 'lugh.yml';

/** The service that is the environment's own container (DEPLOY_CONTAINER); every set has it. */
export const APP_SERVICE = 'app';

/** At most this many replicas of one service: a typo (`replicas: 20`) is refused, not started. */
export const MAX_REPLICAS = 8;

export type ServiceHealth =
  | { readonly http: string }
  | { readonly command: readonly string[]; readonly intervalSeconds: number }
  | 'none';

/** One service of the set, resolved: its image's build, how it runs, how many, how it is gated. */
export interface Service {
  readonly name: string;
  /** Which build its image comes from (see `builds`): services running one image share it. */
  readonly build: Build;
  readonly command?: readonly string[];
  readonly replicas: number;
  readonly port?: number;
  readonly traffic: boolean;
  /** Undefined: whatever the image declares (its HEALTHCHECK), as for one service today. */
  readonly health?: ServiceHealth;
  readonly order: number;
}

export interface Build {
  readonly dockerfile: string;
  readonly context: string;
}

/** The services in the order they are started and gated (see `order`). */
export interface ServiceSet {
  /** False for a repository without lugh.yml: one service, `app`, exactly as before. */
  readonly declared: boolean;
  readonly services: readonly Service[];
}

export const DEFAULT_BUILD: Build = { dockerfile: 'Dockerfile', context: '.' };

/** A repository without lugh.yml: its one service is the environment's container, as it runs. */
export const ONE_SERVICE: ServiceSet = {
  declared: false,
  services: [{ name: APP_SERVICE, build: DEFAULT_BUILD, replicas: 1, traffic: false, order: 0 }],
};

/** The distinct builds of a set, each built once, with the services that run its image. */
export function buildsOf(set: ServiceSet): Array<{ build: Build; services: string[] }> {
  const out: Array<{ build: Build; services: string[] }> = [];
  for (const s of set.services) {
    const same = out.find(
      (b) => b.build.dockerfile === s.build.dockerfile && b.build.context === s.build.context,
    );
    if (same) same.services.push(s.name);
    else out.push({ build: s.build, services: [s.name] });
  }
  return out;
}

/** One container of the set: a replica of a service, and where a proxy finds it. */
export interface ServiceContainer {
  readonly service: string;
  /** 1-based. */
  readonly replica: number;
  /** The container's name: the app's own for `app`'s first replica, else derived from it. */
  readonly name: string;
  /** The proxy backend of the service's traffic (named like its first container) and this replica's server in it. */
  readonly backend: string;
  readonly server: string;
}

/**
 * Every container of the set, in the order a deploy replaces them: service by service in
 * the set's order, replica by replica. `app`'s first replica is the environment's
 * container itself (`base`, so a one-service set is exactly today's container); the
 * others are `<base>-<n>` for `app` and `<base>-<service>-<n>` for every other service.
 * A proxy backend per service (`<base>` for app, `<base>-<service>` for the others) holds
 * a server per replica: `app` for the first (today's), `app<n>` for the others.
 */
export function containersOf(set: ServiceSet, base: string): ServiceContainer[] {
  return set.services.flatMap((s) =>
    Array.from({ length: s.replicas }, (_, i): ServiceContainer => {
      const replica = i + 1;
      const stem = s.name === APP_SERVICE ? base : `${base}-${s.name}`;
      return {
        service: s.name,
        replica,
        name: s.name === APP_SERVICE && replica === 1 ? base : `${stem}-${replica}`,
        backend: stem,
        server: replica === 1 ? 'app' : `app${replica}`,
      };
    }),
  );
}

/** Labels every container of a set carries, so the audit and /status find each service's. */
export const SERVICE_LABEL = 'lugh.service';
export const REPLICA_LABEL = 'lugh.replica';
/** The container whose name the set's containers derive from (DEPLOY_CONTAINER). */
export const SET_LABEL = 'lugh.set';
/** The path lugh asks for a service's health when lugh.yml says `health: { http: … }`. */
export const HEALTH_PATH_LABEL = 'lugh.health-path';

/**
 * The container a service runs as, as a snapshot of a running one would read, for a
 * container the set has not started yet: the app container's (`template`) environment,
 * networks, limits, OOM priority, logging and restart policy, with the service's own
 * command, port, health check and labels. It publishes no host port (those are the
 * app's) and answers on each network under the service's name (every replica: Docker's
 * DNS spreads them); compose's labels stay off, as on a runner. The deploy plans its
 * switch from this as from a running container's snapshot (`planSwitch`).
 */
export function serviceSnapshot(
  template: ContainerSnapshot,
  service: Service,
  container: ServiceContainer,
): ContainerSnapshot {
  const labels = Object.fromEntries(
    Object.entries(template.labels).filter(
      ([k]) => !k.startsWith('com.docker.compose.') && !k.startsWith('lugh.'),
    ),
  );
  const port = service.port;
  const env = template.env.filter((e) => !(port !== undefined && e.startsWith('PORT=')));
  const healthcheck = dockerHealthcheck(service.health);
  return {
    ...template,
    name: container.name,
    env: port !== undefined ? [...env, `PORT=${port}`] : env,
    labels: {
      ...labels,
      [SET_LABEL]: template.name,
      [SERVICE_LABEL]: service.name,
      [REPLICA_LABEL]: String(container.replica),
      ...(service.health && typeof service.health === 'object' && 'http' in service.health
        ? { [HEALTH_PATH_LABEL]: service.health.http }
        : {}),
    },
    cmd: service.command ? [...service.command] : undefined,
    networks: Object.fromEntries(
      Object.keys(template.networks).map((net) => [net, { aliases: [service.name] }]),
    ),
    portBindings: {},
    exposedPorts: port !== undefined ? { [`${port}/tcp`]: {} } : {},
    overImage: {
      ...template.overImage,
      Healthcheck: healthcheck,
    },
  };
}

/** The least time a lugh.yml command check may take before Docker counts it failed. */
const COMMAND_CHECK_TIMEOUT_SECONDS = 10;

/**
 * The Docker health check lugh.yml asks for: a command run at its interval; for an HTTP
 * path, none of Docker's (the image may have no client to ask with) — the deployer asks
 * the path itself, at the port; `none`, no check at all (the gate is that it keeps running).
 * Undefined: the image's own.
 */
export function dockerHealthcheck(
  health: ServiceHealth | undefined,
): ContainerSnapshot['overImage']['Healthcheck'] {
  if (health === undefined) return undefined;
  if (health === 'none') return { Test: ['NONE'] };
  if ('http' in health) return undefined;
  const ns = 1_000_000_000;
  return {
    Test: ['CMD', ...health.command],
    Interval: health.intervalSeconds * ns,
    // A failing command counts at once; the timeout only spares one that starts slowly on a
    // busy machine (an interval's worth, 2 s, timed a healthy worker's `node` out under load).
    Timeout: Math.max(COMMAND_CHECK_TIMEOUT_SECONDS, health.intervalSeconds) * ns,
    Retries: 2,
    StartPeriod: 0,
  };
}

/**
 * A running container of the set, as its next version runs: its own snapshot (networks,
 * ports, limits … as they are) with the service's lugh.yml settings applied over it — the
 * command, the port (PORT and the exposed port), the health check and the set's labels —,
 * so a change to lugh.yml reaches a container that already runs. Pure.
 */
export function withService(
  current: ContainerSnapshot,
  service: Service,
  container: ServiceContainer,
  setName: string,
): ContainerSnapshot {
  const labels = Object.fromEntries(Object.entries(current.labels).filter(([k]) => k !== HEALTH_PATH_LABEL));
  const port = service.port;
  const healthcheck = dockerHealthcheck(service.health);
  const { Healthcheck: _ownCheck, ...overImage } = current.overImage;
  return {
    ...current,
    env:
      port !== undefined
        ? [...current.env.filter((e) => !e.startsWith('PORT=')), `PORT=${port}`]
        : current.env,
    labels: {
      ...labels,
      [SET_LABEL]: setName,
      [SERVICE_LABEL]: service.name,
      [REPLICA_LABEL]: String(container.replica),
      ...(service.health && typeof service.health === 'object' && 'http' in service.health
        ? { [HEALTH_PATH_LABEL]: service.health.http }
        : {}),
    },
    cmd: service.command ? [...service.command] : current.cmd,
    exposedPorts:
      port !== undefined ? { ...current.exposedPorts, [`${port}/tcp`]: {} } : current.exposedPorts,
    // lugh.yml's health check when it names one; else the container's own, as before.
    overImage:
      healthcheck || service.health !== undefined
        ? { ...overImage, Healthcheck: healthcheck }
        : current.overImage,
  };
}
