// /refresh staging's set-up across the two environments, where production has the flag on:
// both opted in, each side holds its own settings (and not the other's secrets), the key
// pair matches, production's database role may create the temporary copy (CREATEDB), and
// REFRESH_DIR, the only channel between them, is one host directory both containers (or
// Swarm services) mount at the same path: neither container-private nor inside a LUGH_HOME.
// On Swarm a setting held in a Docker secret counts as set; what it cannot read is not compared.
import pg from 'pg';
import { resolveFlags } from '../../config/feature-flags.js';
import { nested } from '../../config/ownership.js';
import { verifyKeyOf } from '../../config/promote-keys.js';
import { type EnvironmentFacts, settingWithDefault } from '../facts.js';
import { type Check, from, settingsOf, skipped } from './check.js';
import { hostPathOf, mountedHostPathOf } from './settings.js';

const on = (env: 'staging' | 'production', settings: Record<string, string | undefined>) =>
  resolveFlags(env, settings).flags.some((f) => f.key === 'staging_refresh' && f.enabled);

/** Whether the role of `databaseUrl` may create databases (the refresh's temporary copy). */
export async function mayCreateDatabases(databaseUrl: string): Promise<{ role: string; createdb: boolean }> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ role: string; createdb: boolean }>(
      'SELECT rolname AS role, rolcreatedb OR rolsuper AS createdb FROM pg_roles WHERE rolname = current_user',
    );
    return rows[0] ?? { role: '?', createdb: false };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Whether the two environments' REFRESH_DIR are one host directory; problems, and what was seen. */
export function sharedDirProblems(
  s: EnvironmentFacts,
  p: EnvironmentFacts,
): { problems: string[]; seen?: string } {
  const [sd, pd] = [s.settings?.REFRESH_DIR?.trim(), p.settings?.REFRESH_DIR?.trim()];
  if (!sd || !pd) return { problems: [] };
  const problems: string[] = [];
  if (sd !== pd)
    problems.push(
      `REFRESH_DIR is ${sd} in staging and ${pd} in production: mount it at the same path in both`,
    );
  const described = [s, p].filter((f) => f.container || f.service);
  if (described.length < 2)
    return { problems, seen: 'the mounts were not compared (no running app of each)' };
  const hosts = [s, p].map((f) => ({
    f,
    dir: f === s ? sd : pd,
    host: mountedHostPathOf(f, f === s ? sd : pd),
  }));
  for (const { f, dir, host } of hosts) {
    if (!host) {
      problems.push(
        `${f.env} does not mount ${dir} from the host: what it writes there stays in its container`,
      );
      continue;
    }
    const home = hostPathOf(f, settingWithDefault(f, 'LUGH_HOME'));
    if (nested(host, home))
      problems.push(`${f.env}’s REFRESH_DIR (${host} on the host) overlaps its LUGH_HOME ${home}`);
  }
  const [sh, ph] = hosts.map((h) => h.host);
  if (sh && ph && sh !== ph)
    problems.push(`staging’s REFRESH_DIR is ${sh} on the host, production’s ${ph}: not the same directory`);
  return { problems, seen: sh && sh === ph ? `both mount ${sh} from the host` : undefined };
}

/** Set in the settings, or held in a Docker secret the audit cannot read (Swarm). */
const present = (f: EnvironmentFacts, v: string) =>
  Boolean(settingsOf(f)[v]?.trim() && !settingsOf(f)[v]?.startsWith('__IN_')) ||
  Boolean(f.service?.unread[v]);
const readable = (f: EnvironmentFacts, v: string) =>
  f.service?.unread[v] || settingsOf(f)[v]?.startsWith('__IN_') ? undefined : settingsOf(f)[v]?.trim();

export const refreshSetupCheck: Check = {
  id: 'refresh-setup',
  title: 'Production can copy anonymised data to staging (/refresh staging)',
  async run(s, p) {
    const ps = settingsOf(p);
    if (!on('production', ps)) return { ok: true, evidence: 'staging_refresh is off in production' };
    const ss = settingsOf(s);
    const problems: string[] = [];
    if (!on('staging', ss))
      problems.push(`staging_refresh is off in staging${from(s)}: staging refuses every refresh`);
    for (const v of ['REFRESH_SIGNING_KEY', 'REFRESH_HASH_KEY', 'REFRESH_DIR'])
      if (!present(p, v)) problems.push(`production has no ${v}${from(p)}`);
    for (const v of ['REFRESH_VERIFY_KEY', 'REFRESH_DIR'])
      if (!present(s, v)) problems.push(`staging has no ${v}${from(s)}`);
    for (const v of ['REFRESH_SIGNING_KEY', 'REFRESH_HASH_KEY'])
      if (present(s, v)) problems.push(`staging holds ${v}${from(s)}: it belongs to production only`);
    const shared = sharedDirProblems(s, p);
    problems.push(...shared.problems);
    const signing = readable(p, 'REFRESH_SIGNING_KEY');
    const verify = readable(s, 'REFRESH_VERIFY_KEY');
    if (signing && verify && verifyKeyOf(signing) !== verify)
      problems.push(
        'staging’s REFRESH_VERIFY_KEY is not the public half of production’s REFRESH_SIGNING_KEY',
      );
    const databaseUrl = readable(p, 'DATABASE_URL');
    if (databaseUrl) {
      try {
        const { role, createdb } = await mayCreateDatabases(databaseUrl);
        if (!createdb)
          problems.push(
            `production’s database role ${role} may not create databases (the temporary copy needs CREATEDB)`,
          );
      } catch (error) {
        if (problems.length === 0)
          return skipped(
            `production’s database did not answer (${(error as Error).message}); ask production’s bot /doctor`,
          );
      }
    }
    if (problems.length === 0)
      return {
        ok: true,
        evidence: `both opted in; keys are a pair; production’s role has CREATEDB; REFRESH_DIR: ${shared.seen ?? 'the same path'}`,
      };
    return {
      ok: false,
      evidence: problems.join('; '),
      fix: 'README, “Staging with production-shaped data”: `lugh keys` prints the refresh pair (REFRESH_SIGNING_KEY to .env.prod.local, REFRESH_VERIFY_KEY to .env.staging.local); ALTER ROLE <production role> CREATEDB; REFRESH_DIR=/home/lugh/lugh-refresh on both, mounted from the same host directory (docker-compose.*.yml; deploy/bootstrap.sh creates it), and REFRESH_HASH_KEY on production',
    };
  },
};
