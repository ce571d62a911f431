import { coreSettings, expandHome } from './core.js';
import { deploySettings } from './deploy.js';
import { APP_ENVS, type AppEnv, ENVIRONMENTS, otherEnv } from './environments.js';
import { type FeatureFlags, type ResolvedFlag, resolveFlags } from './feature-flags.js';
import { containerProblem, databaseRolesOf, homeProblem, roleProblem } from './ownership.js';
import { PLACEHOLDER } from './placeholder.js';
import { promoteSettings } from './promote.js';
import { promoteKeyProblems } from './promote-keys.js';
import { urlPassword } from './schemas.js';
import {
  type DefaultContext,
  defaultOf,
  isSetting,
  type Setting,
  type SettingTree,
  type Shape,
} from './setting.js';
import { envSchema, SETTINGS } from './settings.js';

export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/** Thrown by createConfig with every problem found, each naming its variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable} ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The configuration: the settings' values, and what is worked out from them. */
export type Config = Shape<typeof SETTINGS> & {
  readonly isStaging: boolean;
  readonly databaseName: string;
  readonly flags: FeatureFlags;
  readonly flagDetails: readonly ResolvedFlag[];
  /** Non-fatal notes found while parsing (e.g. a flag switched off by its dependency). */
  readonly warnings: readonly string[];
};

type Env = Readonly<Record<string, string | undefined>>;

function databaseNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** Cross-variable rules: nothing of one environment may name the other's resources. */
interface CrossCheckInput {
  readonly appEnv: AppEnv;
  /** Each value is present only when it passed its own check, so problems are not reported twice. */
  readonly databaseUrl?: string;
  readonly redisPrefix?: string;
  readonly home?: string;
  readonly webhookUrl?: string;
  readonly webhookSecret?: string;
  readonly container?: string;
  /** The whole environment: pg reads PGUSER from it. */
  readonly env: Env;
}

function crossEnvironmentProblems(input: CrossCheckInput): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { appEnv } = input;
  const own = ENVIRONMENTS[appEnv];
  const other = ENVIRONMENTS[otherEnv(appEnv)];
  const belongsToOther = (value: string) => value.toLowerCase().includes(other.marker);

  if (input.databaseUrl) {
    const dbName = databaseNameOf(input.databaseUrl);
    if (belongsToOther(dbName)) {
      problems.push({
        variable: 'DATABASE_URL',
        message: `names database "${dbName}", which belongs to ${otherEnv(appEnv)}; APP_ENV=${appEnv} must use its own database (e.g. ${own.marker}_lugh).`,
      });
    }
    for (const { variable, role, where } of databaseRolesOf(input.databaseUrl, input.env)) {
      const problem = roleProblem(appEnv, role);
      if (problem)
        problems.push({
          variable,
          message: `${variable === 'PGUSER' ? 'names' : `connects (${where}) as`} ${problem}`,
        });
    }
  }
  if (input.container !== undefined) {
    const problem = containerProblem(appEnv, input.container);
    if (problem) problems.push({ variable: 'DEPLOY_CONTAINER', message: problem });
  }
  const prefix = input.redisPrefix;
  if (prefix !== undefined && prefix !== own.redisPrefix && !prefix.startsWith(`${own.redisPrefix}:`)) {
    problems.push({
      variable: 'REDIS_PREFIX',
      message: `is "${prefix}" but ${appEnv} keys must live under "${own.redisPrefix}" (or a sub-prefix "${own.redisPrefix}:…").`,
    });
  }
  if (input.home !== undefined) {
    const problem = homeProblem(appEnv, input.home);
    if (problem) problems.push({ variable: 'LUGH_HOME', message: problem });
  }
  if (input.webhookUrl && !input.webhookSecret) {
    problems.push({
      variable: 'TELEGRAM_WEBHOOK_SECRET',
      message: 'is required when TELEGRAM_WEBHOOK_URL is set, so forged updates are refused.',
    });
  }
  return problems;
}

// The cross-environment rules run even when other variables are wrong, so one run of
// `lugh config` lists every problem, not the first layer of them.
function crossChecks(appEnv: AppEnv, env: Env, problems: readonly ConfigProblem[]): ConfigProblem[] {
  const { databaseUrl, redisPrefix, home, telegram } = coreSettings;
  const { containerName } = deploySettings.deploy;
  const valid = (s: Setting) => !problems.some((p) => p.variable === s.variable);
  const value = (s: Setting) => (valid(s) ? env[s.variable]?.trim() || undefined : undefined);
  const context: DefaultContext = { appEnv, environment: ENVIRONMENTS[appEnv], adminIds: [] };
  const homeDir = value(home);
  return crossEnvironmentProblems({
    appEnv,
    databaseUrl: value(databaseUrl),
    redisPrefix: valid(redisPrefix)
      ? (value(redisPrefix) ?? String(defaultOf(redisPrefix, context)))
      : undefined,
    home: valid(home) ? (homeDir ? expandHome(homeDir) : String(defaultOf(home, context))) : undefined,
    webhookUrl: value(telegram.webhookUrl),
    webhookSecret: env[telegram.webhookSecret.variable]?.trim() || undefined,
    container: valid(containerName)
      ? (value(containerName) ?? String(defaultOf(containerName, context)))
      : undefined,
    env,
  });
}

/** Which environment holds which half of the promotion key pair (promote-keys.ts). */
function keyChecks(
  appEnv: AppEnv,
  env: Env,
  flagResult: ReturnType<typeof resolveFlags>,
  problems: readonly ConfigProblem[],
): ConfigProblem[] {
  const { signingKey, verifyKey } = promoteSettings.promote;
  const set = (s: Setting) => Boolean(env[s.variable]?.trim());
  const valid = (s: Setting) =>
    set(s) && !problems.some((p) => p.variable === s.variable) ? env[s.variable]?.trim() : undefined;
  return promoteKeyProblems({
    appEnv,
    promoteOn: flagResult.flags.some((f) => f.key === 'promote' && f.enabled),
    github: Boolean(env[coreSettings.github.repo.variable]?.trim()),
    signingKey: valid(signingKey),
    verifyKey: valid(verifyKey),
    signingKeySet: set(signingKey),
    verifyKeySet: set(verifyKey),
  });
}

/** Each setting's parsed value, or its default, nested as the tree is. */
function valuesOf(tree: SettingTree, parsed: Record<string, unknown>, context: DefaultContext) {
  const values: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(tree)) {
    if (!isSetting(node)) values[key] = valuesOf(node, parsed, context);
    else values[key] = parsed[node.variable] ?? defaultOf(node, context);
  }
  return values;
}

/** Parses and checks the whole configuration once; throws ConfigError listing every problem. */
export function createConfig(env: Env = process.env): Config {
  const parsed = envSchema.safeParse(env);
  const problems: ConfigProblem[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? 'environment');
      const message =
        issue.code === 'invalid_type' && issue.input === undefined && !issue.message.startsWith('is required')
          ? 'is required.'
          : issue.message;
      problems.push({ variable, message });
    }
  }
  const appEnv = APP_ENVS.find((e) => e === env.APP_ENV);
  const flagResult = appEnv ? resolveFlags(appEnv, env) : undefined;
  problems.push(...(flagResult?.problems ?? []));
  if (appEnv) problems.push(...crossChecks(appEnv, env, problems));
  if (appEnv && flagResult) problems.push(...keyChecks(appEnv, env, flagResult, problems));
  if (!parsed.success || !appEnv || !flagResult || problems.length > 0) throw new ConfigError(problems);

  const raw = parsed.data as Record<string, unknown>;
  const adminIds = raw[coreSettings.adminIds.variable] as readonly number[];
  const values = valuesOf(SETTINGS, raw, { appEnv, environment: ENVIRONMENTS[appEnv], adminIds });
  const settings = values as Shape<typeof SETTINGS>;

  const warnings = [...flagResult.warnings];
  const dbPassword = urlPassword(settings.databaseUrl);
  if (dbPassword && PLACEHOLDER.test(dbPassword)) {
    warnings.push(
      'DATABASE_URL has a placeholder password: put the real one in the untracked .env.<env>.local file.',
    );
  }
  return {
    ...settings,
    isStaging: appEnv === 'staging',
    databaseName: databaseNameOf(settings.databaseUrl),
    flags: Object.fromEntries(flagResult.flags.map((f) => [f.key, f.enabled])) as unknown as FeatureFlags,
    flagDetails: flagResult.flags,
    warnings,
  };
}
