// The databases: production's port is not published, the names differ, and staging's role
// cannot open production's database.
import { databaseRolesOf, roleProblem } from '../../config/ownership.js';
import { nameOf } from '../../deployer/docker-helpers.js';
import { addressOf, containerForHost, databaseOf, networksOf } from '../facts.js';
import { tryLogin } from '../probes.js';
import { Unchecked } from '../unchecked.js';
import { type Check, databasesOf, from, settingsOf, skipped } from './check.js';

export const databasePortCheck: Check = {
  id: 'db-port',
  title: "Production's database port is not published",
  async run(_s, p, docker) {
    settingsOf(p);
    const db = databaseOf(p);
    if (!db) throw new Unchecked('production has no DATABASE_URL', 'set DATABASE_URL in .env.prod.local');
    if (!docker)
      throw new Unchecked('no Docker engine to ask', 'run lugh doctor where the Docker engine is reachable');
    const fix =
      'remove the ports: entry of the database service; only containers on the data networks need it';
    const holder = await containerForHost(docker, db.host, p.container ? networksOf(p.container) : []);
    if (!holder)
      return {
        ok: false,
        evidence: `production's database host ${db.host} is not a container on this Docker engine, so its exposure cannot be seen`,
        fix: 'run Postgres as a container on the data networks (docker-compose.infra.yml), and publish none of its ports (no ports: entry)',
      };
    const published = (holder.NetworkSettings?.Ports?.[`${db.port}/tcp`] ?? []).map(
      (b) => `${b.HostIp || '0.0.0.0'}:${b.HostPort}`,
    );
    return {
      ok: published.length === 0,
      evidence: published.length
        ? `${nameOf(holder)} publishes ${db.port} on ${published.join(', ')}`
        : `${nameOf(holder)} publishes nothing for port ${db.port}`,
      fix,
    };
  },
};

export const databaseNameCheck: Check = {
  id: 'db-name',
  title: 'Database names differ',
  async run(s, p) {
    const [sd, pd] = databasesOf(s, p);
    return {
      ok: sd.database !== pd.database,
      evidence: `staging uses ${sd.database}${from(s)}; production ${pd.database}${from(p)}`,
      fix: 'point each DATABASE_URL at its own database: staging_lugh and prod_lugh',
    };
  },
};

/**
 * The role check; `unreachable` is what a database this process cannot reach makes of it:
 * a failure to check (Docker: the host routes to the containers' bridge networks), or a
 * skip (Swarm: the data network is an internal overlay, which the host cannot reach by design).
 */
export function roleCheck(unreachable: 'unchecked' | 'skipped'): Check {
  return {
    id: 'db-role',
    title: "Staging's database role is its own and cannot open production's database",
    async run(s, p, docker) {
      const [sd, pd] = databasesOf(s, p);
      const fix = `give staging its own role and revoke its CONNECT on ${pd.database}: deploy/init-databases.sh does both`;
      // Every role pg could use (the URL's user, ?user=, PGUSER) must be the environment's own.
      for (const f of [s, p]) {
        for (const { role, where } of databaseRolesOf(settingsOf(f).DATABASE_URL ?? '', settingsOf(f))) {
          const problem = roleProblem(f.env, role);
          if (problem)
            return {
              ok: false,
              evidence: `${f.env}'s ${where === 'PGUSER' ? 'PGUSER' : `DATABASE_URL (${where})`} names ${problem}${from(f)}`,
              fix: `log each environment in as its own role: remove the other's from DATABASE_URL and PGUSER`,
            };
        }
      }
      if (sd.user === pd.user) return { ok: false, evidence: `both log in as ${sd.user}`, fix };
      const outcome = await tryLogin({
        host: pd.host,
        port: pd.port,
        user: sd.user,
        password: sd.password,
        database: pd.database,
        resolveHost: async (host) => {
          if (!docker) return undefined;
          const holder = await containerForHost(docker, host, p.container ? networksOf(p.container) : []);
          return holder && addressOf(holder);
        },
      });
      const tried = `${sd.user} (staging's role) logging in to ${pd.database} on ${pd.host}:${pd.port}`;
      if (outcome.opened) return { ok: false, evidence: `${tried}: it opened`, fix };
      if (outcome.refused)
        return { ok: true, evidence: `${tried}: refused, ${outcome.message} (${outcome.code})` };
      if (unreachable === 'skipped')
        return skipped(
          `each environment logs in as its own role (${sd.user}, ${pd.user}), but whether Postgres refuses staging's on ${pd.database} could not be tried from here: ${outcome.message} (on Swarm the database sits on an internal overlay network, out of the host's reach)`,
        );
      throw new Unchecked(
        `${tried}: ${outcome.message}`,
        'run lugh doctor on the Docker host, which can reach the database container',
      );
    },
  };
}

export const databaseRoleCheck: Check = roleCheck('unchecked');

/** In the order they run. */
export const databaseChecks: readonly Check[] = [databasePortCheck, databaseNameCheck, databaseRoleCheck];
