// Every preview container is held to what the shared decisions promise: it runs untrusted
// code, so it is on no network of production's, connects to its own database as its own
// role, keeps its Redis keys under its own prefix as its own Redis ACL user (with a
// password: never `default`), carries no secret of staging or production, and yields to both for CPU, memory and
// the OOM killer; nor does it touch the host (no bind mount, privilege or host namespace).
import type Docker from 'dockerode';
import { ENVIRONMENTS } from '../../config/environments.js';
import { resolveFlags } from '../../config/feature-flags.js';
import { previewProblems } from '../../config/preview-checks.js';
import { namedSecretsOfEnv } from '../../config/secrets.js';
import {
  databaseOf,
  type EnvironmentFacts,
  networksOf,
  type Settings,
  settingWithDefault,
} from '../facts.js';
import type { PreviewContainerFacts } from '../preview-facts.js';
import { Unchecked } from '../unchecked.js';
import { type Check, from, list, settingsOf } from './check.js';

const limitsOf = (c: Docker.ContainerInspectInfo) => {
  const h = c.HostConfig;
  const quota = h.CpuQuota && h.CpuPeriod ? h.CpuQuota / h.CpuPeriod : 0;
  return {
    cpus: h.NanoCpus ? h.NanoCpus / 1e9 : quota,
    memory: h.Memory ?? 0,
    shares: h.CpuShares || 1024,
    oom: h.OomScoreAdj ?? 0,
  };
};

/** The user a redis:// URL logs in as; `default` when it names none. */
const redisUserOf = (url: string | undefined) =>
  url && URL.canParse(url) ? decodeURIComponent(new URL(url).username) || 'default' : undefined;

const redisPasswordOf = (url: string) => (URL.canParse(url) ? new URL(url).password : '');

/** The pull request whose preview prefix this is (`preview:pr<n>:`, or a namespace's), if it is one. */
const prefixOwner = (prefix: string) => /^preview:(?:[a-z0-9_]+:)?pr(\d+):$/.exec(prefix)?.[1];

const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}:`) || b.startsWith(`${a}:`);

interface Context {
  readonly s: EnvironmentFacts;
  readonly p: EnvironmentFacts;
  /** The app containers, where they exist (the sandbox runs its instances as processes). */
  readonly staging?: Docker.ContainerInspectInfo;
  readonly production?: Docker.ContainerInspectInfo;
  /** Production's app and its set's containers, by network. */
  readonly productionOn: ReadonlyMap<string, readonly string[]>;
  readonly secrets: readonly { readonly env: string; readonly variable: string; readonly value: string }[];
}

function byNetwork(members: readonly { name: string; info: Docker.ContainerInspectInfo }[]) {
  const on = new Map<string, string[]>();
  for (const m of members)
    for (const net of networksOf(m.info)) on.set(net, [...(on.get(net) ?? []), m.name]);
  return on;
}

function networkProblems(v: PreviewContainerFacts, c: Context): string[] {
  const wrong: string[] = [];
  const dataNetwork = c.s.settings?.PREVIEW_DATA_NETWORK?.trim();
  const stagingNets = c.staging ? networksOf(c.staging) : [];
  for (const net of networksOf(v.container)) {
    const theirs = c.productionOn.get(net);
    if (theirs) wrong.push(`is on ${net}, production's network (${theirs.join(', ')})`);
    else if (!c.production && net.toLowerCase().includes(ENVIRONMENTS.production.marker))
      wrong.push(`is on ${net}, by its name production's network`);
    else if (stagingNets.includes(net) && net !== dataNetwork)
      wrong.push(
        `is on ${net}, a network of staging's app that is not PREVIEW_DATA_NETWORK (${dataNetwork ?? 'unset'})`,
      );
  }
  return wrong;
}

function databaseProblems(v: PreviewContainerFacts, c: Context): string[] {
  const db = databaseOf({ ...c.s, settings: v.settings });
  if (!db || !v.names) return [];
  for (const f of [c.p, c.s]) {
    const theirs = databaseOf(f);
    if (theirs && db.database === theirs.database) return [`uses ${f.env}'s database ${db.database}`];
    if (theirs && db.user === theirs.user) return [`logs in as ${f.env}'s database role ${db.user}`];
  }
  const own = v.names.database;
  const wrong: string[] = [];
  if (db.database !== own) wrong.push(`uses the database ${db.database}, not its own ${own}`);
  if (db.user !== v.names.role)
    wrong.push(`logs in as ${db.user || 'no role'}, not its own role ${v.names.role}`);
  return wrong;
}

function redisProblems(v: PreviewContainerFacts, c: Context): string[] {
  if (!v.names || (!v.settings.REDIS_URL && !v.settings.REDIS_PREFIX)) return [];
  const wrong: string[] = [];
  const prefix = v.settings.REDIS_PREFIX?.trim() ?? '(none)';
  const own = v.names.redisPrefix;
  if (prefix !== own) {
    const envOf = [c.s, c.p].find(
      (f) => f.settings && overlaps(prefix, settingWithDefault(f, 'REDIS_PREFIX')),
    );
    const owner = prefixOwner(prefix);
    wrong.push(
      `keeps its Redis keys under ${prefix}${
        envOf ? `, ${envOf.env}'s prefix` : owner ? `, the prefix of PR ${owner}'s preview` : ''
      }, not its own ${own}`,
    );
  }
  const user = redisUserOf(v.settings.REDIS_URL);
  const theirs = [c.s, c.p].map((f) => ({ env: f.env, user: redisUserOf(f.settings?.REDIS_URL) }));
  const same = theirs.find((t) => user && t.user && t.user !== 'default' && t.user === user);
  const should = `it should be its own ACL user ${v.names.redisUser} (lugh refuses a Redis whose default user needs no password)`;
  if (same) wrong.push(`logs in to Redis as ${same.env}'s user ${user}`);
  else if (v.settings.REDIS_URL && (user === 'default' || user === undefined))
    wrong.push(`logs in to Redis as ${user ?? 'nobody'}: ${should}`);
  else if (v.settings.REDIS_URL && !redisPasswordOf(v.settings.REDIS_URL))
    wrong.push(`logs in to Redis with no password: ${should}`);
  return wrong;
}

function secretProblems(settings: Settings, c: Context): string[] {
  const found = new Set<string>();
  for (const [key, value] of Object.entries(settings)) {
    if (!value) continue;
    for (const secret of c.secrets)
      if (value.includes(secret.value)) found.add(`carries ${secret.env}'s ${secret.variable} in ${key}`);
  }
  return [...found];
}

/** What of the host a preview may touch: nothing (no bind mount, no added power, none of the host's namespaces). */
function hostProblems(v: PreviewContainerFacts): string[] {
  const h = v.container.HostConfig;
  const wrong: string[] = [];
  if (h.Privileged) wrong.push('runs privileged');
  if (h.CapAdd?.length) wrong.push(`has the added capabilities ${h.CapAdd.join(', ')}`);
  for (const [what, mode] of [
    ['network', h.NetworkMode],
    ['process', h.PidMode],
    ['IPC', h.IpcMode],
  ] as const)
    if (mode === 'host') wrong.push(`shares the host's ${what} namespace`);
  const binds = (v.container.Mounts ?? []).filter((m) => m.Type === 'bind').map((m) => m.Source);
  const socket = binds.filter((b) => /docker\.sock$/.test(b));
  if (socket.length) wrong.push(`mounts the Docker socket ${socket.join(', ')}: it could command the engine`);
  else if (binds.length) wrong.push(`mounts ${binds.join(', ')} from the host`);
  return wrong;
}

function limitProblems(v: PreviewContainerFacts, c: Context): string[] {
  const mine = limitsOf(v.container);
  const [sl, pl] = [c.staging && limitsOf(c.staging), c.production && limitsOf(c.production)];
  const wrong: string[] = [];
  const mib = (b: number) => Math.round(b / 2 ** 20);
  if (!mine.memory) wrong.push('has no memory limit');
  else if (sl?.memory && mine.memory > sl.memory)
    wrong.push(`may use ${mib(mine.memory)} MiB, more than staging's ${mib(sl.memory)}`);
  if (!mine.cpus) wrong.push('has no CPU limit');
  else if (sl?.cpus && mine.cpus > sl.cpus)
    wrong.push(`may use ${mine.cpus} CPUs, more than staging's ${sl.cpus}`);
  const shares = sl?.shares ?? 1024;
  if (mine.shares > shares) wrong.push(`CPU weight ${mine.shares} is above staging's ${shares}`);
  // Without the app containers (processes, in the sandbox), above the kernel's default: 0.
  const apps = [sl && `staging's ${sl.oom}`, pl && `production's ${pl.oom}`].filter(Boolean);
  if (mine.oom <= Math.max(sl?.oom ?? 0, pl?.oom ?? 0))
    wrong.push(
      `OOM score adj ${mine.oom} is not above ${apps.length ? apps.join(' and ') : 'the apps’ 0'}: the OOM killer would not pick it first`,
    );
  return wrong;
}

export const previewsCheck: Check = {
  id: 'previews',
  title:
    'Every preview is isolated (networks, its own database, role and Redis prefix, no secrets, lowest priority)',
  async run(s, p) {
    const facts = s.previews;
    if (!facts?.containers)
      throw new Unchecked(
        `could not list the preview containers (${facts?.missing ?? 'not asked'})`,
        'run the audit again where the Docker engine answers',
      );
    const label = `label lugh.preview=${facts.label}`;
    if (facts.containers.length === 0)
      return { ok: true, evidence: `no preview containers (${label}) on this Docker engine` };
    const [staging, production] = [s.container, p.container];
    const members = [
      ...(production ? [{ name: p.containerName, info: production }] : []),
      ...(p.services ?? []).map((m) => ({ name: m.name, info: m.container })),
    ];
    const context: Context = {
      s,
      p,
      staging,
      production,
      productionOn: byNetwork(members),
      secrets: [s, p].flatMap((f) => [
        ...(f.env === 'staging' ? (facts.knownSecrets ?? []) : []),
        ...namedSecretsOfEnv(f.settings ?? {}).map((x) => ({ env: f.env, ...x })),
        ...(databaseOf(f)?.password && databaseOf(f)!.password.length >= 4
          ? [{ env: f.env, variable: 'DATABASE_URL', value: databaseOf(f)!.password }]
          : []),
      ]),
    };
    const notes: string[] = [];
    for (const f of [s, p])
      if (!f.container)
        notes.push(
          `${f.env} has no container here (${f.missing}), so ${f.env === 'production' ? "production's networks were judged by their names and its" : "staging's networks and"} limits could not be compared`,
        );
    if (!p.settings && !facts.knownSecrets?.some((k) => k.env === 'production'))
      notes.push(
        `production's secrets are not known here (${p.missing ?? 'no settings'}), so only staging's were looked for`,
      );
    const findings: string[] = [];
    for (const v of facts.containers) {
      const app = v.settings.APP_ENV;
      const wrong = [
        ...(v.names
          ? []
          : [
              `has the label lugh.preview.pr=${v.container.Config.Labels?.['lugh.preview.pr'] ?? ''}, not a pull request number`,
            ]),
        ...(app !== 'preview' ? [`runs with APP_ENV=${app ?? '(unset)'}, not preview`] : []),
        ...networkProblems(v, context),
        ...databaseProblems(v, context),
        ...redisProblems(v, context),
        ...secretProblems(v.settings, context),
        ...limitProblems(v, context),
        ...hostProblems(v),
      ];
      if (wrong.length) findings.push(`${v.name} (PR ${v.pr ?? '?'}) ${wrong.join('; ')}`);
    }
    const names = list(facts.containers.map((v) => `${v.name} on ${list(networksOf(v.container))}`));
    return {
      ok: findings.length === 0,
      evidence: findings.length
        ? `${findings.join(' — ')}${notes.length ? ` (note: ${[...new Set(notes)].join('; ')})` : ''}`
        : `${facts.containers.length} preview(s) (${label}): ${names}; each on no network of production's, with its own database, role and Redis prefix, no secret of staging or production, nothing of the host, and limits below staging's${notes.length ? `; note: ${[...new Set(notes)].join('; ')}` : ''}`,
      fix: 'lugh builds a preview’s container from scratch (previews/): tear it down and start it again from chat (/previews), or remove a stray one (docker rm -f NAME); check PREVIEW_DATA_NETWORK, PREVIEW_DATABASE_ADMIN_URL, PREVIEW_REDIS_URL and the PREVIEW_* limits with lugh config',
    };
  },
};

export const previewSettingsCheck: Check = {
  id: 'preview-settings',
  title: "Staging's preview settings lead nowhere near production",
  async run(s, p) {
    const [ss, ps] = [settingsOf(s), settingsOf(p)];
    const flags = resolveFlags('staging', ss);
    const problems = previewProblems({
      appEnv: 'staging',
      env: ss,
      previewsOn: flags.flags.some((f) => f.key === 'previews' && f.enabled),
      invalid: new Set(),
      other: { env: ps, from: p.settingsFrom ?? p.containerName },
    });
    const set = Object.keys(ss).filter((k) => k.startsWith('PREVIEW_') && ss[k]?.trim());
    return {
      ok: problems.length === 0,
      evidence: problems.length
        ? problems.map((x) => `${x.variable} ${x.message}`).join(' — ')
        : `staging sets ${list(set)}${from(s)}: none names production's database, role, network, Redis login or container (${p.env}'s settings${from(p)})`,
      fix: 'set the preview settings in .env.staging(.local) as the message says, and check them with lugh --env staging config',
    };
  },
};
