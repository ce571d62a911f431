// On Swarm: production's database port is published nowhere, whether the database runs as a
// Swarm service (its endpoint) or as a container beside the swarm.
import { databaseOf } from '../../facts.js';
import { Unchecked } from '../../unchecked.js';
import { type Check, settingsOf } from '../check.js';
import { databasePortCheck } from '../database.js';
import { databaseHolder } from './database-host.js';

export const swarmDatabasePortCheck: Check = {
  id: databasePortCheck.id,
  title: databasePortCheck.title,
  async run(_s, p, docker) {
    settingsOf(p);
    const db = databaseOf(p);
    if (!db) throw new Unchecked('production has no DATABASE_URL', 'set DATABASE_URL in .env.prod.local');
    if (!docker)
      throw new Unchecked('no Docker engine to ask', 'run lugh doctor where the Docker engine is reachable');
    const holder = await databaseHolder(docker, p, p.service);
    if (!holder)
      return {
        ok: false,
        evidence: `production's database host ${db.host} is neither a Swarm service nor a container on this engine, so its exposure cannot be seen`,
        fix: 'run Postgres as a service or container on the data networks, and publish none of its ports',
      };
    const what = holder.kind === 'service' ? `the Swarm service ${holder.name}` : holder.name;
    return {
      ok: holder.published.length === 0,
      evidence: holder.published.length
        ? `${what} publishes ${db.port} on ${holder.published.join(', ')}`
        : `${what} publishes nothing for port ${db.port}`,
      fix: 'remove the ports: entry of the database service; only services on the data networks need it',
    };
  },
};
