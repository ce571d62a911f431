// Settings that must differ: Redis prefixes, LUGH_HOME directories and bot tokens; and the
// feature flags, where staging may run ahead of production but never behind.

import { ENVIRONMENTS } from '../../config/environments.js';
import { flagKeys, resolveFlags } from '../../config/feature-flags.js';
import { isPlaceholder } from '../../config/index.js';
import { containerProblem, nested, realPathOf } from '../../config/ownership.js';
import { type EnvironmentFacts, settingWithDefault } from '../facts.js';
import { Unchecked } from '../unchecked.js';
import { type Check, from, list, settingsOf } from './check.js';

/** Equal, or one a `:`/`/`-separated part of the other: both name the same keys or files. */
const overlaps = (a: string, b: string, sep: string) =>
  a === b || a.startsWith(b + sep) || b.startsWith(a + sep);

/** The host directory behind a path in a container (its bind mount), else the path itself. */
export function hostPathOf(f: EnvironmentFacts, path: string): string {
  return mountedHostPathOf(f, path) ?? path;
}

/** The host directory behind a path in a container or a Swarm service, when a mount holds it. */
export function mountedHostPathOf(f: EnvironmentFacts, path: string): string | undefined {
  // A container's mounts, or on Swarm the app service's (a bind's source is on the task's node).
  const mounts =
    f.container?.Mounts ?? f.service?.mounts.map((m) => ({ Source: m.source, Destination: m.target })) ?? [];
  const mount = mounts
    .filter((m) => path === m.Destination || path.startsWith(`${m.Destination}/`))
    .sort((a, b) => b.Destination.length - a.Destination.length)[0];
  if (!mount) return undefined;
  return mount.Source + path.slice(mount.Destination.length);
}

export const redisPrefixCheck: Check = {
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
};

export const homeCheck: Check = {
  id: 'home',
  title: 'LUGH_HOME directories differ',
  async run(s, p) {
    settingsOf(s);
    settingsOf(p);
    const [sh, ph] = [
      hostPathOf(s, settingWithDefault(s, 'LUGH_HOME')),
      hostPathOf(p, settingWithDefault(p, 'LUGH_HOME')),
    ];
    // As real paths on this host: `~` expanded, symbolic links resolved.
    const [sr, pr] = [realPathOf(sh), realPathOf(ph)];
    return {
      ok: !nested(sr, pr),
      evidence: `staging keeps its backups and state in ${sh}${from(s)}; production in ${ph}${from(p)}`,
      fix: 'give each its own LUGH_HOME (~/.lugh-staging, ~/.lugh-prod), neither inside the other',
    };
  },
};

export const deployContainerCheck: Check = {
  id: 'deploy-container',
  title: 'Each deploy replaces only its own container',
  async run(s, p) {
    const named = [s, p].map((f) => {
      const name = settingsOf(f).DEPLOY_CONTAINER?.trim() || ENVIRONMENTS[f.env].appContainer;
      return { f, name, problem: containerProblem(f.env, name) };
    });
    const wrong = named.find((n) => n.problem);
    return {
      ok: !wrong,
      evidence: wrong
        ? `${wrong.f.env}'s DEPLOY_CONTAINER ${wrong.problem}${from(wrong.f)}`
        : named.map((n) => `${n.f.env} replaces ${n.name}${from(n.f)}`).join('; '),
      fix: 'set DEPLOY_CONTAINER to the environment’s own container (lugh-staging-app, lugh-prod-app), or leave it unset',
    };
  },
};

export const botTokenCheck: Check = {
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
};

export const flagsCheck: Check = {
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
};
