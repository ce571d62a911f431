import type Docker from 'dockerode';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How often a health gate or verify looks at the new version: Docker's state (running, its
 * health status) and the app's own health endpoint, asked directly. Docker runs the image's
 * check at the image's interval (the seeded app's every 2 s, lugh's every 10 s) and calls a
 * container unhealthy only after its retries: read alone, it held every gate for seconds.
 */
export const HEALTH_POLL_MS = 200;
/** One unanswered probe (a GC pause, a busy event loop) is not sickness; this many in a row are. */
export const PROBE_FAILURES_IN_A_ROW = 2;
const PROBE_TIMEOUT_MS = 1_000;

/**
 * Where a container answers its health directly: `GET /healthz` on its PORT (else its one
 * exposed TCP port), as `lugh healthcheck` and the seeded app's check ask. Only for a
 * container that declares a health check (its own or its image's); a container without
 * one has no health to gate on, here as in Docker.
 */
export function healthProbeOf(config: {
  readonly Env?: readonly string[] | null;
  readonly ExposedPorts?: Readonly<Record<string, object>> | null;
  readonly Healthcheck?: { readonly Test?: readonly string[] } | null;
}): { readonly port: number; readonly path: string } | undefined {
  const test = config.Healthcheck?.Test;
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined;
  const fromEnv = Number(config.Env?.find((e) => e.startsWith('PORT='))?.slice('PORT='.length));
  const tcp = Object.keys(config.ExposedPorts ?? {}).filter((p) => p.endsWith('/tcp'));
  const port =
    Number.isInteger(fromEnv) && fromEnv > 0
      ? fromEnv
      : tcp.length === 1
        ? Number.parseInt(tcp[0]!, 10)
        : NaN;
  return Number.isInteger(port) && port > 0 ? { port, path: '/healthz' } : undefined;
}

/** The URL of a running container's health endpoint on its first network address, if it has one. */
function probeUrl(info: Docker.ContainerInspectInfo): string | undefined {
  const probe = healthProbeOf(info.Config as Parameters<typeof healthProbeOf>[0]);
  if (!probe) return undefined;
  const address = Object.values(info.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
  return address ? `http://${address}:${probe.port}${probe.path}` : undefined;
}

/** 'up' on a 2xx answer; 'down' on any other answer, a refused connection or no answer in time. */
async function probe(url: string): Promise<'up' | 'down'> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok ? 'up' : 'down';
  } catch {
    return 'down';
  }
}

/**
 * 'healthy' as soon as the app answers its health endpoint or Docker says healthy;
 * 'unhealthy' if Docker says so, it exits, or the deadline passes. Docker's state is read
 * first each round, so an engine that cannot be asked fails the wait (the caller rolls back).
 */
export async function waitHealthy(
  container: Docker.Container,
  deadlineMs: number,
): Promise<'healthy' | 'unhealthy'> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const info = await container.inspect();
    const state = info.State;
    if (!state.Running) return 'unhealthy';
    if (state.Health?.Status === 'healthy') return 'healthy';
    if (state.Health?.Status === 'unhealthy') return 'unhealthy';
    const url = probeUrl(info);
    if (url && (await probe(url)) === 'up') return 'healthy';
    await sleep(HEALTH_POLL_MS);
  }
  return 'unhealthy';
}

/**
 * Stays healthy through the whole window: running, not unhealthy in Docker's eyes, and
 * answering its health endpoint (PROBE_FAILURES_IN_A_ROW unanswered probes in a row are
 * sickness, seen within a poll or two of the app's first failed answer). A deployer that
 * cannot reach the container's address (its probe never once answered) goes by Docker's
 * health status alone.
 */
export async function staysHealthy(container: Docker.Container, windowMs: number): Promise<boolean> {
  const until = Date.now() + windowMs;
  let reached = false;
  let failures = 0;
  while (Date.now() < until) {
    const info = await container.inspect();
    const state = info.State;
    if (!state.Running || state.Health?.Status === 'unhealthy') return false;
    const url = probeUrl(info);
    if (url) {
      if ((await probe(url)) === 'up') {
        reached = true;
        failures = 0;
      } else if (reached && ++failures >= PROBE_FAILURES_IN_A_ROW) {
        return false;
      }
    }
    await sleep(HEALTH_POLL_MS);
  }
  return true;
}

/** Creates a planned container; networks beyond the first are connected before it starts (Docker's API limit). */
export async function createFrom(
  docker: Docker,
  spec: Docker.ContainerCreateOptions,
  networks: ReadonlyArray<readonly [string, readonly string[]]>,
): Promise<Docker.Container> {
  const container = await docker.createContainer(spec);
  try {
    for (const [network, aliases] of networks) {
      await docker
        .getNetwork(network)
        .connect({ Container: container.id, EndpointConfig: { Aliases: [...aliases] } });
    }
  } catch (error) {
    // Half made: it would hold the name (the app's, for a switch's final container).
    await removeQuietly(container);
    throw error;
  }
  return container;
}

export const removeQuietly = (container: Docker.Container) =>
  container.remove({ force: true }).catch(() => {});
