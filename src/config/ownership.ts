// Which environment a database role, a container name or a home directory belongs to:
// the rules `lugh config` refuses a crossed configuration by, and the doctor re-checks on
// the live host.
import { existsSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { type AppEnv, ENVIRONMENTS, otherEnv } from './environments.js';

/** `~` and `~/…` expanded, relative paths resolved. */
export function expandHome(dir: string): string {
  if (dir === '~') return homedir();
  if (dir.startsWith('~/')) return path.join(homedir(), dir.slice(2));
  return path.resolve(dir);
}

/**
 * The real path of a directory that may not exist yet: its deepest existing ancestor with
 * symbolic links resolved, and the rest as written.
 */
export function realPathOf(dir: string): string {
  const absolute = expandHome(dir);
  let existing = absolute;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    return path.join(realpathSync(existing), path.relative(existing, absolute));
  } catch {
    return absolute;
  }
}

const carries = (value: string, env: AppEnv) => value.toLowerCase().includes(ENVIRONMENTS[env].marker);

/**
 * Every role pg could log in as for this URL and environment: the URL's user, a `user`
 * query parameter (which overrides it), and PGUSER (used when the URL names none).
 */
export function databaseRolesOf(
  url: string,
  env: Readonly<Record<string, string | undefined>>,
): Array<{ readonly variable: 'DATABASE_URL' | 'PGUSER'; readonly role: string; readonly where: string }> {
  const roles: Array<{ variable: 'DATABASE_URL' | 'PGUSER'; role: string; where: string }> = [];
  if (URL.canParse(url)) {
    const u = new URL(url);
    if (u.username)
      roles.push({ variable: 'DATABASE_URL', role: decodeURIComponent(u.username), where: 'its user' });
    for (const user of u.searchParams.getAll('user'))
      if (user) roles.push({ variable: 'DATABASE_URL', role: user, where: 'its ?user= parameter' });
  }
  const pgUser = env.PGUSER?.trim();
  if (pgUser) roles.push({ variable: 'PGUSER', role: pgUser, where: 'PGUSER' });
  return roles;
}

/** Why a database role cannot be this environment's, or undefined when it may be. */
export function roleProblem(appEnv: AppEnv, role: string): string | undefined {
  const other = otherEnv(appEnv);
  if (!carries(role, other)) return undefined;
  return `role "${role}", which belongs to ${other}; APP_ENV=${appEnv} must log in as its own role (e.g. lugh_${ENVIRONMENTS[appEnv].marker}).`;
}

/**
 * Why a DEPLOY_CONTAINER cannot be this environment's, or undefined. The rule: the name
 * carries the environment's own name (`staging`, or `prod`) and not the other's, so a
 * staging deploy can never replace production's container.
 */
export function containerProblem(appEnv: AppEnv, name: string): string | undefined {
  const other = otherEnv(appEnv);
  const own = ENVIRONMENTS[appEnv];
  if (carries(name, other))
    return `is "${name}", which names ${other}'s container; a ${appEnv} deploy must replace only its own (${own.appContainer}).`;
  if (!carries(name, appEnv))
    return `is "${name}", which does not carry "${own.marker}": ${appEnv}'s container name must (e.g. ${own.appContainer}).`;
  return undefined;
}

/** Equal, or one inside the other. */
export function nested(a: string, b: string): boolean {
  const [x, y] = [a.replace(/\/+$/, '') || '/', b.replace(/\/+$/, '') || '/'];
  const within = (inner: string, outer: string) => inner.startsWith(outer === '/' ? '/' : `${outer}/`);
  return x === y || within(x, y) || within(y, x);
}

/**
 * Why a LUGH_HOME cannot be this environment's, or undefined: its name carries the other
 * environment's, or (as real paths) it is, contains or lies inside the other's home.
 */
export function homeProblem(appEnv: AppEnv, home: string, otherHome?: string): string | undefined {
  const other = otherEnv(appEnv);
  const theirs = realPathOf(otherHome ?? ENVIRONMENTS[other].defaultHomeDir);
  const mine = realPathOf(home);
  if (carries(path.basename(mine), other) || carries(path.basename(home), other))
    return `is ${home}, which belongs to ${other}; use ${ENVIRONMENTS[appEnv].defaultHomeDir}.`;
  if (nested(mine, theirs))
    return `is ${home} (${mine}), which is, holds or lies inside ${other}'s home ${theirs}; give ${appEnv} its own directory beside it (e.g. ${ENVIRONMENTS[appEnv].defaultHomeDir}).`;
  return undefined;
}
