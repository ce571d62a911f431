import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import { STOP_GRACE_SECONDS } from '../../stop-grace.js';
import { extraNetworks, planSwitch, snapshotOf } from '../container-plan.js';
import { logTail } from '../docker-helpers.js';
import { describeDockerError, type RolledBackError, UnhealthyBeforeSwitchError } from '../errors.js';
import { type Failpoints, noFailpoints, type SwitchFailpoint } from '../failpoints.js';
import type { TrafficProxy } from '../proxy/haproxy-proxy.js';
import { dialOf, routeTo } from '../proxy/upstream.js';
import { withService } from '../service-set.js';
import { createAndStart, createFrom, removeQuietly, staysHealthy, waitHealthy } from './docker-containers.js';
import { proxyOf, restorePrevious, routeOf } from './docker-putback.js';
import { drain, retire } from './docker-retire.js';
import type { Preflight, Switched, SwitchTarget } from './runtime.js';

/** A switch's failpoint, then (for a set's container) the same qualified by its service and replica. */
export async function reachAt(failpoints: Failpoints, name: SwitchFailpoint, target: SwitchTarget) {
  await failpoints.reach(name);
  const member = target.member;
  if (member) await failpoints.reach(`${name}:${member.service.name}-${member.container.replica}`);
}

// The phases of a container switch on one Docker engine, each its own call (a deploy
// step each), and the convergence that puts a switch killed part-way back.

export async function startPreflight(docker: Docker, target: SwitchTarget): Promise<Preflight> {
  const info = await docker.getContainer(target.containerName).inspect();
  const oldImage = await docker.getImage(info.Image).inspect();
  const own = snapshotOf(info, oldImage.Config);
  const { member } = target;
  const snapshot = member ? withService(own, member.service, member.container, member.setName) : own;
  const plan = planSwitch(snapshot, target.image, target.sha);
  const networks = extraNetworks(snapshot);
  const preflight = await createAndStart(docker, plan.preflight, plan.extraNetworks.preflight);
  // By id: the name moves to the new container during the switch.
  return { target, id: preflight.id, currentId: info.Id, plan, networks };
}

/**
 * `keep`: a healthy pre-flight stays, to take the app's traffic through a proxy while the
 * switch replaces the running container (switchOver removes it); else it is removed either way.
 */
export async function awaitPreflight(
  docker: Docker,
  preflight: Preflight,
  deadlineMs: number,
  keep = false,
): Promise<void> {
  const container = docker.getContainer(preflight.id);
  let healthy = false;
  try {
    if ((await waitHealthy(container, deadlineMs)) !== 'healthy') {
      const tail = await logTail(container);
      const { image, containerName } = preflight.target;
      throw new UnhealthyBeforeSwitchError(
        `${image} did not become healthy within ${Math.round(deadlineMs / 1000)} s; ${containerName} keeps running`,
        tail,
      );
    }
    healthy = true;
  } finally {
    if (!(keep && healthy)) await removeQuietly(container);
  }
}

export const removePreflight = (docker: Docker, preflight: Preflight) =>
  removeQuietly(docker.getContainer(preflight.id));

export async function switchOver(
  docker: Docker,
  log: Logger,
  preflight: Preflight,
  deadlineMs: number,
  failpoints: Failpoints = noFailpoints,
  holdLock: () => Promise<void> = async () => {},
  anyProxy?: TrafficProxy,
): Promise<Switched> {
  const { target } = preflight;
  const plan = preflight.plan;
  if (!plan) throw new Error('a Docker switch needs the pre-flight Docker planned: its runtimes differ');
  const proxy = proxyOf(target, anyProxy);
  const route = routeOf(target) ?? target.containerName;
  let preflightDial: string | undefined;
  if (proxy) {
    // The healthy pre-flight (kept by awaitPreflight) serves while the running one stops
    // and the final container starts; before that, the app is untouched. The requests the
    // running one already took finish there before it stops (drain).
    const leaving = await dialOf(docker, route, preflight.currentId);
    preflightDial = await routeTo(docker, proxy, route, preflight.id).catch(async (error: unknown) => {
      await removeQuietly(docker.getContainer(preflight.id));
      throw error;
    });
    await drain(log, proxy, route, leaving);
  }
  // Between the phases: a deploy that lost its lock (it expired and someone else took it)
  // stops here, and the previous container runs again.
  const lockLost = async (): Promise<string | undefined> =>
    holdLock().then(
      () => undefined,
      (error: unknown) => `was not switched to: the deploy lost its lock (${describeDockerError(error)})`,
    );
  const current = docker.getContainer(preflight.currentId);
  const stale = docker.getContainer(plan.previousName);
  await stale.remove({ force: true }).catch(() => {});
  // The running container's own stop grace (compose's `stop_grace_period`, which the plan
  // carries), else lugh's: it lets the app finish the update in flight, even a reply
  // waiting out a 429.
  const t = plan.final.StopTimeout ?? STOP_GRACE_SECONDS;
  await current.stop({ t }).catch((error: { statusCode?: number }) => {
    if (error.statusCode !== 304) throw error; // 304: already stopped
  });
  await reachAt(failpoints, 'switch:after-stop', target);
  // From here the app is down: whatever Docker refuses puts the previous container back.
  const putBack = (nextId: string | undefined, reason: string) =>
    restorePrevious(docker, log, { target, currentId: preflight.currentId, nextId }, reason, proxy);
  const lost = await lockLost();
  if (lost) throw await putBack(undefined, lost);
  let next: Docker.Container;
  try {
    await current.rename({ name: plan.previousName });
    await reachAt(failpoints, 'switch:after-rename', target);
    next = await createFrom(docker, plan.final, preflight.networks ?? []);
  } catch (error) {
    throw await putBack(undefined, `could not be created (${describeDockerError(error)})`);
  }
  const switched = {
    target,
    nextId: next.id,
    currentId: preflight.currentId,
    previousName: plan.previousName,
  };
  await reachAt(failpoints, 'switch:after-create', target);
  const lostBeforeStart = await lockLost();
  if (lostBeforeStart) throw await rollback(docker, log, switched, lostBeforeStart, proxy);
  try {
    await next.start();
  } catch (error) {
    throw await rollback(docker, log, switched, `could not start (${describeDockerError(error)})`, proxy);
  }
  await reachAt(failpoints, 'switch:after-start', target);
  const health = await watchOrRollBack(
    waitHealthy(next, deadlineMs),
    failpoints,
    target,
    'switch:during-health',
    (why) => rollback(docker, log, switched, why, proxy),
  );
  if (health !== 'healthy') {
    throw await rollback(docker, log, switched, 'did not become healthy after the switch', proxy);
  }
  const lostAfterHealth = await lockLost();
  if (lostAfterHealth) throw await rollback(docker, log, switched, lostAfterHealth, proxy);
  if (proxy) {
    try {
      await routeTo(docker, proxy, route, next.id);
    } catch (error) {
      throw await rollback(
        docker,
        log,
        switched,
        `could not take the traffic (${describeDockerError(error)})`,
        proxy,
      );
    }
    await retire(docker, log, proxy, route, preflight.id, preflightDial);
  }
  return switched;
}

/**
 * A health watch that a fault test may pause at `failpoint` while it runs; when Docker cannot
 * be watched, the switch is rolled back and the reason names Docker's error.
 */
export async function watchOrRollBack<T>(
  watching: Promise<T>,
  failpoints: Failpoints,
  target: SwitchTarget | undefined,
  failpoint: SwitchFailpoint,
  rollBack: (reason: string) => Promise<RolledBackError>,
): Promise<T> {
  watching.catch(() => {}); // awaited below, unless a failpoint pauses here for good
  try {
    if (target) await reachAt(failpoints, failpoint, target);
    else await failpoints.reach(failpoint);
    return await watching;
  } catch (error) {
    throw await rollBack(`could not be watched (${describeDockerError(error)})`);
  }
}

export async function verify(
  docker: Docker,
  log: Logger,
  switched: Switched,
  windowMs: number,
  failpoints: Failpoints = noFailpoints,
  proxy?: TrafficProxy,
): Promise<void> {
  const sick = await watchOrRollBack(
    staysHealthy(docker.getContainer(switched.nextId), windowMs),
    failpoints,
    switched.target,
    'verify:during',
    (why) => rollback(docker, log, switched, why, proxy),
  );
  if (sick) throw await rollback(docker, log, switched, notStayedHealthy(windowMs, sick), proxy);
}

/** A verify's failure: the window and why the container fell sick (staysHealthy). */
export const notStayedHealthy = (windowMs: number, why: string) =>
  `did not stay healthy for ${Math.round(windowMs / 1000)} s after the switch (${why})`;

export function rollback(
  docker: Docker,
  log: Logger,
  switched: Switched,
  reason: string,
  proxy?: TrafficProxy,
): Promise<RolledBackError> {
  return restorePrevious(docker, log, switched, reason, proxy);
}
