// Builds a complete, valid environment for one lugh instance on the test servers.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Config, createConfig } from '../../src/config/index.js';
import { generatePromoteKeys } from '../../src/config/promote-keys.js';
import { FAKE_TOKEN } from './lugh-process.js';
import { redisUrl } from './services.js';

export const ADMIN_ID = 1001;
export const STRANGER_ID = 2002;
/** The promotion key pair of the tests' instances: staging signs with it, production verifies. */
export const PROMOTE_KEYS = generatePromoteKeys();

export interface InstanceEnvOptions {
  readonly appEnv?: 'staging' | 'production';
  readonly databaseUrl: string;
  readonly apiRoot: string;
  readonly token?: string;
  readonly port?: number;
  /** Sub-prefix under the environment's Redis prefix; unique per test by default. */
  readonly redisSub?: string;
  readonly extra?: Record<string, string>;
  /** The test Redis by default; benchmarks (outside vitest) pass their own. */
  readonly redisUrl?: string;
}

export function instanceEnv(options: InstanceEnvOptions): Record<string, string> {
  const appEnv = options.appEnv ?? 'staging';
  const own = appEnv === 'staging' ? 'staging' : 'prod';
  const home = mkdtempSync(path.join(tmpdir(), 'lugh-home-'));
  return {
    APP_ENV: appEnv,
    TELEGRAM_BOT_TOKEN: options.token ?? FAKE_TOKEN,
    TELEGRAM_API_ROOT: options.apiRoot,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl ?? redisUrl(),
    REDIS_PREFIX: `${own}:${options.redisSub ?? randomUUID().slice(0, 8)}`,
    LUGH_HOME: path.join(home, `.lugh-${own}`),
    PORT: String(options.port ?? 0),
    ADMIN_IDS: String(ADMIN_ID),
    LOG_LEVEL: 'debug',
    ...(appEnv === 'staging'
      ? { PROMOTE_SIGNING_KEY: PROMOTE_KEYS.signingKey }
      : { PROMOTE_VERIFY_KEY: PROMOTE_KEYS.verifyKey }),
    ...options.extra,
  };
}

export function instanceConfig(options: InstanceEnvOptions): Config {
  return createConfig(instanceEnv(options));
}
