import { isDeepStrictEqual } from 'node:util';
import type { ContainerCreateOptions, ContainerInspectInfo, HostConfig } from 'dockerode';
import { nameOf } from './docker-helpers.js';

/**
 * The HostConfig settings a new container takes from the running one, verbatim (inspect
 * reports them in the form create takes): limits and reservations, OOM priority, log
 * rotation, security, mounts. Ports, restart policy and network mode are planned apart,
 * because the pre-flight container differs in them. `container-settings.test.ts` checks
 * the list against containers the compose files create.
 */
export const KEPT_HOST_SETTINGS = [
  'Binds',
  'Mounts',
  'Tmpfs',
  'GroupAdd',
  'Memory',
  'MemoryReservation',
  'MemorySwap',
  'MemorySwappiness',
  'NanoCpus',
  'CpuShares',
  'CpuPeriod',
  'CpuQuota',
  'CpusetCpus',
  'PidsLimit',
  'Ulimits',
  'ShmSize',
  'OomScoreAdj',
  'OomKillDisable',
  'LogConfig',
  'Init',
  'Privileged',
  'CapAdd',
  'CapDrop',
  'SecurityOpt',
  'ReadonlyRootfs',
  'Sysctls',
  'Devices',
  'Dns',
  'DnsOptions',
  'DnsSearch',
  'ExtraHosts',
] as const satisfies ReadonlyArray<keyof HostConfig>;

export type KeptHostSettings = Readonly<Pick<HostConfig, (typeof KEPT_HOST_SETTINGS)[number]>>;

/** Config settings an image may set too; a container keeps those it sets over its image's. */
export interface OverImageSettings {
  readonly Entrypoint?: string | string[];
  readonly WorkingDir?: string;
  readonly Volumes?: Readonly<Record<string, object>>;
  readonly Healthcheck?: NonNullable<ContainerCreateOptions['Healthcheck']>;
  readonly StopSignal?: string;
  readonly StopTimeout?: number;
}

/** The part of an image's config that inspect merges into its containers' config. */
export type ImageDefaults = {
  readonly Env?: readonly string[] | null;
  readonly Labels?: Readonly<Record<string, string>> | null;
} & { readonly [K in keyof OverImageSettings]?: OverImageSettings[K] | null };

/** What a deploy keeps from the running container: everything but its image. */
export interface ContainerSnapshot {
  readonly name: string;
  readonly image: string;
  readonly env: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly cmd?: readonly string[];
  readonly user?: string;
  readonly networks: Readonly<Record<string, { readonly aliases: readonly string[] }>>;
  readonly portBindings: NonNullable<NonNullable<ContainerCreateOptions['HostConfig']>['PortBindings']>;
  readonly exposedPorts: Readonly<Record<string, object>>;
  readonly restartPolicy: { readonly Name: string; readonly MaximumRetryCount?: number };
  /** KEPT_HOST_SETTINGS the container has (those inspect reports as null are left out). */
  readonly host: KeptHostSettings;
  /** What the container sets over its image: the stop timeout, a health check of its own … */
  readonly overImage: OverImageSettings;
}

export interface SwitchPlan {
  /** Gated first, with no host port: it cannot take traffic or (thanks to the poller lease) updates. */
  readonly preflight: ContainerCreateOptions;
  /** Replaces the running container under its name, with its ports. */
  readonly final: ContainerCreateOptions;
  /** Where the running container is kept, stopped, for a rollback. */
  readonly previousName: string;
  /** Networks beyond the first, connected before start: the pre-flight's without aliases. */
  readonly extraNetworks: {
    readonly preflight: ReadonlyArray<readonly [string, readonly string[]]>;
    readonly final: ReadonlyArray<readonly [string, readonly string[]]>;
  };
}

/**
 * Reads what a deploy must carry over from `docker inspect` of the running container.
 * Inspect merges the image's own ENV, labels, health check, stop signal … into the
 * container's: those equal to the old image's (`imageConfig`) are left out, so the new
 * image's defaults apply.
 */
export function snapshotOf(info: ContainerInspectInfo, imageConfig: ImageDefaults = {}): ContainerSnapshot {
  const imageEnv = new Set(imageConfig.Env ?? []);
  const imageLabels = imageConfig.Labels ?? {};
  const host = info.HostConfig;
  const networks = Object.fromEntries(
    Object.entries(info.NetworkSettings.Networks ?? {}).map(([name, net]) => [
      name,
      // Docker adds the container's short id as an alias; a new container gets its own.
      { aliases: ((net.Aliases ?? []) as string[]).filter((a) => !info.Id.startsWith(a)) },
    ]),
  );
  return {
    name: nameOf(info),
    image: info.Config.Image,
    env: (info.Config.Env ?? []).filter((e) => !imageEnv.has(e)),
    labels: Object.fromEntries(
      Object.entries(info.Config.Labels ?? {}).filter(([k, v]) => imageLabels[k] !== v),
    ),
    cmd: info.Config.Cmd ?? undefined,
    user: info.Config.User || undefined,
    networks,
    portBindings: host.PortBindings ?? {},
    exposedPorts: info.Config.ExposedPorts ?? {},
    restartPolicy: {
      Name: host.RestartPolicy?.Name ?? 'no',
      MaximumRetryCount: host.RestartPolicy?.MaximumRetryCount,
    },
    host: Object.fromEntries(
      KEPT_HOST_SETTINGS.filter((key) => host[key] != null).map((key) => [key, host[key]]),
    ) as KeptHostSettings,
    overImage: overImageOf(info.Config as ContainerConfig, imageConfig),
  };
}

// dockerode's type of inspect's Config lacks the stop settings the engine reports.
type ContainerConfig = ContainerInspectInfo['Config'] & {
  readonly StopSignal?: string;
  readonly StopTimeout?: number | null;
};

function overImageOf(config: ContainerConfig, image: ImageDefaults): OverImageSettings {
  const imageVolumes = image.Volumes ?? {};
  const volumes = Object.keys(config.Volumes ?? {}).filter((path) => !(path in imageVolumes));
  const own = <K extends keyof OverImageSettings>(key: K): Partial<OverImageSettings> => {
    const value = config[key as keyof ContainerConfig];
    const empty = value == null || value === '' || (Array.isArray(value) && value.length === 0);
    return empty || isDeepStrictEqual(value, image[key] ?? undefined) ? {} : { [key]: value };
  };
  return {
    ...own('Entrypoint'),
    ...own('WorkingDir'),
    ...(volumes.length > 0 ? { Volumes: Object.fromEntries(volumes.map((path) => [path, {}])) } : {}),
    ...own('Healthcheck'),
    ...own('StopSignal'),
    ...(config.StopTimeout != null ? { StopTimeout: config.StopTimeout } : {}),
  };
}

function withSha(env: readonly string[], sha: string, role: 'preflight' | 'app'): string[] {
  const kept = env.filter((e) => !e.startsWith('GIT_SHA=') && !e.startsWith('LUGH_ROLE='));
  // A pre-flight lugh must not take deploy jobs: it is removed once its health is known.
  return [...kept, `GIT_SHA=${sha}`, ...(role === 'preflight' ? ['LUGH_ROLE=preflight'] : [])];
}

/**
 * The containers of a switch, as data: the same environment, networks, volumes, labels,
 * limits, OOM priority, logging, stop and health settings and restart policy as the
 * running one, with the new image. Pure, so it is tested by equality;
 * `runtime/docker-runtime.ts` runs it.
 */
export function planSwitch(current: ContainerSnapshot, image: string, sha: string): SwitchPlan {
  const base = (role: 'preflight' | 'app', ports: boolean): ContainerCreateOptions => {
    // Docker attaches one network at create; extraNetworks() are connected before start.
    const [firstNetwork] = Object.entries(current.networks);
    return {
      Image: image,
      Env: withSha(current.env, sha, role),
      Cmd: current.cmd ? [...current.cmd] : undefined,
      User: current.user,
      Labels: { ...current.labels, 'lugh.sha': sha, 'lugh.role': role },
      ExposedPorts: { ...current.exposedPorts },
      ...current.overImage,
      HostConfig: {
        ...current.host,
        PortBindings: ports ? current.portBindings : {},
        RestartPolicy: ports ? { ...current.restartPolicy } : { Name: 'no' },
        NetworkMode: firstNetwork?.[0],
      },
      NetworkingConfig: firstNetwork
        ? { EndpointsConfig: { [firstNetwork[0]]: { Aliases: ports ? [...firstNetwork[1].aliases] : [] } } }
        : undefined,
    };
  };
  return {
    preflight: { ...base('preflight', false), name: `${current.name}-preflight-${sha.slice(0, 7)}` },
    final: { ...base('app', true), name: current.name },
    previousName: `${current.name}-previous`,
    extraNetworks: {
      preflight: extraNetworks(current).map(([name]) => [name, []]),
      final: extraNetworks(current),
    },
  };
}

/** Networks beyond the first, which must be connected after create (Docker's API limit). */
export function extraNetworks(current: ContainerSnapshot): Array<[string, readonly string[]]> {
  return Object.entries(current.networks)
    .slice(1)
    .map(([name, net]) => [name, net.aliases]);
}

/**
 * How often Docker restarts a runner that died (OOM, `kill -9`): each
 * restart claims the run, converges and resumes. A run that ends exits 0 and is not restarted.
 */
export const RUNNER_RESTARTS = 5;

/**
 * The deploy runner container of a deployment, as data: the running app container's
 * environment, volumes, user, networks and host settings (limits, OOM priority, logging)
 * on the same image, running `deploy-run <id>`.
 * Like a pre-flight container it takes no traffic (no ports, no network aliases); unlike
 * it, Docker restarts it when it dies without finishing (`on-failure`, RUNNER_RESTARTS
 * times), so a self-deploy killed mid-switch, when no app container runs to retry it,
 * still ends. Compose's labels are left out, or compose would count it as one of its services.
 */
export function planRunner(
  current: ContainerSnapshot,
  runner: { readonly name: string; readonly image: string; readonly deploymentId: number },
): ContainerCreateOptions {
  const [firstNetwork] = Object.entries(current.networks);
  const labels = Object.fromEntries(
    Object.entries(current.labels).filter(([k]) => !k.startsWith('com.docker.compose.')),
  );
  return {
    name: runner.name,
    Image: runner.image,
    Env: [...current.env.filter((e) => !e.startsWith('LUGH_ROLE=')), 'LUGH_ROLE=runner'],
    Cmd: ['deploy-run', String(runner.deploymentId)],
    User: current.user,
    Labels: { ...labels, 'lugh.role': 'runner', 'lugh.deployment': String(runner.deploymentId) },
    Healthcheck: { Test: ['NONE'] },
    HostConfig: {
      ...current.host,
      NetworkMode: firstNetwork?.[0],
      // The runner is pid 1 of its container: an init forwards SIGTERM and reaps.
      Init: true,
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: RUNNER_RESTARTS },
    },
    NetworkingConfig: firstNetwork ? { EndpointsConfig: { [firstNetwork[0]]: { Aliases: [] } } } : undefined,
  };
}
