export { type Config, ConfigError, type ConfigProblem, createConfig } from './create-config.js';
export { describeConfig } from './describe-config.js';
export { isPlaceholder } from './placeholder.js';
export { secretsOf, secretsOfEnv } from './secrets.js';
