export { type Config, ConfigError, type ConfigProblem, createConfig } from './create-config.js';
export { describeConfig } from './describe-config.js';
export { ENV_FILE_NAMES } from './env-files.js';
export { isPlaceholder } from './placeholder.js';
export { secretsOf, secretsOfEnv, secretsOfEnvFiles, secretsSeen } from './secrets.js';
export { standInSender, TELEGRAM_STAND_IN_SENDERS } from './telegram-senders.js';
