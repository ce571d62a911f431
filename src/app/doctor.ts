import type Docker from 'dockerode';
import { type AppEnv, otherEnv } from '../config/environments.js';
import type { Config } from '../config/index.js';
import type { ExpectedFailures } from '../doctor/audit.js';
import type { RulesSource } from '../doctor/checks/anonymise-rules.js';
import type { SettingsFallback } from '../doctor/facts.js';
import type { Forge } from '../forge/forge.js';
import type { ForgeSetupReport } from '../forge/setup-check.js';
import { RULES_FILE } from '../refresh/rules-file.js';
import type { PublishedStatus } from '../status/status-report.js';
import { readStatus } from '../store/instance-registry.js';
import type { Redis } from '../store/redis.js';

/** The audit's 13 modules, loaded by the first /doctor (no first reply needs them). */
const loadAudit = async () => {
  const [{ runAudit }, { settingsFromConfig }] = await Promise.all([
    import('../doctor/audit.js'),
    import('../doctor/facts.js'),
  ]);
  return { runAudit, settingsFromConfig };
};

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
    /** Whose preview containers to audit (previewNames' namespace: the sandbox's, a test's); default a real lugh's. */
    previewNamespace?: string;
    /** `lugh github check` with this instance's token (githubCheckOf). */
    github?: () => Promise<ForgeSetupReport>;
    /** Reads lugh.anonymise.yml at production's running commit (the anonymise-rules check). */
    forge?: Forge;
  },
) {
  return {
    ...(parts.github ? { github: parts.github } : {}),
    run: async () => {
      const { runAudit, settingsFromConfig } = await loadAudit();
      return runAudit({
        docker: await parts.docker(),
        runtime: config.deploy.runtime,
        containers: {
          [config.appEnv]: config.deploy.containerName,
          // The other instance publishes the name of the container it runs in.
          [otherEnv(config.appEnv)]: (
            await readStatus<PublishedStatus>(parts.redis, parts.otherPrefix).catch(() => undefined)
          )?.container,
        },
        settings: parts.settings,
        expected: parts.expected,
        previewNamespace: parts.previewNamespace,
        ...(parts.forge ? { anonymiseRules: rulesThrough(parts.forge) } : {}),
        fallback: (env) =>
          env === config.appEnv ? { settings: settingsFromConfig(config), from: 'this instance' } : undefined,
      });
    },
  };
}

/** lugh.anonymise.yml at a commit through the forge; at main's head when production's commit is unknown. */
export function rulesThrough(forge: Forge): RulesSource {
  return async (sha) => {
    const at = sha ?? (await forge.branchSha('main'));
    return {
      text: await forge.repoFile(at, RULES_FILE),
      from: `${RULES_FILE} at ${at.slice(0, 7)}${sha ? '' : " (main's head: production's commit is unknown)"}`,
    };
  };
}

/**
 * The audit as `lugh doctor` runs it on the Docker host: each environment's settings from
 * its container, or from `fallback` (the env files) when the container is missing. On Swarm
 * (`runtime`), from its service, with the settings it reads from secrets taken from `fallback`.
 */
export function auditHost(
  containers: Partial<Record<AppEnv, string>>,
  fallback: SettingsFallback,
  runtime: 'docker' | 'swarm' = 'docker',
  anonymiseRules?: RulesSource,
) {
  return Promise.all([import('dockerode'), loadAudit()]).then(([m, { runAudit }]) =>
    runAudit({
      docker: new m.default(),
      containers,
      fallback,
      runtime,
      ...(anonymiseRules ? { anonymiseRules } : {}),
    }),
  );
}
