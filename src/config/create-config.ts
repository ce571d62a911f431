import { coreSettings, expandHome } from './core.js';
import { deploySettings } from './deploy.js';
import { APP_ENVS, type AppEnv, ENVIRONMENTS, otherEnv } from './environments.js';
import { type FeatureFlags, type ResolvedFlag, resolveFlags } from './feature-flags.js';
import { containerProblem, databaseRolesOf, homeProblem, roleProblem } from './ownership.js';
import { PLACEHOLDER } from './placeholder.js';
import { type OtherEnvironment, previewProblems, previewWarnings } from './preview-checks.js';
import { promoteSettings } from './promote.js';
import { promoteKeyProblems } from './promote-keys.js';
import { urlPassword } from './schemas.js';
import { readSecretFiles } from './secret-files.js';
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
  /** The secrets read from `<X>_FILE`: variable → the file's path (`lugh config` says so). */
  readonly secretFiles: Readonly<Record<string, string>>;
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
  const context: DefaultContext = {
    appEnv,
    environment: ENVIRONMENTS[appEnv],
    adminIds: [],
    runtime: runtimeOf(env),
  };
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

/** DEPLOY_RUNTIME as given (the defaults of what it changes follow it); `docker` unless `swarm`. */
const runtimeOf = (env: Env): DefaultContext['runtime'] =>
  env[deploySettings.deploy.runtime.variable]?.trim() === 'swarm' ? 'swarm' : 'docker';

/**
 * With a registry, its login comes whole (a user and a password, or neither); a user
 * without a registry has nothing to log in to.
 */
function registryProblems(env: Env): ConfigProblem[] {
  const { registry, registryUsername, registryPassword } = deploySettings.deploy;
  const set = (s: Setting) => Boolean(env[s.variable]?.trim());
  const needs = (missing: Setting, given: Setting, why = '') =>
    set(given) && !set(missing)
      ? [{ variable: missing.variable, message: `is required with ${given.variable}${why}.` }]
      : [];
  if (!set(registry)) return needs(registry, registryUsername, ': the registry to log in to');
  return [...needs(registryPassword, registryUsername), ...needs(registryUsername, registryPassword)];
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

export interface CreateConfigOptions {
  /** The other environment's settings (its env file), where known: checks by value (previews). */
  readonly other?: OtherEnvironment;
}

/**
 * Parses and checks the whole configuration once; throws ConfigError listing every problem.
 * A secret X may come from the file `<X>_FILE` names (a Docker secret), never from both.
 */
export function createConfig(rawEnv: Env = process.env, options: CreateConfigOptions = {}): Config {
  const files = readSecretFiles(rawEnv);
  const env: Env = files.env;
  const parsed = envSchema.safeParse(env);
  const problems: ConfigProblem[] = [...files.problems];
  // A file that cannot be read is its problem; that X is then missing is not another one.
  const unread = new Set(
    files.problems.flatMap((p) => (p.variable.endsWith('_FILE') ? [p.variable.slice(0, -5)] : [])),
  );
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? 'environment');
      if (unread.has(variable)) continue;
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
  problems.push(...registryProblems(env));
  if (appEnv && flagResult) problems.push(...keyChecks(appEnv, env, flagResult, problems));
  if (appEnv && flagResult)
    problems.push(
      ...previewProblems({
        appEnv,
        env,
        previewsOn: flagResult.flags.some((f) => f.key === 'previews' && f.enabled),
        invalid: new Set(problems.map((p) => p.variable)),
        other: options.other,
      }),
    );
  if (!parsed.success || !appEnv || !flagResult || problems.length > 0) throw new ConfigError(problems);

  const raw = parsed.data as Record<string, unknown>;
  const adminIds = raw[coreSettings.adminIds.variable] as readonly number[];
  const values = valuesOf(SETTINGS, raw, {
    appEnv,
    environment: ENVIRONMENTS[appEnv],
    adminIds,
    runtime: raw[deploySettings.deploy.runtime.variable] as DefaultContext['runtime'],
  });
  const settings = values as Shape<typeof SETTINGS>;

  const warnings = [...flagResult.warnings, ...previewWarnings(appEnv, env)];
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
    secretFiles: files.fromFiles,
  };
}
