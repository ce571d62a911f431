import type { CreateConfigOptions } from '../config/create-config.js';
import { type Config, ConfigError, createConfig, ENV_FILE_NAMES, secretsSeen } from '../config/index.js';
import { createLogger, type Logger } from '../logger.js';

import { EXIT_CONFIG } from './exit-codes.js';

export { EXIT_CONFIG, usageError } from './exit-codes.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The options `lugh` accepts; each command reads the ones it documents. */
export interface CliOptions {
  readonly port?: string;
  readonly dir?: string;
  readonly repo?: string;
  readonly 'staging-container'?: string;
  readonly 'production-container'?: string;
  /** `lugh doctor --runtime swarm`: audit the Swarm services. */
  readonly runtime?: string;
  /** `lugh config|doctor --anonymise-rules FILE`: a local lugh.anonymise.yml to check. */
  readonly 'anonymise-rules'?: string;
}

export interface CliArgs {
  /** What follows the command's name. */
  readonly args: readonly string[];
  readonly options: CliOptions;
  /** The process environment over the env files given with --env / --env-path. */
  readonly env: Env;
}

/** One `lugh <name>` command: `usage` is its lines of `lugh --help`. */
export interface CliCommand {
  readonly name: string;
  readonly usage: string;
  run(cli: CliArgs): Promise<void>;
}

/** The env file of each environment, read by `--env` and by `lugh doctor`'s fallback. */
export const ENV_FILES = ENV_FILE_NAMES;

/** The configuration, or every problem printed (each naming its variable) and exit 2. */
export function readConfig(env: Env, options?: CreateConfigOptions): Config {
  try {
    return createConfig(env, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`lugh: the configuration has ${error.problems.length} problem(s):\n`);
    for (const p of error.problems) process.stderr.write(`  ✗ ${p.variable} ${p.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}

/** The instance's logger: its level, every secret it can see redacted, every line marked with its environment. */
export function loggerFor(config: Config): Logger {
  return createLogger({ level: config.logLevel, secrets: secretsSeen(config), base: { env: config.appEnv } });
}
