import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import { STOP_GRACE_SECONDS } from '../../stop-grace.js';
import type { TrafficProxy } from '../proxy/haproxy-proxy.js';
import { type Route, routeParts } from '../proxy/upstream.js';
import { removeQuietly } from './docker-containers.js';

// A container that took requests through the proxy leaves only once the proxy is done with
// it. Re-pointing a server moves only the requests that start afterwards: one HAProxy already
// sent keeps its address, and if that container vanishes under it (SIGKILL, its address gone)
// HAProxy retries it at that same address, each retry a second later, and answers 503 after
// ~3 s. The client waits all that time (CI saw it as a request over 1 s during /rollback).

/**
 * How long a switch waits for the requests the proxy sent to a container to finish before it
 * stops that container anyway (with its grace, so the app may still answer them).
 */
export const DRAIN_MS = 30_000;

/**
 * True once the proxy holds no request bound to `dial` for `route` (at once for a container
 * with no address: nothing of it can answer); false when some still are after DRAIN_MS, or
 * when the proxy cannot tell (both logged, but for a proxy that offers no way to ask).
 */
export async function drain(
  log: Logger,
  proxy: TrafficProxy,
  route: Route,
  dial: string | undefined,
): Promise<boolean> {
  if (!dial) return true;
  if (!proxy.drained) return false;
  const { backend, server } = routeParts(route);
  const drained = await proxy.drained(backend, dial, DRAIN_MS, server).catch((error: unknown) => {
    log.warn({ err: error, backend, server }, 'the proxy could not say which requests it still sends');
    return false;
  });
  if (!drained) {
    log.warn(
      { backend, server, dial, withinSeconds: DRAIN_MS / 1000 },
      'requests the proxy sent to a container it no longer routes to were not all finished',
    );
  }
  return drained;
}

/**
 * Removes a container the proxy sent requests to at `dial` (read before the proxy moved):
 * once drained, at once (no request of the proxy can meet it); else stopped first with its
 * grace (its own StopTimeout, else lugh's), so the app answers what it holds.
 */
export async function retire(
  docker: Docker,
  log: Logger,
  proxy: TrafficProxy,
  route: Route,
  id: string,
  dial: string | undefined,
): Promise<void> {
  const container = docker.getContainer(id);
  if (!(await drain(log, proxy, route, dial))) {
    const info = await container.inspect().catch(() => undefined);
    if (info?.State.Running) {
      // dockerode's type of inspect's Config lacks the StopTimeout the engine reports.
      const own = (info.Config as { StopTimeout?: number | null }).StopTimeout;
      await container.stop({ t: own ?? STOP_GRACE_SECONDS }).catch(() => {});
    }
  }
  await removeQuietly(container);
}
