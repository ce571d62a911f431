// What the doctor audits: each environment's app container as the Docker engine describes
// it, and the settings that container runs with.
import type Docker from 'dockerode';
import { type AppEnv, ENVIRONMENTS } from '../config/environments.js';
import { flagKeys, flagVariable } from '../config/feature-flags.js';
import type { Config } from '../config/index.js';
import { findContainer } from '../deployer/docker-helpers.js';
import { describeDockerError } from '../deployer/errors.js';
import { REPLICA_LABEL, SERVICE_LABEL, SET_LABEL } from '../deployer/service-set.js';
import type { PreviewsFacts } from './preview-facts.js';
import type { SwarmServiceFacts } from './swarm-facts.js';

export type Settings = Readonly<Record<string, string | undefined>>;

export interface EnvironmentFacts {
  readonly env: AppEnv;
  /** The app container's name; on Swarm, the app service's. */
  readonly containerName: string;
  /** `swarm` when the app is a Swarm service (DEPLOY_RUNTIME=swarm): `service` holds it, never `container`. */
  readonly runtime?: 'swarm';
  readonly service?: SwarmServiceFacts;
  readonly container?: Docker.ContainerInspectInfo;
  /** Why there is no container (no such container, no Docker engine). */
  readonly missing?: string;
  /** True when the engine itself could not be asked (rather than the container being absent). */
  readonly engineDown?: boolean;
  /** The environment's settings, from its container when there is one. */
  readonly settings?: Settings;
  /** Where the settings came from, for the evidence. */
  readonly settingsFrom?: string;
  /**
   * The other containers of the environment's service set (lugh.yml): every container
   * labelled `lugh.set=<containerName>`, running or not (a stopped `-previous` comes back on a
   * rollback). Empty for one service; undefined when the engine could not list them.
   */
  readonly services?: readonly ServiceContainerFacts[];
  /** Why the set's containers could not be listed. */
  readonly servicesMissing?: string;
  /** Staging's only: the preview containers on the host (preview-facts.ts). */
  readonly previews?: PreviewsFacts;
}

/** One container of an environment's set besides its app container. */
export interface ServiceContainerFacts {
  readonly name: string;
  /** Its `lugh.service` label, and `lugh.replica`. */
  readonly service: string;
  readonly replica?: string;
  readonly container: Docker.ContainerInspectInfo;
  readonly settings: Settings;
}

/** The containers of a set besides its app container, by their `lugh.set` label, inspected. */
export async function serviceContainersOf(docker: Docker, set: string): Promise<ServiceContainerFacts[]> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${SET_LABEL}=${set}`] } });
  const found = await Promise.all(listed.map((c) => findContainer(docker, c.Id)));
  return found
    .filter((info): info is Docker.ContainerInspectInfo => info !== undefined)
    .map((info) => ({
      name: info.Name.replace(/^\//, ''),
      service: info.Config.Labels?.[SERVICE_LABEL] ?? 'unknown',
      replica: info.Config.Labels?.[REPLICA_LABEL],
      container: info,
      settings: settingsOf(info),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Settings to use when an environment has no container (env files, this instance's own). */
export type SettingsFallback = (env: AppEnv) => { settings: Settings; from: string } | undefined;

/** A container's environment (`Config.Env`) as a map. */
export function settingsOf(info: Docker.ContainerInspectInfo): Settings {
  const settings: Record<string, string> = {};
  for (const entry of info.Config.Env ?? []) {
    const at = entry.indexOf('=');
    if (at > 0) settings[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return settings;
}

export async function gatherFacts(input: {
  docker?: Docker;
  env: AppEnv;
  containerName: string;
  /** Settings that win over the container's (the sandbox: its instances run as processes). */
  settings?: SettingsFallback;
  fallback?: SettingsFallback;
}): Promise<EnvironmentFacts> {
  const { env, containerName } = input;
  let container: Docker.ContainerInspectInfo | undefined;
  let missing: string | undefined;
  let engineDown = false;
  if (!input.docker) {
    missing = 'this process has no Docker engine to ask';
    engineDown = true;
  } else {
    try {
      container = await findContainer(input.docker, containerName);
      if (!container) missing = `there is no container ${containerName} on this Docker engine`;
    } catch (error) {
      missing = describeDockerError(error);
      engineDown = true;
    }
  }
  let services: ServiceContainerFacts[] | undefined;
  let servicesMissing: string | undefined;
  if (input.docker && !engineDown) {
    try {
      services = await serviceContainersOf(input.docker, containerName);
    } catch (error) {
      servicesMissing = describeDockerError(error);
    }
  } else servicesMissing = missing;
  const given =
    input.settings?.(env) ??
    (container ? { settings: settingsOf(container), from: containerName } : input.fallback?.(env));
  return {
    env,
    containerName,
    container,
    missing,
    engineDown,
    settings: given?.settings,
    settingsFrom: given?.from,
    services,
    servicesMissing,
  };
}

/** A setting with the environment's default applied (REDIS_PREFIX, LUGH_HOME, PORT). */
export function settingWithDefault(facts: EnvironmentFacts, key: 'REDIS_PREFIX' | 'LUGH_HOME' | 'PORT') {
  const own = ENVIRONMENTS[facts.env];
  const value = facts.settings?.[key]?.trim();
  if (value) return value;
  if (key === 'REDIS_PREFIX') return own.redisPrefix;
  if (key === 'LUGH_HOME') return own.defaultHomeDir;
  return String(own.defaultPort);
}

export interface DatabaseTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

export function databaseOf(facts: EnvironmentFacts): DatabaseTarget | undefined {
  const url = facts.settings?.DATABASE_URL;
  if (!url || !URL.canParse(url)) return undefined;
  const u = new URL(url);
  // As pg reads it: a ?user= parameter wins over the URL's user, PGUSER fills in for none.
  const user =
    u.searchParams.getAll('user').at(-1) || decodeURIComponent(u.username) || facts.settings?.PGUSER || '';
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    user,
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
  };
}

/** Host `ip:port` pairs a container publishes (e.g. `127.0.0.1:3000`). */
export function publishedPorts(info: Docker.ContainerInspectInfo): string[] {
  const running = info.NetworkSettings?.Ports ?? {};
  const declared = (info.HostConfig?.PortBindings ?? {}) as Record<
    string,
    Array<{ HostIp?: string; HostPort?: string }> | null
  >;
  const source = info.State.Running ? running : declared;
  const out = new Set<string>();
  for (const bindings of Object.values(source)) {
    for (const b of bindings ?? []) {
      if (b.HostPort) out.add(`${b.HostIp || '0.0.0.0'}:${b.HostPort}`);
    }
  }
  return [...out];
}

export const networksOf = (info: Docker.ContainerInspectInfo): string[] =>
  Object.keys(info.NetworkSettings?.Networks ?? {});

/**
 * A container by name, or by an alias on one of `networks`, as a host name on a Docker
 * network would be resolved (e.g. `lugh-postgres` in a DATABASE_URL).
 */
export async function containerForHost(
  docker: Docker,
  host: string,
  networks: readonly string[],
): Promise<Docker.ContainerInspectInfo | undefined> {
  const named = await findContainer(docker, host);
  if (named) return named;
  for (const network of networks) {
    const members = await docker
      .getNetwork(network)
      .inspect()
      .then((n: { Containers?: Record<string, unknown> }) => Object.keys(n.Containers ?? {}))
      .catch(() => [] as string[]);
    for (const id of members) {
      const info = await findContainer(docker, id).catch(() => undefined);
      const aliases = Object.values(info?.NetworkSettings?.Networks ?? {}).flatMap((n) => n.Aliases ?? []);
      if (info && aliases.includes(host)) return info;
    }
  }
  return undefined;
}

/** The first address a container has on any network (the Docker host routes to it). */
export function addressOf(info: Docker.ContainerInspectInfo): string | undefined {
  return Object.values(info.NetworkSettings?.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
}

/** An instance's configuration as the settings a container of it would carry. */
export function settingsFromConfig(config: Config): Settings {
  return {
    APP_ENV: config.appEnv,
    DATABASE_URL: config.databaseUrl,
    REDIS_PREFIX: config.redisPrefix,
    LUGH_HOME: config.home,
    DEPLOY_CONTAINER: config.deploy.containerName,
    PORT: String(config.port),
    TELEGRAM_BOT_TOKEN: config.telegram.token,
    GITHUB_REPO: config.github.repo ? `${config.github.repo.owner}/${config.github.repo.name}` : undefined,
    PROMOTE_SIGNING_KEY: config.promote.signingKey,
    PROMOTE_VERIFY_KEY: config.promote.verifyKey,
    REDIS_URL: config.redisUrl,
    PREVIEW_URL_TEMPLATE: config.previews.urlTemplate,
    PREVIEW_DATABASE_ADMIN_URL: config.previews.databaseAdminUrl,
    PREVIEW_DATA_NETWORK: config.previews.dataNetwork,
    PREVIEW_REDIS_URL: config.previews.redisUrl,
    PREVIEW_PROXY_CONTAINER: config.previews.proxyContainer,
    ...Object.fromEntries(flagKeys.map((key) => [flagVariable(key), String(config.flags[key])])),
  };
}
