import type { ContainerCreateOptions, ContainerInspectInfo } from 'dockerode';
import { nameOf } from './docker-helpers.js';

/** What a deploy keeps from the running container: everything but its image. */
export interface ContainerSnapshot {
  readonly name: string;
  readonly image: string;
  readonly env: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly cmd?: readonly string[];
  readonly user?: string;
  readonly networks: Readonly<Record<string, { readonly aliases: readonly string[] }>>;
  readonly binds: readonly string[];
  readonly portBindings: NonNullable<NonNullable<ContainerCreateOptions['HostConfig']>['PortBindings']>;
  readonly exposedPorts: Readonly<Record<string, object>>;
  readonly restartPolicy: { readonly Name: string; readonly MaximumRetryCount?: number };
  readonly memory: number;
  readonly nanoCpus: number;
  readonly cpuShares: number;
  readonly init: boolean;
  readonly groupAdd: readonly string[];
}

export interface SwitchPlan {
  /** Gated first, with no host port: it cannot take traffic or (thanks to the poller lease) updates. */
  readonly preflight: ContainerCreateOptions;
  /** Replaces the running container under its name, with its ports. */
  readonly final: ContainerCreateOptions;
  /** Where the running container is kept, stopped, for a rollback. */
  readonly previousName: string;
}

/**
 * Reads what a deploy must carry over from `docker inspect` of the running container.
 * Inspect merges the image's own ENV and labels into the container's: those of the old
 * image (`imageConfig`) are left out, so the new image's defaults apply.
 */
export function snapshotOf(
  info: ContainerInspectInfo,
  imageConfig: {
    readonly Env?: readonly string[] | null;
    readonly Labels?: Readonly<Record<string, string>> | null;
  } = {},
): ContainerSnapshot {
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
    binds: host.Binds ?? [],
    portBindings: host.PortBindings ?? {},
    exposedPorts: info.Config.ExposedPorts ?? {},
    restartPolicy: {
      Name: host.RestartPolicy?.Name ?? 'no',
      MaximumRetryCount: host.RestartPolicy?.MaximumRetryCount,
    },
    memory: host.Memory ?? 0,
    nanoCpus: host.NanoCpus ?? 0,
    cpuShares: host.CpuShares ?? 0,
    init: host.Init ?? false,
    groupAdd: host.GroupAdd ?? [],
  };
}

function withSha(env: readonly string[], sha: string, role: 'preflight' | 'app'): string[] {
  const kept = env.filter((e) => !e.startsWith('GIT_SHA=') && !e.startsWith('LUGH_ROLE='));
  // A pre-flight lugh must not take deploy jobs: it is removed once its health is known.
  return [...kept, `GIT_SHA=${sha}`, ...(role === 'preflight' ? ['LUGH_ROLE=preflight'] : [])];
}

/**
 * The containers of a switch, as data: the same environment, networks, volumes, labels,
 * limits and restart policy as the running one, with the new image. Pure, so it is
 * tested by equality; `runtime/docker-runtime.ts` runs it.
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
      HostConfig: {
        Binds: [...current.binds],
        PortBindings: ports ? current.portBindings : {},
        RestartPolicy: ports ? { ...current.restartPolicy } : { Name: 'no' },
        Memory: current.memory,
        NanoCpus: current.nanoCpus,
        CpuShares: current.cpuShares,
        Init: current.init,
        GroupAdd: [...current.groupAdd],
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
  };
}

/** Networks beyond the first, which must be connected after create (Docker's API limit). */
export function extraNetworks(current: ContainerSnapshot): Array<[string, readonly string[]]> {
  return Object.entries(current.networks)
    .slice(1)
    .map(([name, net]) => [name, net.aliases]);
}

/**
 * The deploy runner container of a deployment, as data: the running app container's
 * environment, volumes, user and networks on the same image, running `deploy-run <id>`.
 * Like a pre-flight container it takes no traffic (no ports, no network aliases) and is
 * never restarted by Docker; compose's labels are left out, or compose would count it as
 * one of its services.
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
      Binds: [...current.binds],
      GroupAdd: [...current.groupAdd],
      NetworkMode: firstNetwork?.[0],
      // The runner is pid 1 of its container: an init forwards SIGTERM and reaps.
      Init: true,
      RestartPolicy: { Name: 'no' },
    },
    NetworkingConfig: firstNetwork ? { EndpointsConfig: { [firstNetwork[0]]: { Aliases: [] } } } : undefined,
  };
}
