// The other containers of each environment's service set (lugh.yml: a worker, a web front,
// more replicas of the app), each held to what the app containers are: no network of the
// other environment, no host port of it, its own environment's database, role and Redis
// prefix, and staging's limits and OOM priority below production's.
import type Docker from 'dockerode';
import type { AppEnv } from '../../config/environments.js';
import {
  databaseOf,
  type EnvironmentFacts,
  networksOf,
  publishedPorts,
  type ServiceContainerFacts,
  settingWithDefault,
} from '../facts.js';
import { Unchecked } from '../unchecked.js';
import { type Check, containerOf, list } from './check.js';

/** A container of an environment: its app container, or one of its set's. */
interface Member {
  readonly env: AppEnv;
  /** `app container` for the app's own, else the service (and replica) it runs. */
  readonly role: string;
  readonly name: string;
  readonly info: Docker.ContainerInspectInfo;
}

function membersOf(f: EnvironmentFacts): Member[] {
  const app = containerOf(f);
  if (!f.services)
    throw new Unchecked(
      `${f.env}: could not list the containers of its service set (${f.servicesMissing})`,
      'run the audit again where the Docker engine answers',
    );
  return [
    { env: f.env, role: 'app container', name: f.containerName, info: app },
    ...f.services.map((s) => ({ env: f.env, role: serviceRole(s), name: s.name, info: s.container })),
  ];
}

const serviceRole = (s: ServiceContainerFacts) =>
  `service ${s.service}${s.replica && s.replica !== '1' ? ` replica ${s.replica}` : ''}`;

const limitsOf = (c: Docker.ContainerInspectInfo) => {
  const h = c.HostConfig;
  const quota = h.CpuQuota && h.CpuPeriod ? h.CpuQuota / h.CpuPeriod : 0;
  return { cpus: h.NanoCpus ? h.NanoCpus / 1e9 : quota, memory: h.Memory ?? 0, oom: h.OomScoreAdj ?? 0 };
};

/** What is wrong with one service container of `own`, against the other environment. */
function problemsOf(
  s: ServiceContainerFacts,
  own: EnvironmentFacts,
  other: EnvironmentFacts,
  otherMembers: readonly Member[],
): string[] {
  const wrong: string[] = [];
  const nets = networksOf(s.container);
  for (const net of nets) {
    const there = otherMembers.filter((m) => networksOf(m.info).includes(net));
    if (there.length)
      wrong.push(`is on ${net}, ${other.env}'s network (${there.map((m) => m.name).join(', ')})`);
  }
  const port = (b: string) => b.slice(b.lastIndexOf(':') + 1);
  const theirPorts = new Set(otherMembers.flatMap((m) => publishedPorts(m.info).map(port)));
  const clash = publishedPorts(s.container).filter((b) => theirPorts.has(port(b)));
  if (clash.length) wrong.push(`publishes ${clash.join(', ')}, a port ${other.env} publishes too`);
  const app = s.settings.APP_ENV;
  if (app && app !== own.env) wrong.push(`runs with APP_ENV=${app}`);
  const db = databaseOf({ ...own, settings: s.settings });
  const theirDb = databaseOf(other);
  if (db && theirDb && db.database === theirDb.database)
    wrong.push(`uses ${other.env}'s database ${db.database}`);
  else if (db && theirDb && db.user === theirDb.user)
    wrong.push(`logs in as ${other.env}'s database role ${db.user}`);
  const prefix = settingWithDefault({ ...own, settings: s.settings }, 'REDIS_PREFIX');
  const theirPrefix = other.settings ? settingWithDefault(other, 'REDIS_PREFIX') : undefined;
  if (
    theirPrefix &&
    (prefix === theirPrefix || prefix.startsWith(`${theirPrefix}:`) || theirPrefix.startsWith(`${prefix}:`))
  )
    wrong.push(`keeps its Redis keys under ${prefix}:, ${other.env}'s prefix`);
  const mine = limitsOf(s.container);
  const theirApp = other.container ? limitsOf(other.container) : undefined;
  if (own.env === 'staging') {
    if (!mine.cpus) wrong.push('has no CPU limit');
    if (!mine.memory) wrong.push('has no memory limit');
    if (theirApp && mine.oom <= theirApp.oom)
      wrong.push(
        `OOM score adj ${mine.oom} is not above production's ${theirApp.oom}: the OOM killer would not pick it first`,
      );
  } else if (theirApp && mine.oom >= theirApp.oom) {
    wrong.push(
      `OOM score adj ${mine.oom} is not below staging's ${theirApp.oom}: the OOM killer could pick it first`,
    );
  }
  return wrong;
}

export const servicesCheck: Check = {
  id: 'services',
  title: 'Every service of each set is isolated as its app is (networks, ports, database, Redis, limits)',
  async run(s, p) {
    const [sm, pm] = [membersOf(s), membersOf(p)];
    const findings: string[] = [];
    for (const [own, other, others] of [
      [s, p, pm],
      [p, s, sm],
    ] as const) {
      for (const svc of own.services ?? []) {
        const wrong = problemsOf(svc, own, other, others);
        if (wrong.length) findings.push(`${own.env} ${svc.name} (${serviceRole(svc)}) ${wrong.join('; ')}`);
      }
    }
    const sets = [s, p]
      .map((f) => `${f.env}: ${list((f.services ?? []).map((x) => `${x.name} (${x.service})`))}`)
      .join('; ');
    const none = !s.services?.length && !p.services?.length;
    return {
      ok: findings.length === 0,
      evidence: findings.length
        ? findings.join(' — ')
        : none
          ? 'neither environment runs a service set (one container each, checked above)'
          : `service containers besides the apps: ${sets}; none shares a network, host port, database, role or Redis prefix with the other environment, and their limits keep production first`,
      fix: "a set's containers take the app container's networks, settings and limits (service-set.ts): fix the app container, or remove the stray container and deploy again; never attach a staging service to a production network",
    };
  },
};
