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
  /** The app container its compose project runs (container_name in docker-compose.*.yml). */
  readonly appContainer: string;
  /**
   * Its app's Swarm service as its stack names it (`docker stack deploy … lugh-<marker>` of
   * the compose file's `<marker>-app`; deploy/swarm/*.yml), with DEPLOY_RUNTIME=swarm.
   */
  readonly swarmService: string;
  /** The branch it runs: pushes to it deploy it (FEATURE_DEPLOY_ON_PUSH). */
  readonly branch: string;
}

export const ENVIRONMENTS: Readonly<Record<AppEnv, EnvironmentIdentity>> = {
  staging: {
    redisPrefix: 'staging',
    marker: 'staging',
    defaultDisplayName: 'Lugh Dev',
    defaultPort: 3001,
    defaultHomeDir: '~/.lugh-staging',
    appContainer: 'lugh-staging-app',
    swarmService: 'lugh-staging_staging-app',
    branch: 'develop',
  },
  production: {
    redisPrefix: 'prod',
    marker: 'prod',
    defaultDisplayName: 'Lugh',
    defaultPort: 3000,
    defaultHomeDir: '~/.lugh-prod',
    appContainer: 'lugh-prod-app',
    swarmService: 'lugh-prod_prod-app',
    branch: 'main',
  },
};

export function otherEnv(env: AppEnv): AppEnv {
  return env === 'staging' ? 'production' : 'staging';
}
