/** The two environments lugh runs as, and the names that belong to each. */
export const APP_ENVS = ['staging', 'production'] as const;
export type AppEnv = (typeof APP_ENVS)[number];

export interface EnvironmentIdentity {
  /** The Redis prefix every key of this environment lives under. */
  readonly redisPrefix: string;
  /** A marker that names of this environment's resources carry (database, LUGH_HOME, …). */
  readonly marker: string;
  readonly defaultDisplayName: string;
  readonly defaultPort: number;
  readonly defaultHomeDir: string;
}

export const ENVIRONMENTS: Readonly<Record<AppEnv, EnvironmentIdentity>> = {
  staging: {
    redisPrefix: 'staging',
    marker: 'staging',
    defaultDisplayName: 'Lugh Dev',
    defaultPort: 3001,
    defaultHomeDir: '~/.lugh-staging',
  },
  production: {
    redisPrefix: 'prod',
    marker: 'prod',
    defaultDisplayName: 'Lugh',
    defaultPort: 3000,
    defaultHomeDir: '~/.lugh-prod',
  },
};

export function otherEnv(env: AppEnv): AppEnv {
  return env === 'staging' ? 'production' : 'staging';
}
