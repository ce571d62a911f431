import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import { type ContainerSnapshot, planSwitch, snapshotOf } from '../container-plan.js';
import { findContainer, logTail } from '../docker-helpers.js';
import {
  DeployFailureWithLog,
  describeDockerError,
  isEngineUnreachable,
  RolledBackError,
  UnhealthyBeforeSwitchError,
} from '../errors.js';
import type { Failpoints } from '../failpoints.js';
import type { TrafficProxy } from '../proxy/haproxy-proxy.js';
import { dialOf, type Route, routeTo } from '../proxy/upstream.js';
import { SERVICE_LABEL, SET_LABEL, serviceSnapshot } from '../service-set.js';
import { membersOf, NEW_CONTAINER, replacesDetail } from '../set-members.js';
import { createAndStart, createFrom, removeQuietly, staysHealthy, waitHealthy } from './docker-containers.js';
import { converge } from './docker-putback.js';
import { retire } from './docker-retire.js';
import {
  awaitPreflight,
  notStayedHealthy,
  reachAt,
  rollback,
  startPreflight,
  switchOver,
  watchOrRollBack,
} from './docker-switch.js';
import type { Runtime, SetMember, SetProgress, SwitchedMember, SwitchTarget } from './runtime.js';

// A service set's deploy on one Docker engine (lugh.yml, README "Several services"): its
// containers replaced one at a time, each exactly as one container is (docker-switch.ts),
// and the whole set put back when one fails.

const label = (m: SetMember) =>
  `${m.service.name}${m.service.replicas > 1 ? ` replica ${m.container.replica}` : ''} (${m.container.name})`;

type SetRuntime = Required<
  Pick<Runtime, 'switchSet' | 'verifySet' | 'rollbackSet' | 'convergeSet' | 'removeStrays'>
>;

export function createDockerSetRuntime(options: {
  docker: Docker;
  log: Logger;
  failpoints: Failpoints;
  proxy?: TrafficProxy;
}): SetRuntime {
  const { docker, log, failpoints, proxy } = options;

  /** The replica's proxy server, out of the balance (its container goes); a refusal is logged. */
  const park = async (route: Route | undefined) => {
    if (!proxy?.park || route === undefined || typeof route === 'string') return;
    await proxy
      .park(route.backend, route.server)
      .catch((error: unknown) =>
        log.error({ err: error, route }, 'the proxy could not park a removed replica'),
      );
  };

  /**
   * A container this deployment created, removed: its server parked first, and the requests
   * the proxy already sent it answered (`retire`).
   */
  const dropCreated = async (route: Route | undefined, id: string) => {
    if (!proxy?.park || route === undefined || typeof route === 'string') {
      await removeQuietly(docker.getContainer(id));
      return;
    }
    const dial = await dialOf(docker, route, id);
    await park(route);
    await retire(docker, log, proxy, route, id, dial);
  };

  /** A container this deployment created, removed; the message and its last lines. */
  const removeCreated = async (target: SwitchTarget, id: string, why: string) => {
    const tail = await logTail(docker.getContainer(id)).catch(() => []);
    await dropCreated(target.member?.route, id);
    return new RolledBackError(`${target.image} ${why}; the new ${target.containerName} was removed`, tail);
  };

  /**
   * A container the set has not yet (a new service or replica): planned from the app's
   * snapshot (`serviceSnapshot`), gated as a pre-flight, then started under its name and
   * gated again; there is no previous one to keep.
   */
  async function startFresh(
    target: SwitchTarget & { member: SetMember },
    template: ContainerSnapshot,
    deadlineMs: number,
    progress: SetProgress,
    switching: () => void,
  ): Promise<string> {
    const { member } = target;
    const plan = planSwitch(
      serviceSnapshot(template, member.service, member.container),
      target.image,
      target.sha,
    );
    const pre = await createAndStart(docker, plan.preflight, plan.extraNetworks.preflight);
    await progress(member.container, 'health');
    const preflight = { target, id: pre.id, currentId: '', plan, networks: plan.extraNetworks.final };
    await awaitPreflight(docker, preflight, deadlineMs, false);
    switching();
    await progress(member.container, 'switching', NEW_CONTAINER);
    let next: Docker.Container;
    try {
      next = await createFrom(docker, plan.final, plan.extraNetworks.final);
    } catch (error) {
      throw new RolledBackError(
        `${target.image} could not be created (${describeDockerError(error)}); nothing replaced`,
        [],
      );
    }
    await reachAt(failpoints, 'switch:after-create', target);
    try {
      await next.start();
    } catch (error) {
      throw await removeCreated(target, next.id, `could not start (${describeDockerError(error)})`);
    }
    await reachAt(failpoints, 'switch:after-start', target);
    const health = await watchOrRollBack(
      waitHealthy(next, deadlineMs),
      failpoints,
      target,
      'switch:during-health',
      (why) => removeCreated(target, next.id, why),
    );
    if (health !== 'healthy')
      throw await removeCreated(target, next.id, 'did not become healthy after it started');
    if (proxy && member.route !== undefined) {
      await routeTo(docker, proxy, member.route, next.id).catch(async (error: unknown) => {
        throw await removeCreated(
          target,
          next.id,
          `could not take the traffic (${describeDockerError(error)})`,
        );
      });
    }
    return next.id;
  }

  /** Every container of `switched`, in reverse order, back to what it replaced; what was put back. */
  async function putBack(switched: readonly SwitchedMember[], progress: SetProgress): Promise<string[]> {
    const back: string[] = [];
    for (const m of [...switched].reverse()) {
      const { container } = m.member;
      try {
        if (m.switched) await rollback(docker, log, m.switched, 'went back with the set', proxy);
        else if (m.createdId) await dropCreated(m.member.route, m.createdId);
        await progress(container, 'rolled_back', m.switched ? 'the previous version runs again' : 'removed');
        back.push(label(m.member));
      } catch (error) {
        if (isEngineUnreachable(error)) throw error;
        back.push(`${label(m.member)} could not be put back: ${describeDockerError(error)}`);
      }
    }
    return back;
  }

  /** The set's error when `failed` failed at `step`: it names the service, the step and carries its last lines. */
  async function failSet(
    switched: readonly SwitchedMember[],
    failed: SetMember,
    step: 'health' | 'switch' | 'verify',
    error: unknown,
    progress: SetProgress,
    tail?: readonly string[],
  ): Promise<DeployFailureWithLog> {
    const reason = error instanceof Error ? error.message : describeDockerError(error);
    const lines = tail ?? (error instanceof DeployFailureWithLog ? error.logTail : []);
    await progress(failed.container, 'failed', `${step}: ${reason}`);
    const back = await putBack(switched, progress);
    // Put back with the others (verify): its record still says it is the one that failed.
    if (switched.some((m) => m.member.container.name === failed.container.name))
      await progress(failed.container, 'failed', `${step}: ${reason}; put back`);
    const what = `the service ${label(failed)} failed at ${step}: ${reason}`;
    if (back.length === 0 && !(error instanceof RolledBackError)) {
      return new UnhealthyBeforeSwitchError(`${what}; nothing of the set was switched`, lines);
    }
    const rolled = back.length ? `; rolled back with it: ${back.join(', ')}` : '';
    return new RolledBackError(`${what}${rolled}`, lines);
  }

  return {
    async switchSet(target, deadlineMs, progress, holdLock) {
      const app = await docker.getContainer(target.containerName).inspect();
      const template = snapshotOf(app, (await docker.getImage(app.Image).inspect()).Config);
      const done: SwitchedMember[] = [];
      const members = membersOf(target.set, target.containerName, !!proxy);
      // A replica the set does not have yet serves nothing: its server leaves the balance
      // until its container starts (startFresh routes it), or requests sent to it wait on an
      // address nobody serves (the old app's, once replica 1's switch stops it).
      for (const member of members)
        if (!(await findContainer(docker, member.container.name))) await park(member.route);
      for (const member of members) {
        const { container } = member;
        const image = target.images.get(member.service.name);
        if (!image) throw new Error(`the build made no image for the service ${member.service.name}`);
        const one = { containerName: container.name, image, sha: target.sha, member };
        let step: 'health' | 'switch' = 'health';
        try {
          await progress(container, 'starting');
          if (await findContainer(docker, container.name)) {
            const preflight = await startPreflight(docker, one);
            await progress(container, 'health');
            await awaitPreflight(docker, preflight, deadlineMs, !!proxy && member.route !== undefined);
            step = 'switch';
            // Recorded before the old one stops: a crash from here on puts it back (convergeSet).
            await progress(container, 'switching', replacesDetail(preflight.currentId));
            const switched = await switchOver(
              docker,
              log,
              preflight,
              deadlineMs,
              failpoints,
              holdLock,
              proxy,
            );
            done.push({ member, switched });
            await progress(container, 'switched', replacesDetail(preflight.currentId));
          } else {
            const createdId = await startFresh(one, template, deadlineMs, progress, () => {
              step = 'switch';
            });
            done.push({ member, createdId });
            await progress(container, 'switched', NEW_CONTAINER);
          }
        } catch (error) {
          if (isEngineUnreachable(error)) throw error;
          throw await failSet(done, member, step, error, progress);
        }
      }
      return { target, members: done };
    },

    async verifySet(switched, windowMs, progress) {
      const watched = switched.members.map((m) => ({ m, id: (m.switched?.nextId ?? m.createdId)! }));
      // Every container watched at once; the first that falls sick ends the window for all.
      type Sick = (typeof watched)[number] & { readonly why: string };
      const firstSick = new Promise<Sick | undefined>((resolve, reject) => {
        let left = watched.length;
        if (left === 0) resolve(undefined);
        for (const w of watched) {
          staysHealthy(docker.getContainer(w.id), windowMs).then((why) => {
            if (why) resolve({ ...w, why });
            else if (--left === 0) resolve(undefined);
          }, reject);
        }
      });
      firstSick.catch(() => {}); // awaited below, unless the failpoint pauses here for good
      let sick: Sick | undefined;
      try {
        await failpoints.reach('verify:during');
        sick = await firstSick;
      } catch (error) {
        if (isEngineUnreachable(error)) throw error;
        const back = await putBack(switched.members, progress);
        throw new RolledBackError(
          `the set could not be watched (${describeDockerError(error)}); rolled back: ${back.join(', ')}`,
          [],
        );
      }
      if (sick) {
        const tail = await logTail(docker.getContainer(sick.id)).catch(() => []);
        const why = notStayedHealthy(windowMs, sick.why);
        throw await failSet(switched.members, sick.m.member, 'verify', new Error(why), progress, tail);
      }
      for (const m of switched.members) await progress(m.member.container, 'verified');
    },

    async rollbackSet(switched, reason, progress) {
      const back = await putBack(switched.members, progress);
      return new RolledBackError(`the set ${reason}; rolled back: ${back.join(', ')}`, []);
    },

    async convergeSet(members) {
      const done: string[] = [];
      for (const m of [...members].reverse()) {
        if (m.created) {
          const leftovers = await docker.listContainers({
            all: true,
            filters: { name: [`^/${m.name}(-preflight-.*)?$`] },
          });
          for (const c of leftovers) {
            await removeQuietly(docker.getContainer(c.Id));
            done.push(`removed the unverified ${c.Names[0]?.replace(/^\//, '')}`);
          }
          if (leftovers.length) await park(m.route);
          continue;
        }
        const did = await converge(
          docker,
          log,
          m.name,
          m.replacedId ? { replacedId: m.replacedId } : undefined,
          proxy,
          m.route ?? null,
        );
        if (did) done.push(did);
      }
      return done.length ? done.join('; ') : undefined;
    },

    async removeStrays(containerName, keep) {
      const kept = new Set(keep.flatMap((name) => [name, `${name}-previous`]));
      const removed: string[] = [];
      // Only the set's app containers (and their kept previous ones): never a runner, a
      // pre-flight or a migration, which carry the app's labels too.
      const set = await docker.listContainers({
        all: true,
        filters: { label: [`${SET_LABEL}=${containerName}`, 'lugh.role=app', SERVICE_LABEL] },
      });
      for (const c of set) {
        const name = c.Names[0]?.replace(/^\//, '') ?? c.Id;
        if (kept.has(name) || keep.some((k) => name.startsWith(`${k}-preflight-`))) continue;
        await removeQuietly(docker.getContainer(c.Id));
        removed.push(name);
      }
      return removed.sort();
    },
  };
}
