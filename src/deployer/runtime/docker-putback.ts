// The way back on one Docker engine: the previous container put back under the app's name
// (a rollback, a switch that failed part-way) and the convergence that puts an environment
// back to one app container after a deploy was killed; behind a proxy, each moves the
// traffic only once the container put back answers, and retires what served meanwhile.
import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import { findContainer, logTail } from '../docker-helpers.js';
import { RolledBackError } from '../errors.js';
import type { TrafficProxy } from '../proxy/haproxy-proxy.js';
import { dialOf, type Route, routeTo } from '../proxy/upstream.js';
import { removeQuietly, waitHealthy } from './docker-containers.js';
import { retire } from './docker-retire.js';
import type { Switched, SwitchTarget } from './runtime.js';

/**
 * Where a proxy sends a target's traffic: the app container's backend (its server `app`),
 * or a set's container's own server; undefined: it takes none (a worker), so no proxy moves.
 */
export const routeOf = (target: SwitchTarget): Route | undefined =>
  target.member ? target.member.route : target.containerName;

/** The proxy of a target that takes traffic. */
export const proxyOf = (target: SwitchTarget, proxy: TrafficProxy | undefined) =>
  routeOf(target) === undefined ? undefined : proxy;

/**
 * The previous container back under the app's name and running; the new one (if it was
 * created) removed, its last lines kept for the message. Behind a proxy the new one steps
 * aside instead (renamed as a leaving pre-flight) and serves until the previous one answers
 * its health check, so no request meets a removed container; a new one that publishes host
 * ports goes first, since the previous one needs them.
 */
export async function restorePrevious(
  docker: Docker,
  log: Logger,
  switched: Pick<Switched, 'target' | 'currentId'> & { readonly nextId?: string },
  reason: string,
  anyProxy?: TrafficProxy,
): Promise<RolledBackError> {
  const { containerName, image } = switched.target;
  const proxy = proxyOf(switched.target, anyProxy);
  let tail: string[] = [];
  if (switched.nextId) {
    const next = docker.getContainer(switched.nextId);
    tail = await logTail(next);
    if (!(proxy && (await stepsAside(next, containerName)))) await removeQuietly(next);
  }
  const current = docker.getContainer(switched.currentId);
  // Not yet renamed when the rename itself failed.
  if ((await current.inspect()).Name !== `/${containerName}`) await current.rename({ name: containerName });
  await current.start().catch((error: { statusCode?: number }) => {
    if (error.statusCode !== 304) throw error; // 304: already running
  });
  if (proxy) {
    // The previous version passed its gates before; a bounded wait, then the proxy moves
    // whatever its answer (it is what runs now).
    await waitHealthy(current, RESTORED_HEALTH_MS).catch(() => 'unhealthy');
    await sendToRestored(docker, log, proxy, containerName, switched.currentId, routeOf(switched.target));
  }
  log.warn({ image, reason }, 'rolled back to the previous container');
  return new RolledBackError(`${image} ${reason}; the previous version runs again`, tail);
}

/** How long a rollback behind a proxy waits for the previous version's health before moving traffic. */
const RESTORED_HEALTH_MS = 15_000;

/**
 * Renames a running new container out of the app's name, as a pre-flight (so the proxy's
 * move removes it, and a crash's convergence does). False when it cannot serve meanwhile:
 * not running, or holding host ports the previous container needs.
 */
async function stepsAside(next: Docker.Container, containerName: string): Promise<boolean> {
  const info = await next.inspect().catch(() => undefined);
  if (!info?.State.Running) return false;
  const bindings = Object.values(info.HostConfig.PortBindings ?? {}).flat();
  if (bindings.some((b) => (b as { HostPort?: string } | undefined)?.HostPort)) return false;
  return next
    .rename({ name: `${containerName}-preflight-leaving-${Date.now()}` })
    .then(() => true)
    .catch(() => false);
}

/**
 * The proxy sent to the container put back, then each pre-flight that served during the switch
 * removed once the requests it took are answered (`retire`). A proxy that refuses is logged,
 * not thrown: the container runs again either way, and a resumed run's convergence points the
 * proxy again.
 */
async function sendToRestored(
  docker: Docker,
  log: Logger,
  proxy: TrafficProxy,
  containerName: string,
  id: string,
  route: Route = containerName,
): Promise<void> {
  await takeTraffic(docker, log, proxy, containerName, id, route).catch(async (error: unknown) => {
    log.error({ err: error, containerName }, 'the proxy could not be pointed at the previous container');
    await removePreflights(docker, containerName);
  });
}

/**
 * Moves the proxy's traffic to container `id`, then retires each pre-flight (drained, then
 * removed). Throws when the proxy refuses the move, leaving the pre-flights as they are.
 */
async function takeTraffic(
  docker: Docker,
  log: Logger,
  proxy: TrafficProxy,
  containerName: string,
  id: string,
  route: Route,
): Promise<void> {
  const preflights = await leftovers(docker, containerName, 'preflight');
  const leaving = await Promise.all(
    preflights.map(async (c) => [c.Id, await dialOf(docker, route, c.Id)] as const),
  );
  await routeTo(docker, proxy, route, id);
  for (const [preflightId, dial] of leaving) await retire(docker, log, proxy, route, preflightId, dial);
}

/**
 * Puts an environment back to exactly one app container after a deploy was killed
 * part-way: leftover pre-flight and one-off containers go; an app container that a
 * crash left missing or never started gives way to the previous one, started again; so
 * does a running one that a switch never verified (`unverified`: the container that
 * switch replaced, now the previous one). Returns what it did, or undefined when there
 * was nothing to do.
 *
 * Behind a proxy (`proxy`, and a `route` the container's traffic takes) no request meets a
 * removed container: whatever serves (the pre-flight a switch was killed behind, or the
 * unverified container, stepped aside as a leaving pre-flight) keeps serving until the
 * container put back answers its health check (at most RESTORED_HEALTH_MS); then the proxy
 * moves to it and each of them is removed once the requests it took are answered.
 */
export async function converge(
  docker: Docker,
  log: Logger,
  containerName: string,
  unverified?: { readonly replacedId: string },
  proxy?: TrafficProxy,
  /** Where the proxy sends the container's traffic; null: it takes none (a set's worker). */
  route: Route | null = containerName,
): Promise<string | undefined> {
  if (!proxy || route === null) return convergeContainers(docker, containerName, unverified, false);
  // The pre-flights the crash left (one may be what the proxy sends to): removed once the
  // container put back takes the traffic.
  const left = await leftovers(docker, containerName, 'preflight');
  const done = [await convergeContainers(docker, containerName, unverified, true)];
  const app = await findContainer(docker, containerName);
  if (app?.State.Running) {
    await waitHealthy(docker.getContainer(app.Id), RESTORED_HEALTH_MS).catch(() => 'unhealthy');
    // A proxy that refuses fails the convergence, what serves left serving: the next run converges again.
    await takeTraffic(docker, log, proxy, containerName, app.Id, route);
  } else await removePreflights(docker, containerName);
  done.push(...left.map((c) => `removed ${c.Names[0]?.replace(/^\//, '')}`));
  return done.filter(Boolean).join('; ') || undefined;
}

/** The app's leftover containers of some kinds: pre-flights, one-off migrations. */
const leftovers = (
  docker: Docker,
  containerName: string,
  kinds: 'preflight' | 'migrate' | 'preflight|migrate',
) => docker.listContainers({ all: true, filters: { name: [`^/${containerName}-(${kinds})-`] } });

/** Removes every pre-flight of the app at once (nothing can take their traffic). */
async function removePreflights(docker: Docker, containerName: string): Promise<void> {
  for (const c of await leftovers(docker, containerName, 'preflight'))
    await removeQuietly(docker.getContainer(c.Id));
}

/** `keepServing`: pre-flights stay and an unverified container steps aside (converge retires them). */
async function convergeContainers(
  docker: Docker,
  containerName: string,
  unverified: { readonly replacedId: string } | undefined,
  keepServing: boolean,
): Promise<string | undefined> {
  const done: string[] = [];
  for (const c of await leftovers(docker, containerName, keepServing ? 'migrate' : 'preflight|migrate')) {
    await removeQuietly(docker.getContainer(c.Id));
    done.push(`removed ${c.Names[0]?.replace(/^\//, '')}`);
  }
  let app = await findContainer(docker, containerName);
  const previous = await findContainer(docker, `${containerName}-previous`);
  const replaced = unverified && previous?.Id.startsWith(unverified.replacedId);
  if (app?.State.Running && replaced && !app.Id.startsWith(unverified.replacedId)) {
    // Killed after the switch started the new version, before verify passed: it has not
    // passed its gates, so the version it replaced runs again (the resumed deploy retries).
    const aside = keepServing && (await stepsAside(docker.getContainer(app.Id), containerName));
    if (!aside) await removeQuietly(docker.getContainer(app.Id));
    done.push(`removed the unverified ${containerName}`);
    app = undefined;
  }
  if (app?.State.Running) return done.length ? done.join('; ') : undefined;
  if (app && previous) {
    // Killed between creating the new container and starting it.
    await removeQuietly(docker.getContainer(app.Id));
    done.push(`removed the unstarted ${containerName}`);
  }
  const ensureStarted = (c: Docker.Container) =>
    c.start().catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 304) throw error; // 304: already running
    });
  if (previous) {
    const container = docker.getContainer(previous.Id);
    await container.rename({ name: containerName });
    await ensureStarted(container);
    done.push(`started the previous ${containerName} again`);
  } else if (app) {
    await ensureStarted(docker.getContainer(app.Id));
    done.push(`started ${containerName} again`);
  }
  return done.length ? done.join('; ') : undefined;
}
