// The isolation audit (`lugh doctor`, /doctor): the seed designs' verification checklist,
// run against the live Docker host. Every check gives pass or fail, the evidence it saw,
// and on a failure how to fix it.
import type Docker from 'dockerode';
import { type AppEnv, ENVIRONMENTS } from '../config/environments.js';
import { flagKeys, resolveFlags } from '../config/feature-flags.js';
import { isPlaceholder } from '../config/index.js';
import { DeadlineError, withDeadline } from '../deadline.js';
import { nameOf } from '../deployer/docker-helpers.js';
import { describeDockerError } from '../deployer/errors.js';
import { createRedactor } from '../redact.js';
import {
  addressOf,
  containerForHost,
  databaseOf,
  type EnvironmentFacts,
  gatherFacts,
  networksOf,
  publishedPorts,
  type SettingsFallback,
  settingWithDefault,
} from './facts.js';
import { probeReach, tryLogin } from './probes.js';
import { Unchecked } from './unchecked.js';

export interface CheckResult {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  readonly evidence: string;
  /** How to fix it; only on a failure. */
  readonly fix?: string;
}

export interface AuditReport {
  readonly staging: EnvironmentFacts;
  readonly production: EnvironmentFacts;
  readonly checks: readonly CheckResult[];
  readonly failed: number;
}

export interface AuditOptions {
  /** Absent: every check that needs the engine fails, saying so. */
  readonly docker?: Docker;
  /** The app containers' names (default: the compose files' container_name). */
  readonly containers?: Partial<Record<AppEnv, string>>;
  /** Settings for an environment whose container is missing. */
  readonly fallback?: SettingsFallback;
  /** Settings that win over the containers' (the sandbox, whose instances are processes). */
  readonly settings?: SettingsFallback;
  /** Each check's deadline. */
  readonly timeoutMs?: number;
}

type Verdict = { ok: boolean; evidence: string; fix?: string };

interface Check {
  readonly id: string;
  readonly title: string;
  run(s: EnvironmentFacts, p: EnvironmentFacts, docker?: Docker): Promise<Verdict>;
}

const COMPOSE_UP: Record<AppEnv, string> = {
  staging: 'docker-compose -p lugh-staging --env-file .env.staging -f docker-compose.staging.yml up -d',
  production: 'docker-compose -p lugh-prod --env-file .env.prod -f docker-compose.prod.yml up -d',
};

const ENGINE_FIX = 'start the Docker engine (dockerd), or point DOCKER_HOST at it, and run the audit again';

function containerOf(f: EnvironmentFacts): Docker.ContainerInspectInfo {
  if (f.container) return f.container;
  throw new Unchecked(
    `${f.env}: ${f.missing}`,
    f.engineDown ? ENGINE_FIX : `start ${f.env}: ${COMPOSE_UP[f.env]}`,
  );
}

function settingsOf(f: EnvironmentFacts) {
  if (f.settings) return f.settings;
  throw new Unchecked(
    `${f.env}: no settings to read (${f.missing})`,
    `start ${f.env} (${COMPOSE_UP[f.env]}) or run lugh doctor next to .env.staging and .env.prod`,
  );
}

/** Both environments' databases, or why they cannot be told. */
function databasesOf(s: EnvironmentFacts, p: EnvironmentFacts) {
  settingsOf(s);
  settingsOf(p);
  const [sd, pd] = [databaseOf(s), databaseOf(p)];
  if (!sd || !pd)
    throw new Unchecked(
      'a DATABASE_URL is missing or not a URL',
      'set DATABASE_URL in each .env.<env>.local',
    );
  return [sd, pd] as const;
}

const from = (f: EnvironmentFacts) => (f.settingsFrom === f.containerName ? '' : ` (from ${f.settingsFrom})`);
const list = (items: readonly string[]) => (items.length ? items.join(', ') : 'none');

/** Equal, or one a `:`/`/`-separated part of the other: both name the same keys or files. */
const overlaps = (a: string, b: string, sep: string) =>
  a === b || a.startsWith(b + sep) || b.startsWith(a + sep);

/** The host directory behind a path in a container (its bind mount), else the path itself. */
function hostPathOf(f: EnvironmentFacts, path: string): string {
  const mount = f.container?.Mounts?.find(
    (m) => path === m.Destination || path.startsWith(`${m.Destination}/`),
  );
  if (!mount) return path;
  return mount.Source + path.slice(mount.Destination.length);
}

async function reachFrom(
  docker: Docker,
  a: Docker.ContainerInspectInfo,
  b: Docker.ContainerInspectInfo,
  port: number,
) {
  const names = new Set([nameOf(b)]);
  const service = b.Config.Labels?.['com.docker.compose.service'];
  if (service) names.add(service);
  for (const n of Object.values(b.NetworkSettings?.Networks ?? {}))
    for (const alias of n.Aliases ?? []) names.add(alias);
  const targets = Object.values(b.NetworkSettings?.Networks ?? {})
    .map((n) => n.IPAddress)
    .filter(Boolean)
    .map((ip) => [ip, port] as const);
  const result = await probeReach(docker, nameOf(a), [...names], targets);
  const resolved = result.names.filter((n) => n.address).map((n) => `${n.name} → ${n.address}`);
  const reached = result.addresses
    .filter((t) => t.reached)
    .map((t) => `${t.address}${t.error ? ` (${t.error})` : ''}`);
  const blocked = result.addresses.filter((t) => !t.reached).map((t) => `${t.address} (${t.error})`);
  return {
    isolated: resolved.length === 0 && reached.length === 0,
    text:
      resolved.length || reached.length
        ? `from ${nameOf(a)}: ${[...resolved.map((r) => `resolves ${r}`), ...reached.map((r) => `reaches ${r}`)].join('; ')}`
        : `from ${nameOf(a)}: ${result.names.length} name(s) of ${nameOf(b)} do not resolve, ${list(blocked)} do not answer`,
  };
}

const CHECKS: readonly Check[] = [
  {
    id: 'network',
    title: 'The apps share no network and cannot resolve or reach each other',
    async run(s, p, docker) {
      const [sc, pc] = [containerOf(s), containerOf(p)];
      const [sn, pn] = [networksOf(sc), networksOf(pc)];
      const shared = sn.filter((n) => pn.includes(n));
      const where = `staging on ${list(sn)}; production on ${list(pn)}`;
      const fix =
        'give each compose file its own networks (never a shared one), e.g. lugh-staging-data and lugh-prod-data';
      if (shared.length) return { ok: false, evidence: `${where}: both on ${shared.join(', ')}`, fix };
      for (const c of [sc, pc])
        if (!c.State.Running)
          throw new Unchecked(
            `${nameOf(c)} is ${c.State.Status}, so nothing can be tried from it`,
            'start it and run the audit again',
          );
      const [there, back] = await Promise.all([
        reachFrom(docker!, sc, pc, Number(settingWithDefault(p, 'PORT'))),
        reachFrom(docker!, pc, sc, Number(settingWithDefault(s, 'PORT'))),
      ]);
      return { ok: there.isolated && back.isolated, evidence: `${where}; ${there.text}; ${back.text}`, fix };
    },
  },
  {
    id: 'host-ports',
    title: 'Host ports differ',
    async run(s, p) {
      const [sp, pp] = [publishedPorts(containerOf(s)), publishedPorts(containerOf(p))];
      const port = (b: string) => b.slice(b.lastIndexOf(':') + 1);
      const clash = sp.filter((b) => pp.some((o) => port(o) === port(b))).map(port);
      return {
        ok: clash.length === 0,
        evidence: `staging publishes ${list(sp)}; production ${list(pp)}${clash.length ? `: both use port ${[...new Set(clash)].join(', ')}` : ''}`,
        fix: 'give each environment its own host port (PORT 3001 for staging, 3000 for production, in the compose files)',
      };
    },
  },
  {
    id: 'db-port',
    title: "Production's database port is not published",
    async run(_s, p, docker) {
      settingsOf(p);
      const db = databaseOf(p);
      if (!db) throw new Unchecked('production has no DATABASE_URL', 'set DATABASE_URL in .env.prod.local');
      if (!docker)
        throw new Unchecked(
          'no Docker engine to ask',
          'run lugh doctor where the Docker engine is reachable',
        );
      const fix =
        'remove the ports: entry of the database service; only containers on the data networks need it';
      const holder = await containerForHost(docker, db.host, p.container ? networksOf(p.container) : []);
      if (!holder)
        return {
          ok: false,
          evidence: `production's database host ${db.host} is not a container on this Docker engine, so its exposure cannot be seen`,
          fix: 'run Postgres as a container on the data networks (docker-compose.infra.yml), without ports:',
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
  },
  {
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
  },
  {
    id: 'db-role',
    title: "Staging's database role is its own and cannot open production's database",
    async run(s, p, docker) {
      const [sd, pd] = databasesOf(s, p);
      const fix = `give staging its own role and revoke its CONNECT on ${pd.database}: deploy/init-databases.sh does both`;
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
      throw new Unchecked(
        `${tried}: ${outcome.message}`,
        'run lugh doctor on the Docker host, which can reach the database container',
      );
    },
  },
  {
    id: 'redis-prefix',
    title: 'Redis prefixes differ',
    async run(s, p) {
      settingsOf(s);
      settingsOf(p);
      const [sp, pp] = [settingWithDefault(s, 'REDIS_PREFIX'), settingWithDefault(p, 'REDIS_PREFIX')];
      return {
        ok: !overlaps(sp, pp, ':'),
        evidence: `staging keys under ${sp}:${from(s)}; production under ${pp}:${from(p)}`,
        fix: 'set REDIS_PREFIX=staging and REDIS_PREFIX=prod (neither may contain the other)',
      };
    },
  },
  {
    id: 'home',
    title: 'LUGH_HOME directories differ',
    async run(s, p) {
      settingsOf(s);
      settingsOf(p);
      const [sh, ph] = [
        hostPathOf(s, settingWithDefault(s, 'LUGH_HOME')),
        hostPathOf(p, settingWithDefault(p, 'LUGH_HOME')),
      ];
      return {
        ok: !overlaps(sh.replace(/\/+$/, ''), ph.replace(/\/+$/, ''), '/'),
        evidence: `staging keeps its backups and state in ${sh}${from(s)}; production in ${ph}${from(p)}`,
        fix: 'give each its own LUGH_HOME (~/.lugh-staging, ~/.lugh-prod), neither inside the other',
      };
    },
  },
  {
    id: 'bot-token',
    title: 'Bot tokens differ',
    async run(s, p) {
      const [st, pt] = [settingsOf(s).TELEGRAM_BOT_TOKEN, settingsOf(p).TELEGRAM_BOT_TOKEN];
      const unset = [s, p].filter((f) => {
        const token = f.settings?.TELEGRAM_BOT_TOKEN;
        return !token || isPlaceholder(token);
      });
      if (unset.length || !st || !pt)
        throw new Unchecked(
          `no real TELEGRAM_BOT_TOKEN for ${unset.map((f) => `${f.env}${from(f)}`).join(' and ')}`,
          'set TELEGRAM_BOT_TOKEN in .env.staging.local and .env.prod.local',
        );
      // The bot id (before the colon) is public; the rest of the token never appears.
      const bot = (t: string) => `bot ${t.split(':')[0]}`;
      return {
        ok: st !== pt,
        evidence:
          st === pt ? `both use the token of ${bot(st)}` : `staging is ${bot(st)}; production ${bot(pt)}`,
        fix: 'give staging its own bot (@LughDev) from @BotFather and put its token in .env.staging.local',
      };
    },
  },
  {
    id: 'priority',
    title: 'Resource limits give production priority',
    async run(s, p) {
      const limits = (c: Docker.ContainerInspectInfo) => {
        const h = c.HostConfig;
        const quota = h.CpuQuota && h.CpuPeriod ? h.CpuQuota / h.CpuPeriod : 0;
        return {
          cpus: h.NanoCpus ? h.NanoCpus / 1e9 : quota,
          memory: h.Memory ?? 0,
          shares: h.CpuShares || 1024,
          oom: h.OomScoreAdj ?? 0,
        };
      };
      const [sl, pl] = [limits(containerOf(s)), limits(containerOf(p))];
      const show = (l: typeof sl) =>
        `${l.cpus || 'unlimited'} CPUs, ${l.memory ? `${Math.round(l.memory / 2 ** 20)} MiB` : 'unlimited memory'}, CPU weight ${l.shares}, OOM score adj ${l.oom}`;
      const wrong: string[] = [];
      if (!sl.cpus) wrong.push('staging has no CPU limit');
      if (!sl.memory) wrong.push('staging has no memory limit');
      if (pl.cpus && pl.cpus < sl.cpus) wrong.push('production may use fewer CPUs than staging');
      if (pl.memory && pl.memory < sl.memory) wrong.push('production may use less memory than staging');
      if (pl.shares <= sl.shares) wrong.push("production's CPU weight is not above staging's");
      if (pl.oom >= sl.oom) wrong.push('the OOM killer would not pick staging first');
      return {
        ok: wrong.length === 0,
        evidence: `production: ${show(pl)}; staging: ${show(sl)}${wrong.length ? ` — ${wrong.join('; ')}` : ''}`,
        fix: "keep the compose files' limits: staging cpus 0.5, 384M, cpu_shares 256, oom_score_adj 500; production above it on each",
      };
    },
  },
  ...(['staging', 'production'] as const).map(
    (env): Check => ({
      id: `identity-${env}`,
      title: `The ${env} container says ${env} in APP_ENV, its name and its compose project`,
      async run(s, p) {
        const f = env === 'staging' ? s : p;
        const c = containerOf(f);
        const own = ENVIRONMENTS[env].marker;
        const other = ENVIRONMENTS[env === 'staging' ? 'production' : 'staging'].marker;
        const belongs = (name: string | undefined) => !!name && name.includes(own) && !name.includes(other);
        const appEnv = settingsOf(f).APP_ENV;
        const project = c.Config.Labels?.['com.docker.compose.project'];
        const wrong: string[] = [];
        if (appEnv !== env) wrong.push(`APP_ENV is ${appEnv ?? 'unset'}`);
        if (!belongs(nameOf(c))) wrong.push(`the name does not say ${own}`);
        if (!project) wrong.push('it was not started by docker-compose (no project label)');
        else if (!belongs(project)) wrong.push(`the compose project does not say ${own}`);
        return {
          ok: wrong.length === 0,
          evidence: `${nameOf(c)}: APP_ENV=${appEnv ?? 'unset'}, compose project ${project ?? 'none'}${wrong.length ? ` — ${wrong.join('; ')}` : ''}`,
          fix: `run it with its own compose file and project: ${COMPOSE_UP[env]}`,
        };
      },
    }),
  ),
  {
    id: 'flags',
    title: 'Feature flags: staging runs ahead of production, never behind',
    async run(s, p) {
      const on = (f: EnvironmentFacts) =>
        new Set(
          resolveFlags(f.env, settingsOf(f))
            .flags.filter((x) => x.enabled)
            .map((x) => x.key),
        );
      const [so, po] = [on(s), on(p)];
      const ahead = flagKeys.filter((k) => so.has(k) && !po.has(k));
      const behind = flagKeys.filter((k) => po.has(k) && !so.has(k));
      return {
        ok: behind.length === 0,
        evidence: `on in staging, off in production: ${list(ahead)}${behind.length ? `; on in production but never tried in staging: ${behind.join(', ')}` : ''}`,
        fix: 'turn the flag on in staging first (FEATURE_<NAME>=true in .env.staging), or off in production',
      };
    },
  },
];

/** Why a check could not run, and the fix that fits that reason. */
function unchecked(error: unknown, ms: number): { evidence: string; fix: string } {
  if (error instanceof Unchecked) return { evidence: `could not check: ${error.message}`, fix: error.fix };
  if (error instanceof DeadlineError)
    return {
      evidence: `could not check: no answer within ${ms / 1000} s`,
      fix: 'run the audit again; if it stays slow, look at the Docker engine and the containers’ load',
    };
  const code = (error as { code?: string }).code;
  const engine = code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES';
  return {
    evidence: `could not check: ${describeDockerError(error)}`,
    fix: engine
      ? ENGINE_FIX
      : 'run the audit again; if it fails the same way, the evidence says what to look at',
  };
}

/** The ids of every check, in the order they run and print. */
export const CHECK_IDS = CHECKS.map((c) => c.id);

/** Runs every check at once, each with its own deadline; never throws. */
export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const name = (env: AppEnv) => options.containers?.[env] ?? ENVIRONMENTS[env].appContainer;
  const gather = (env: AppEnv) =>
    gatherFacts({
      docker: options.docker,
      env,
      containerName: name(env),
      settings: options.settings,
      fallback: options.fallback,
    });
  const [staging, production] = await Promise.all([gather('staging'), gather('production')]);
  // Evidence may quote a setting; secrets of either environment never reach the output.
  const secrets = [staging, production].flatMap((f) => {
    const db = databaseOf(f);
    const token = f.settings?.TELEGRAM_BOT_TOKEN;
    return [
      token,
      token?.split(':')[1],
      db?.password,
      f.settings?.GITHUB_TOKEN,
      f.settings?.GITHUB_WEBHOOK_SECRET,
    ];
  });
  const redact = createRedactor(secrets.filter((x): x is string => Boolean(x)));
  const ms = options.timeoutMs ?? 15_000;
  const checks = await Promise.all(
    CHECKS.map(async (check): Promise<CheckResult> => {
      let verdict: Verdict;
      try {
        verdict = await withDeadline(check.run(staging, production, options.docker), ms);
      } catch (error) {
        verdict = { ok: false, ...unchecked(error, ms) };
      }
      return {
        id: check.id,
        title: check.title,
        ok: verdict.ok,
        evidence: redact(verdict.evidence),
        fix: verdict.ok ? undefined : verdict.fix && redact(verdict.fix),
      };
    }),
  );
  return { staging, production, checks, failed: checks.filter((c) => !c.ok).length };
}

/** The report as `lugh doctor` prints it. */
export function renderAuditText(report: AuditReport): string {
  const lines = [
    `lugh doctor: isolation of staging (${report.staging.containerName}) and production (${report.production.containerName})`,
    '',
  ];
  for (const c of report.checks) {
    lines.push(`${c.ok ? 'PASS' : 'FAIL'}  ${c.id.padEnd(19)} ${c.title}`);
    lines.push(`      ${c.evidence}`);
    if (c.fix) lines.push(`      fix: ${c.fix}`);
  }
  const passed = report.checks.length - report.failed;
  lines.push('', `${passed} passed, ${report.failed} failed`);
  return `${lines.join('\n')}\n`;
}
