// The containers of an environment's service set as the Docker engine labels them (lugh.yml:
// `lugh.set` = the app container's name on every other container of the set), for /logs and
// /status; and a named container's last lines.
import type Docker from 'dockerode';
import { findContainer, logTail } from '../deployer/docker-helpers.js';
import {
  APP_SERVICE,
  containersOf,
  DEFAULT_BUILD,
  REPLICA_LABEL,
  SERVICE_LABEL,
  SET_LABEL,
} from '../deployer/service-set.js';
import type { SetContainerState } from '../status/service-status.js';

/** One container of a set, as /status reads it (status/service-status.ts). */
export type SetContainerFacts = SetContainerState;

const shaOf = (env: readonly string[] | undefined, labels: Record<string, string> | undefined) =>
  env?.find((e) => e.startsWith('GIT_SHA='))?.slice('GIT_SHA='.length) || labels?.['lugh.sha'] || undefined;

/**
 * The app container (service `app`, replica 1) and every running or stopped replica
 * labelled `lugh.set=<app>`, in service then replica order; pre-flights and the
 * `-previous` containers a switch keeps for a rollback are left out. Only the app
 * container for one service.
 */
export async function setContainers(docker: Docker, app: string): Promise<SetContainerFacts[]> {
  const [own, listed] = await Promise.all([
    findContainer(docker, app),
    docker.listContainers({ all: true, filters: { label: [`${SET_LABEL}=${app}`] } }),
  ]);
  const members = listed
    .map(
      (c): SetContainerFacts => ({
        service: c.Labels[SERVICE_LABEL] ?? 'unknown',
        replica: Number(c.Labels[REPLICA_LABEL] ?? 1),
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        state: c.State,
        health: /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1]?.replace('health: ', ''),
        sha: c.Labels['lugh.sha'],
      }),
    )
    // A replica's own container only: not a pre-flight, nor the `-previous` kept for a rollback,
    // which carry the same labels while a deploy runs (names as containersOf plans them).
    .filter((m) => m.name === replicaName(app, m.service, m.replica));
  const first: SetContainerFacts = {
    service: APP_SERVICE,
    replica: 1,
    name: app,
    state: own?.State.Status ?? 'missing',
    health: own?.State.Health?.Status,
    sha: own ? shaOf(own.Config.Env, own.Config.Labels) : undefined,
  };
  // The set's other containers carry their commit in GIT_SHA (the deploy sets it): asked once each.
  const withSha = await Promise.all(
    members.map(async (m) => {
      if (m.sha) return m;
      const info = await findContainer(docker, m.name).catch(() => undefined);
      return { ...m, sha: info ? shaOf(info.Config.Env, info.Config.Labels) : undefined };
    }),
  );
  return [first, ...withSha].sort((a, b) =>
    a === first ? -1 : b === first ? 1 : a.service.localeCompare(b.service) || a.replica - b.replica,
  );
}

/** The name a replica's container has (containersOf in deployer/service-set.ts). */
function replicaName(app: string, service: string, replica: number): string {
  const [container] = containersOf(
    {
      declared: true,
      services: [{ name: service, build: DEFAULT_BUILD, replicas: replica, traffic: false, order: 0 }],
    },
    app,
  ).slice(-1);
  return container!.name;
}

/** A container's last `lines` lines, by name. */
export async function containerLogTail(docker: Docker, name: string, lines: number): Promise<string[]> {
  const info = await findContainer(docker, name);
  if (!info) throw new Error(`there is no container ${name}`);
  return logTail(docker.getContainer(info.Id), lines);
}
