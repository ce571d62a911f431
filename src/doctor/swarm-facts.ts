// What the doctor audits on Swarm (DEPLOY_RUNTIME=swarm): each environment's app service as
// the manager describes its spec (networks, published ports, secret references, resources,
// placement, env). Secret values are never read: Swarm does not give them out. A setting a
// service reads from a secret (`X_FILE`) is taken from the fallback (the env files the
// secrets were made from, or this instance's own configuration) when it has it.
import type Docker from 'dockerode';
import { type AppEnv, ENVIRONMENTS } from '../config/environments.js';
import { isPlaceholder } from '../config/index.js';
import { describeDockerError } from '../deployer/errors.js';
import type { EnvironmentFacts, Settings, SettingsFallback } from './facts.js';

/**
 * Each environment's app service as its stack names it (`docker stack deploy … lugh-prod`
 * of docker-compose.prod.yml's `prod-app`: DEPLOY_CONTAINER in deploy/swarm/*.yml).
 */
export const SWARM_APP_SERVICE: Record<AppEnv, string> = {
  staging: ENVIRONMENTS.staging.swarmService,
  production: ENVIRONMENTS.production.swarmService,
};

/** The label `docker stack deploy` puts on every service of a stack. */
export const STACK_LABEL = 'com.docker.stack.namespace';

export interface SwarmSecretRef {
  readonly name: string;
  readonly id: string;
  /** Where the task sees it: `/run/secrets/<name>` unless the spec says otherwise. */
  readonly path: string;
}

export interface SwarmNetworkFacts {
  readonly id: string;
  readonly name: string;
  readonly internal: boolean;
  readonly driver: string;
}

export interface SwarmPort {
  readonly published: number;
  readonly target: number;
  readonly protocol: string;
  /** `ingress` (every node publishes it) or `host` (the node running the task). */
  readonly mode: string;
}

export interface SwarmResources {
  readonly cpus: number;
  readonly memory: number;
}

/** An environment's app service, as the audit reads it. */
export interface SwarmServiceFacts {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The service's plain environment (ContainerSpec.Env), as written in its spec. */
  readonly env: Settings;
  readonly secrets: readonly SwarmSecretRef[];
  readonly networks: readonly SwarmNetworkFacts[];
  readonly ports: readonly SwarmPort[];
  readonly limits: SwarmResources;
  readonly reservations: SwarmResources;
  readonly placement: readonly string[];
  readonly mounts: ReadonlyArray<{ readonly source: string; readonly target: string }>;
  /**
   * Settings the service reads from a file (`X_FILE`) whose value the audit could not take
   * from the fallback: the setting and where it comes from (a secret's name, or the path).
   */
  readonly unread: Readonly<Record<string, string>>;
}

type RawPorts = Array<{
  Protocol?: string;
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: string;
}>;

interface RawServiceSpec {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate?: {
    ContainerSpec?: {
      Env?: string[];
      Secrets?: Array<{ SecretID?: string; SecretName?: string; File?: { Name?: string } }>;
      Mounts?: Array<{ Source?: string; Target?: string }>;
    };
    Networks?: Array<{ Target?: string }>;
    Resources?: {
      Limits?: { NanoCPUs?: number; MemoryBytes?: number };
      Reservations?: { NanoCPUs?: number; MemoryBytes?: number };
    };
    Placement?: { Constraints?: string[] };
  };
  EndpointSpec?: { Ports?: RawPorts };
}

const envMap = (env: readonly string[] | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const entry of env ?? []) {
    const at = entry.indexOf('=');
    if (at > 0) out[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return out;
};

const resources = (r: { NanoCPUs?: number; MemoryBytes?: number } | undefined): SwarmResources => ({
  cpus: r?.NanoCPUs ? r.NanoCPUs / 1e9 : 0,
  memory: r?.MemoryBytes ?? 0,
});

const statusCode = (error: unknown) => (error as { statusCode?: number }).statusCode;
const engineCodes = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES']);

/** A service's spec as the audit reads it. */
async function serviceFacts(
  docker: Docker,
  info: {
    ID: string;
    Spec?: RawServiceSpec;
    Endpoint?: { Ports?: RawPorts };
  },
): Promise<Omit<SwarmServiceFacts, 'unread'>> {
  const spec = info.Spec ?? {};
  const container = spec.TaskTemplate?.ContainerSpec ?? {};
  const networks = await Promise.all(
    (spec.TaskTemplate?.Networks ?? []).map(async (n): Promise<SwarmNetworkFacts> => {
      const target = n.Target ?? '';
      const net = (await docker
        .getNetwork(target)
        .inspect()
        .catch(() => undefined)) as
        | { Id?: string; Name?: string; Internal?: boolean; Driver?: string }
        | undefined;
      return {
        id: net?.Id ?? target,
        name: net?.Name ?? target,
        internal: net?.Internal === true,
        driver: net?.Driver ?? 'unknown',
      };
    }),
  );
  // The spec as written (the manager's Endpoint follows an update a moment later); a port
  // the spec leaves to Swarm (published 0, ingress) is the one the manager chose.
  const chosen = info.Endpoint?.Ports ?? [];
  const ports = (spec.EndpointSpec?.Ports ?? [])
    .map((p) => ({
      published:
        p.PublishedPort ||
        chosen.find((c) => c.TargetPort === p.TargetPort && (c.Protocol ?? 'tcp') === (p.Protocol ?? 'tcp'))
          ?.PublishedPort ||
        0,
      target: p.TargetPort ?? 0,
      protocol: p.Protocol ?? 'tcp',
      mode: p.PublishMode ?? 'ingress',
    }))
    .filter((p) => p.published);
  return {
    id: info.ID,
    name: spec.Name ?? info.ID,
    labels: spec.Labels ?? {},
    env: envMap(container.Env),
    secrets: (container.Secrets ?? []).map((s) => {
      const file = s.File?.Name ?? s.SecretName ?? '';
      return {
        name: s.SecretName ?? '',
        id: s.SecretID ?? '',
        path: file.startsWith('/') ? file : `/run/secrets/${file}`,
      };
    }),
    networks,
    ports,
    limits: resources(spec.TaskTemplate?.Resources?.Limits),
    reservations: resources(spec.TaskTemplate?.Resources?.Reservations),
    placement: spec.TaskTemplate?.Placement?.Constraints ?? [],
    mounts: (container.Mounts ?? []).map((m) => ({ source: m.Source ?? '', target: m.Target ?? '' })),
  };
}

/**
 * An environment's facts from its Swarm service: its plain env, with each setting it reads
 * from a file (`X_FILE`) filled from `fallback` when that has it (the evidence says so).
 */
export async function gatherSwarmFacts(input: {
  docker?: Docker;
  env: AppEnv;
  serviceName: string;
  settings?: SettingsFallback;
  fallback?: SettingsFallback;
}): Promise<EnvironmentFacts> {
  const { env, serviceName } = input;
  const base = { env, containerName: serviceName, runtime: 'swarm' as const };
  let found: Omit<SwarmServiceFacts, 'unread'> | undefined;
  let missing: string | undefined;
  let engineDown = false;
  if (!input.docker) {
    missing = 'this process has no Docker engine to ask';
    engineDown = true;
  } else {
    try {
      const info = await input.docker.getService(serviceName).inspect();
      found = await serviceFacts(input.docker, info as Parameters<typeof serviceFacts>[1]);
    } catch (error) {
      if (statusCode(error) === 404) missing = `there is no Swarm service ${serviceName}`;
      else {
        missing = describeDockerError(error);
        engineDown = engineCodes.has((error as { code?: string }).code ?? '');
      }
    }
  }
  const fallback = input.fallback?.(env);
  const given = input.settings?.(env);
  if (!found) {
    const use = given ?? fallback;
    return { ...base, missing, engineDown, settings: use?.settings, settingsFrom: use?.from };
  }
  const settings: Record<string, string | undefined> = { ...found.env };
  const unread: Record<string, string> = {};
  const filled: string[] = [];
  for (const [key, path] of Object.entries(found.env)) {
    if (!key.endsWith('_FILE')) continue;
    const name = key.slice(0, -'_FILE'.length);
    // A value beside its file counts, unless blank or a placeholder (the stack files set
    // `__IN_<X>_FILE__` so a compose value never reaches the spec): lugh reads the file then.
    const plain = settings[name];
    if (plain && !isPlaceholder(plain)) continue;
    delete settings[name];
    const known = fallback?.settings[name];
    if (known) {
      settings[name] = known;
      filled.push(name);
    } else {
      const secret = found.secrets.find((s) => s.path === path);
      unread[name] = secret ? `the Docker secret ${secret.name}` : `the file ${path}`;
    }
  }
  const service: SwarmServiceFacts = { ...found, unread };
  return {
    ...base,
    service,
    settings: given?.settings ?? settings,
    settingsFrom:
      given?.from ??
      (filled.length ? `${serviceName}; ${filled.join(', ')} from ${fallback!.from}` : serviceName),
  };
}
