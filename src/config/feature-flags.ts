import type { AppEnv } from './environments.js';

export type Maturity = 'experimental' | 'beta' | 'stable';

export interface FlagDefinition {
  readonly description: string;
  readonly maturity: Maturity;
  readonly defaults: Readonly<Record<AppEnv, boolean>>;
  readonly dependsOn: readonly string[];
  /** The default is on in `env` only while `variable` is set (e.g. previews: PREVIEW_URL_TEMPLATE). */
  readonly onWhenSet?: { readonly env: AppEnv; readonly variable: string };
  /** The only environment that may run it: FEATURE_<KEY>=true elsewhere is a configuration problem. */
  readonly onlyIn?: AppEnv;
}

/**
 * Every feature flag lugh knows. `FEATURE_<KEY>` (upper case) overrides the default;
 * any other `FEATURE_*` variable is a configuration problem, so a typo cannot silently
 * switch a safeguard off.
 */
export const FLAGS = {
  promote: {
    description: '/promote: open the develop → main pull request and deploy production',
    maturity: 'stable',
    defaults: { staging: true, production: true },
    dependsOn: [],
  },
  release_tags: {
    description: 'tag vX.Y.Z and publish a GitHub Release when a promotion merges',
    maturity: 'beta',
    defaults: { staging: true, production: false },
    dependsOn: ['promote'],
  },
  two_person_rule: {
    description: 'a second admin must approve a promotion; the requester cannot',
    maturity: 'beta',
    defaults: { staging: false, production: false },
    dependsOn: ['promote'],
  },
  deploy_on_push: {
    description: 'a push to the environment’s branch deploys it',
    maturity: 'experimental',
    defaults: { staging: true, production: false },
    dependsOn: [],
  },
  previews: {
    description: 'a running preview per pull request into develop, torn down when it closes (staging only)',
    maturity: 'experimental',
    // On for staging while PREVIEW_URL_TEMPLATE is set; production never runs previews.
    defaults: { staging: false, production: false },
    dependsOn: [],
    onWhenSet: { env: 'staging', variable: 'PREVIEW_URL_TEMPLATE' },
    onlyIn: 'staging',
  },
  staging_refresh: {
    description:
      '/refresh staging: production hands staging an anonymised copy of its database (both environments must turn it on)',
    maturity: 'experimental',
    defaults: { staging: false, production: false },
    dependsOn: [],
  },
} as const satisfies Record<string, FlagDefinition>;

export type FlagKey = keyof typeof FLAGS;
export type FeatureFlags = Readonly<Record<FlagKey, boolean>>;

export interface ResolvedFlag {
  readonly key: FlagKey;
  readonly enabled: boolean;
  /** Where the value came from: the environment's default or a FEATURE_* variable. */
  readonly source: 'default' | 'env';
  /** Set when the flag was asked for but a flag it depends on is off. */
  readonly disabledBy?: FlagKey;
  /** The setting a default follows (FlagDefinition.onWhenSet), when it does. */
  readonly defaultFrom?: string;
}

export interface FlagProblem {
  readonly variable: string;
  readonly message: string;
}

const TRUE_WORDS = new Set(['1', 'true', 'on', 'yes']);
const FALSE_WORDS = new Set(['0', 'false', 'off', 'no']);

export const flagKeys = Object.keys(FLAGS) as FlagKey[];

export function flagVariable(key: FlagKey): string {
  return `FEATURE_${key.toUpperCase()}`;
}

/** Resolves every flag for one environment from its defaults and the FEATURE_* variables. */
export function resolveFlags(
  appEnv: AppEnv,
  env: Readonly<Record<string, string | undefined>>,
): { flags: ResolvedFlag[]; problems: FlagProblem[]; warnings: string[] } {
  const problems: FlagProblem[] = [];
  const warnings: string[] = [];
  const known = new Set(flagKeys.map(flagVariable));

  for (const variable of Object.keys(env)) {
    if (variable.startsWith('FEATURE_') && !known.has(variable)) {
      problems.push({
        variable,
        message: `is not a known feature flag; known flags are ${[...known].join(', ')}. Fix the name or remove it.`,
      });
    }
  }

  const requested = new Map<FlagKey, { value: boolean; source: 'default' | 'env' }>();
  const defaultFrom = new Map<FlagKey, string>();
  const defaultOf = (key: FlagKey): boolean => {
    const def: FlagDefinition = FLAGS[key];
    if (def.onWhenSet?.env !== appEnv) return def.defaults[appEnv];
    defaultFrom.set(key, def.onWhenSet.variable);
    return Boolean(env[def.onWhenSet.variable]?.trim());
  };
  for (const key of flagKeys) {
    const variable = flagVariable(key);
    const raw = env[variable]?.trim().toLowerCase();
    if (raw === undefined || raw === '') {
      requested.set(key, { value: defaultOf(key), source: 'default' });
    } else if (TRUE_WORDS.has(raw)) {
      requested.set(key, { value: true, source: 'env' });
    } else if (FALSE_WORDS.has(raw)) {
      requested.set(key, { value: false, source: 'env' });
    } else {
      problems.push({ variable, message: `must be true or false (also 1/0, on/off, yes/no), got "${raw}".` });
      requested.set(key, { value: defaultOf(key), source: 'default' });
    }
    const onlyIn = (FLAGS[key] as FlagDefinition).onlyIn;
    if (onlyIn && onlyIn !== appEnv && requested.get(key)?.value) {
      problems.push({
        variable,
        message: `is on, but only ${onlyIn} runs ${key}: APP_ENV=${appEnv} never does. Remove ${variable} (or set it to false) in ${appEnv}'s env file.`,
      });
      requested.set(key, { value: false, source: 'env' });
    }
  }

  // Resolved in dependency order, so a chain of dependencies switches off as a whole.
  const resolved = new Map<FlagKey, ResolvedFlag>();
  const resolve = (key: FlagKey): ResolvedFlag => {
    const done = resolved.get(key);
    if (done) return done;
    const { value, source } = requested.get(key)!;
    const deps = FLAGS[key].dependsOn as readonly FlagKey[];
    const off = value ? deps.find((dep) => !resolve(dep).enabled) : undefined;
    const from = source === 'default' ? defaultFrom.get(key) : undefined;
    let flag: ResolvedFlag = { key, enabled: value, source, ...(from ? { defaultFrom: from } : {}) };
    if (off !== undefined) {
      warnings.push(`${flagVariable(key)} is off because ${flagVariable(off)}, which it depends on, is off.`);
      flag = { ...flag, enabled: false, disabledBy: off };
    }
    resolved.set(key, flag);
    return flag;
  };
  const flags = flagKeys.map(resolve);
  return { flags, problems, warnings };
}
