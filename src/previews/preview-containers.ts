// What a preview container is, as data (its create options, tested by equality), and how
// its health is judged: Docker's health check when its image has one, AND the app's own
// `GET /healthz` answering 2xx on its address on the preview's network.
import type Docker from 'dockerode';
import type { PreviewContainerSpec, PreviewNames } from './preview.js';

/** Which kind of preview container: the app, or a one-off migration. */
export const ROLE_LABEL = 'lugh.preview.role';
/** The commit a preview container runs. */
export const SHA_LABEL = 'lugh.preview.sha';

/** The lowest of Docker's CPU weights lugh gives (the default is 1024): previews yield to everything. */
export const PREVIEW_CPU_SHARES = 128;
/** The kernel's OOM killer takes a preview first. */
export const PREVIEW_OOM_SCORE_ADJ = 1000;

export const HEALTH_POLL_MS = 200;
const PROBE_TIMEOUT_MS = 1_000;
/** wget's own timeout (1 s) plus docker exec's overhead on a busy engine. */
const PROBE_EXEC_TIMEOUT_MS = 5_000;

/** The create options of a preview's app container (its name given: a new one beside the running one). */
export function previewContainerOptions(
  spec: PreviewContainerSpec,
  name: string,
  options: { readonly publish: boolean },
): Docker.ContainerCreateOptions {
  const port = `${spec.port}/tcp`;
  return {
    name,
    Image: spec.image,
    // Built from the spec alone: nothing of lugh's own environment reaches it.
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.names.labels, [ROLE_LABEL]: 'app', [SHA_LABEL]: spec.sha },
    ExposedPorts: { [port]: {} },
    HostConfig: {
      NetworkMode: spec.names.network,
      Memory: spec.memoryBytes,
      MemorySwap: spec.memoryBytes,
      NanoCpus: spec.nanoCpus,
      CpuShares: PREVIEW_CPU_SHARES,
      OomScoreAdj: PREVIEW_OOM_SCORE_ADJ,
      RestartPolicy: { Name: 'unless-stopped' },
      SecurityOpt: ['no-new-privileges'],
      // Without a proxy, a loopback port Docker picks is its address; behind one, none.
      ...(options.publish ? { PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : {}),
    },
  };
}

/** The create options of a one-off migration container: the preview's environment, its networks, `command`. */
export function migrationContainerOptions(
  spec: PreviewContainerSpec,
  command: readonly string[],
): Docker.ContainerCreateOptions {
  const app = previewContainerOptions(spec, `${spec.names.container}-migrate-${spec.sha.slice(0, 7)}`, {
    publish: false,
  });
  return {
    ...app,
    Entrypoint: [],
    Cmd: [...command],
    Healthcheck: { Test: ['NONE'] },
    ExposedPorts: {},
    Labels: { ...app.Labels, [ROLE_LABEL]: 'migrate' },
    HostConfig: { ...app.HostConfig, RestartPolicy: { Name: 'no' } },
  };
}

/** The Docker label filters of a namespace's previews, of one preview when `names` is given. */
export function labelFilters(namespace: string, names?: PreviewNames, role?: string): string[] {
  return [
    `lugh.preview=${namespace || 'lugh'}`,
    ...(names ? [`lugh.preview.pr=${names.pr}`] : []),
    ...(role ? [`${ROLE_LABEL}=${role}`] : []),
  ];
}

/** Where a preview container answers on its own network (`ip:port`), if it has an address there. */
export function addressOn(
  info: Docker.ContainerInspectInfo,
  network: string,
  port: number,
): string | undefined {
  const ip = info.NetworkSettings.Networks?.[network]?.IPAddress;
  return ip ? `${ip}:${port}` : undefined;
}

/** The loopback port Docker published for `port`, as `127.0.0.1:<port>`. */
export function publishedAddress(info: Docker.ContainerInspectInfo, port: number): string | undefined {
  const bound = info.NetworkSettings.Ports?.[`${port}/tcp`]?.[0]?.HostPort;
  return bound ? `127.0.0.1:${bound}` : undefined;
}

/**
 * `up`: a 2xx answer; `down`: any other answer or a refused connection (the address was
 * reached, nothing healthy answers); `unreachable`: no route or no answer in time (a lugh
 * that cannot reach the previews' networks, e.g. in a container of its own).
 */
export async function probeHealthz(
  address: string,
): Promise<{ state: 'up' | 'down' | 'unreachable'; said: string }> {
  try {
    const res = await fetch(`http://${address}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return { state: res.ok ? 'up' : 'down', said: `HTTP ${res.status}` };
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return { state: code === 'ECONNREFUSED' || code === 'ECONNRESET' ? 'down' : 'unreachable', said: code };
  }
}

/** How a gate asks a preview's /healthz at `address`: from lugh itself, or through the proxy's container. */
export type HealthProbe = (
  address: string,
) => Promise<{ state: 'up' | 'down' | 'unreachable'; said: string }>;

/**
 * Asks /healthz from inside the proxy's container (PREVIEW_PROXY_CONTAINER), the way the
 * traffic goes, with its `wget` (busybox's in Caddy's image): a lugh in a container of its
 * own cannot reach a preview's network, the proxy can. A proxy without a working wget: lugh
 * asks itself.
 */
export function probeThrough(docker: Docker, proxyContainer: string): HealthProbe {
  return async (address) => {
    try {
      const exec = await docker.getContainer(proxyContainer).exec({
        Cmd: ['wget', '-q', '-T', '1', '-O', '/dev/null', `http://${address}/healthz`],
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({ hijack: true, stdin: false });
      let said = '';
      stream.on('data', (chunk: Buffer) => {
        said = (said + chunk.toString('utf8')).slice(-300);
      });
      await new Promise((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', resolve);
        setTimeout(resolve, PROBE_EXEC_TIMEOUT_MS).unref();
      });
      stream.destroy();
      // The stream may end a moment before Docker records the exit code.
      let { ExitCode, Running } = await exec.inspect();
      for (let i = 0; Running && i < 50; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        ({ ExitCode, Running } = await exec.inspect());
      }
      if (ExitCode === 0) return { state: 'up', said: 'answered through the proxy' };
      // Anything but wget's own failures (1: busybox's, 4 and 8: GNU's) is a wget that could
      // not run (missing: 127, crashed: 139, as the static busybox in Debian does): lugh asks.
      if (![1, 4, 8].includes(ExitCode ?? -1)) return probeHealthz(address);
      const line = said.replace(/[^\x20-\x7e]+/g, ' ').trim();
      return { state: 'down', said: `through the proxy: ${line || `wget exit ${ExitCode}`}` };
    } catch {
      return probeHealthz(address);
    }
  };
}

/**
 * Waits until the container is healthy: running, Docker's health `healthy` when its image
 * has a check, and `/healthz` answering 2xx (when lugh cannot reach the address at all, the
 * Docker check alone decides, if there is one). `healthy`, or why not.
 */
export async function waitPreviewHealthy(
  container: Docker.Container,
  network: string,
  port: number,
  deadlineMs: number,
  ask: HealthProbe = probeHealthz,
): Promise<{ healthy: true } | { healthy: false; reason: string }> {
  const until = Date.now() + deadlineMs;
  let last = 'not asked yet';
  for (;;) {
    const info = await container.inspect();
    const state = info.State;
    if (!state.Running) {
      return {
        healthy: false,
        reason: `it stopped (exit code ${state.ExitCode}${state.OOMKilled ? ', out of memory' : ''})`,
      };
    }
    const docker = state.Health?.Status;
    if (docker === 'unhealthy') return { healthy: false, reason: 'Docker’s health check says unhealthy' };
    const address = addressOn(info, network, port);
    const probe = address ? await ask(address) : { state: 'unreachable' as const, said: 'no address' };
    last = `Docker’s health: ${docker ?? 'no check'}; /healthz: ${probe.said}`;
    const dockerOk = docker === undefined || docker === 'healthy';
    if (dockerOk && (probe.state === 'up' || (probe.state === 'unreachable' && docker === 'healthy'))) {
      return { healthy: true };
    }
    if (Date.now() + HEALTH_POLL_MS > until) {
      return { healthy: false, reason: `not healthy within ${Math.round(deadlineMs / 1000)} s (${last})` };
    }
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
  }
}
