import type Docker from 'dockerode';
import { HEALTH_PATH_LABEL, SERVICE_LABEL } from '../service-set.js';

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
/**
 * How long one probe waits for an answer. A version that has just started (lugh's own, in a
 * self-deploy on a busy machine) may take over a second to answer while it warms up: that is
 * slowness, not sickness, and two such in a row rolled healthy self-deploys back.
 */
const PROBE_TIMEOUT_MS = 3_000;

/**
 * After this long still running, a container of a service set that has no health check at
 * all (lugh.yml's `health: none`) passes its gate: its health is that it keeps running.
 */
export const SETTLE_MS = 2_000;

/**
 * Where a container answers its health directly: `GET /healthz` on its PORT (else its one
 * exposed TCP port), as `lugh healthcheck` and the seeded app's check ask; a service of a
 * set whose lugh.yml names a path (`health: { http: … }`, the `lugh.health-path` label):
 * that path, even without a Docker health check. Else only for a container that declares
 * a health check (its own or its image's); a container without one has no health to gate
 * on, here as in Docker.
 */
export function healthProbeOf(config: {
  readonly Env?: readonly string[] | null;
  readonly ExposedPorts?: Readonly<Record<string, object>> | null;
  readonly Healthcheck?: { readonly Test?: readonly string[] } | null;
  readonly Labels?: Readonly<Record<string, string>> | null;
}): { readonly port: number; readonly path: string } | undefined {
  const labelled = config.Labels?.[HEALTH_PATH_LABEL];
  const test = config.Healthcheck?.Test;
  const checked = !!test && test.length > 0 && test[0] !== 'NONE';
  if (!labelled && !checked) return undefined;
  const fromEnv = Number(config.Env?.find((e) => e.startsWith('PORT='))?.slice('PORT='.length));
  const tcp = Object.keys(config.ExposedPorts ?? {}).filter((p) => p.endsWith('/tcp'));
  const port =
    Number.isInteger(fromEnv) && fromEnv > 0
      ? fromEnv
      : tcp.length === 1
        ? Number.parseInt(tcp[0]!, 10)
        : NaN;
  return Number.isInteger(port) && port > 0 ? { port, path: labelled || '/healthz' } : undefined;
}

/** The URL of a running container's health endpoint on its first network address, if it has one. */
function probeUrl(info: Docker.ContainerInspectInfo): string | undefined {
  const probe = healthProbeOf(info.Config as Parameters<typeof healthProbeOf>[0]);
  if (!probe) return undefined;
  const address = Object.values(info.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
  return address ? `http://${address}:${probe.port}${probe.path}` : undefined;
}

/**
 * Undefined on a 2xx answer; else what it did instead, as a phrase: "answered 503", "could not
 * be reached" (refused, no route), "did not answer within 3 s".
 */
async function probe(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok ? undefined : `answered ${res.status}`;
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return `did not answer within ${PROBE_TIMEOUT_MS / 1000} s`;
    return 'could not be reached';
  }
}

/**
 * A service set's container with nothing to ask (no Docker check, no path: `health: none`):
 * its gate is that it keeps running for SETTLE_MS. A container outside a set keeps today's
 * gate (Docker's health or its /healthz, else it never passes).
 */
function settles(info: Docker.ContainerInspectInfo): boolean {
  if (info.Config.Labels?.[SERVICE_LABEL] === undefined) return false;
  return !info.State.Health && !healthProbeOf(info.Config as Parameters<typeof healthProbeOf>[0]);
}

/**
 * 'healthy' as soon as the app answers its health endpoint or Docker says healthy (a set's
 * container without any check: once it ran SETTLE_MS); 'unhealthy' if Docker says so, it
 * exits, or the deadline passes. Docker's state is read first each round, so an engine that
 * cannot be asked fails the wait (the caller rolls back).
 */
export async function waitHealthy(
  container: Docker.Container,
  deadlineMs: number,
): Promise<'healthy' | 'unhealthy'> {
  const until = Date.now() + deadlineMs;
  let settleUntil: number | undefined;
  while (Date.now() < until) {
    const info = await container.inspect();
    const state = info.State;
    if (!state.Running) return 'unhealthy';
    if (state.Health?.Status === 'healthy') return 'healthy';
    if (state.Health?.Status === 'unhealthy') return 'unhealthy';
    if (settles(info)) {
      settleUntil ??= Date.now() + SETTLE_MS;
      if (Date.now() >= settleUntil) return 'healthy';
    }
    const url = probeUrl(info);
    if (url && (await probe(url)) === undefined) return 'healthy';
    await sleep(HEALTH_POLL_MS);
  }
  return 'unhealthy';
}

/**
 * Stays healthy through the whole window: running, not unhealthy in Docker's eyes, and
 * answering its health endpoint (PROBE_FAILURES_IN_A_ROW failed probes in a row are
 * sickness, seen within a poll or two of the app's first failed answer). A deployer that
 * cannot reach the container's address (its probe never once answered) goes by Docker's
 * health status alone. Undefined when it stayed healthy; else why not, for the chat.
 */
export async function staysHealthy(
  container: Docker.Container,
  windowMs: number,
): Promise<string | undefined> {
  const until = Date.now() + windowMs;
  let reached = false;
  let failures = 0;
  while (Date.now() < until) {
    const info = await container.inspect();
    const state = info.State;
    if (!state.Running) return `it stopped (exit code ${state.ExitCode})`;
    if (state.Health?.Status === 'unhealthy') return `Docker marked it unhealthy${lastCheck(state.Health)}`;
    const url = probeUrl(info);
    if (url) {
      const failed = await probe(url);
      if (failed === undefined) {
        reached = true;
        failures = 0;
      } else if (reached && ++failures >= PROBE_FAILURES_IN_A_ROW) {
        return `${new URL(url).pathname} failed ${PROBE_FAILURES_IN_A_ROW} times in a row, last: ${failed}`;
      }
    }
    await sleep(HEALTH_POLL_MS);
  }
  return undefined;
}

/**
 * Docker's last health check, as `: its last check timed out (5 s)` or `: its last check
 * exited 1`. Never the check's own output: the message goes to the chat, the deployment's row
 * and GitHub unredacted, and an app may print anything there.
 */
function lastCheck(health: { Log?: readonly { ExitCode?: number; Output?: string }[] }): string {
  const last = health.Log?.at(-1);
  if (!last) return '';
  // Docker's own words when it stopped a check at its timeout (exit code -1).
  const timedOut = /^Health check exceeded timeout \((\w+)\)/.exec(last.Output ?? '');
  return timedOut
    ? `: its last check timed out (${timedOut[1]})`
    : `: its last check exited ${last.ExitCode}`;
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

/** Creates a planned container and starts it; one that cannot start is removed (it would hold its name). */
export async function createAndStart(
  docker: Docker,
  spec: Docker.ContainerCreateOptions,
  networks: ReadonlyArray<readonly [string, readonly string[]]>,
): Promise<Docker.Container> {
  const container = await createFrom(docker, spec, networks);
  try {
    await container.start();
  } catch (error) {
    await removeQuietly(container);
    throw error;
  }
  return container;
}

export const removeQuietly = (container: Docker.Container) =>
  container.remove({ force: true }).catch(() => {});
