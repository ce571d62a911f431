import type Docker from 'dockerode';
import { type AppEnv, otherEnv } from '../config/environments.js';
import type { Config } from '../config/index.js';
import { type ExpectedFailures, runAudit } from '../doctor/audit.js';
import { type SettingsFallback, settingsFromConfig } from '../doctor/facts.js';
import type { ForgeSetupReport } from '../forge/setup-check.js';
import type { PublishedStatus } from '../status/status-report.js';
import { readStatus } from '../store/instance-registry.js';
import type { Redis } from '../store/redis.js';

/** /doctor: the isolation audit, with the other instance's container as it publishes it. */
export function buildDoctor(
  config: Config,
  parts: {
    /** Made on first use: dockerode is loaded by the first /doctor, not at start-up. */
    docker: () => Promise<Docker>;
    redis: Redis;
    otherPrefix: string;
    settings?: SettingsFallback;
    expected?: ExpectedFailures;
    /** `lugh github check` with this instance's token (githubCheckOf). */
    github?: () => Promise<ForgeSetupReport>;
  },
) {
  return {
    ...(parts.github ? { github: parts.github } : {}),
    run: async () =>
      runAudit({
        docker: await parts.docker(),
        containers: {
          [config.appEnv]: config.deploy.containerName,
          // The other instance publishes the name of the container it runs in.
          [otherEnv(config.appEnv)]: (
            await readStatus<PublishedStatus>(parts.redis, parts.otherPrefix).catch(() => undefined)
          )?.container,
        },
        settings: parts.settings,
        expected: parts.expected,
        fallback: (env) =>
          env === config.appEnv ? { settings: settingsFromConfig(config), from: 'this instance' } : undefined,
      }),
  };
}

/**
 * The audit as `lugh doctor` runs it on the Docker host: each environment's settings from
 * its container, or from `fallback` (the env files) when the container is missing.
 */
export function auditHost(containers: Partial<Record<AppEnv, string>>, fallback: SettingsFallback) {
  return import('dockerode').then((m) => runAudit({ docker: new m.default(), containers, fallback }));
}
