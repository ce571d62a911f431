// On Swarm: the two app services share no network, production's database network is
// internal (no route out), and their published ports (ingress or host mode) do not clash.
import type Docker from 'dockerode';
import { probeReach } from '../../probes.js';
import {
  STACK_LABEL,
  type SwarmNetworkFacts,
  type SwarmPort,
  type SwarmServiceFacts,
} from '../../swarm-facts.js';
import { Unchecked } from '../../unchecked.js';
import { type Check, list, serviceOf } from '../check.js';
import { databaseHolder } from './database-host.js';

const named = (ns: readonly SwarmNetworkFacts[]) =>
  list(ns.map((n) => `${n.name}${n.internal ? ' (internal)' : ''}`));

/** A name that says "data network", as the compose files name them (lugh-prod-data). */
const DATA_NAME = /(^|[-_])data($|[-_])/;

/**
 * A running task of `service` that Swarm still wants running (an update's old task is told
 * to shut down at once) whose container is on this engine's node, inspected; else undefined.
 */
async function localTask(
  docker: Docker,
  service: SwarmServiceFacts,
): Promise<Docker.ContainerInspectInfo | undefined> {
  const tasks = (await docker.listTasks({
    filters: JSON.stringify({ service: [service.id], 'desired-state': ['running'] }),
  })) as Array<{ Status?: { State?: string; ContainerStatus?: { ContainerID?: string } } }>;
  for (const t of tasks) {
    const id = t.Status?.ContainerStatus?.ContainerID;
    if (t.Status?.State !== 'running' || !id) continue;
    const info = await docker
      .getContainer(id)
      .inspect()
      .catch(() => undefined);
    if (info?.State.Running) return info;
  }
  return undefined;
}

/**
 * From inside a task of `a` on this node: whether `b`'s names (the service, `tasks.<name>`,
 * its name in its stack) resolve. Swarm's DNS answers a task only for services on a network
 * it shares; no connection is tried: an address on another overlay is reached, if at all,
 * only through the task's default route, where whatever answers is not `b` (here, a proxy
 * that accepts every connection). `isolated` stays true when no task of `a` runs here.
 */
async function reachFrom(docker: Docker, a: SwarmServiceFacts, b: SwarmServiceFacts) {
  const task = await localTask(docker, a);
  if (!task) return { isolated: true, text: `not tried from ${a.name}: no task of it runs on this node` };
  const stack = b.labels[STACK_LABEL];
  const names = [
    b.name,
    `tasks.${b.name}`,
    ...(stack && b.name.startsWith(`${stack}_`) ? [b.name.slice(stack.length + 1)] : []),
  ];
  let result: Awaited<ReturnType<typeof probeReach>>;
  try {
    result = await probeReach(docker, task.Id, names, []);
  } catch (error) {
    // A task stopping under an update, or an image without node: said, not failed.
    const why = error instanceof Error ? error.message : String(error);
    return {
      isolated: true,
      text: `not tried from ${a.name}: its task here could not run the probe (${why})`,
    };
  }
  const resolved = result.names.filter((n) => n.address).map((n) => `${n.name} → ${n.address}`);
  return {
    isolated: resolved.length === 0,
    text: resolved.length
      ? `from a task of ${a.name}: resolves ${resolved.join(', ')}`
      : `from a task of ${a.name}: ${names.length} name(s) of ${b.name} do not resolve`,
  };
}

export const swarmNetworkCheck: Check = {
  id: 'network',
  title:
    "The app services share no network nor resolve each other, and production's database network is internal",
  async run(s, p, docker) {
    const [ss, ps] = [serviceOf(s), serviceOf(p)];
    const where = `staging on ${named(ss.networks)}; production on ${named(ps.networks)}`;
    const shared = ss.networks.filter((n) => ps.networks.some((o) => o.id === n.id));
    if (shared.length)
      return {
        ok: false,
        evidence: `${where}: both on ${shared.map((n) => n.name).join(', ')}`,
        fix: "give each stack its own networks (never a shared one): remove the other environment's network from the service (docker service update --network-rm)",
      };
    // Production's database network: the ones it shares with the database's holder, else by name.
    const holder = docker ? await databaseHolder(docker, p, ps).catch(() => undefined) : undefined;
    const byHolder = holder
      ? ps.networks.filter((n) => holder.networks.some((h) => h === n.id || h === n.name))
      : [];
    const data = byHolder.length ? byHolder : ps.networks.filter((n) => DATA_NAME.test(n.name));
    const how = byHolder.length
      ? `shared with ${holder!.name}, which holds its database`
      : holder
        ? `named *-data (${holder.name}, which holds its database, is on none of its networks)`
        : 'named *-data (its database host is not found on this engine)';
    if (!data.length)
      throw new Unchecked(
        `${where}; none of production's networks is its database network (${how})`,
        'put production on its own internal data network (lugh-prod-data, internal: true) beside the database',
      );
    const open = data.filter((n) => !n.internal);
    // From inside, where a task runs on this node (each may run on another).
    const tried = docker ? await Promise.all([reachFrom(docker, ss, ps), reachFrom(docker, ps, ss)]) : [];
    return {
      ok: open.length === 0 && tried.every((t) => t.isolated),
      evidence: `${where}; production's database network ${data.map((n) => n.name).join(', ')} (${how}) ${
        open.length ? `is not internal: ${open.map((n) => n.name).join(', ')} routes out` : 'is internal'
      }${tried.map((t) => `; ${t.text}`).join('')}`,
      fix: "give each stack its own networks (never one of the other's), and make production's data network internal (docker network create --driver overlay --internal --attachable lugh-prod-data, as bootstrap-swarm.sh does) and deploy again",
    };
  },
};

const shown = (ports: readonly SwarmPort[]) =>
  list(ports.map((x) => `${x.published}→${x.target}/${x.protocol} (${x.mode})`));

export const swarmPortsCheck: Check = {
  id: 'host-ports',
  title: 'Published ports differ (Swarm ingress and host mode)',
  async run(s, p) {
    const [sp, pp] = [serviceOf(s).ports, serviceOf(p).ports];
    // An ingress port is published on every node, and a host-mode one on any node a task
    // lands on: the same number in both is a clash whatever the mode.
    const clash = sp.filter((x) => pp.some((o) => o.published === x.published && o.protocol === x.protocol));
    return {
      ok: clash.length === 0,
      evidence: `staging publishes ${shown(sp)}; production ${shown(pp)}${
        clash.length ? `: both publish ${[...new Set(clash.map((x) => x.published))].join(', ')}` : ''
      }`,
      fix: 'give each stack its own published port (3001 for staging, 3000 for production, in the stack files)',
    };
  },
};
