// The audit on Swarm (DEPLOY_RUNTIME=swarm): the same properties as on Docker, checked on
// the two app services' specs. A check that reads a setting the service takes from a Docker
// secret, when no env file here has its value, is skipped with why (never passed).
import type { AppEnv } from '../../../config/environments.js';
import { anonymiseRulesCheck } from '../anonymise-rules.js';
import { type Check, skipped } from '../check.js';
import { databaseNameCheck, roleCheck } from '../database.js';
import { promoteKeysCheck } from '../promote-keys.js';
import { refreshSetupCheck } from '../refresh-setup.js';
import { botTokenCheck, deployContainerCheck, flagsCheck, homeCheck, redisPrefixCheck } from '../settings.js';
import { swarmDatabasePortCheck } from './database.js';
import { swarmIdentityChecks } from './identity.js';
import { swarmNetworkCheck, swarmPortsCheck } from './network.js';
import { swarmPriorityCheck, swarmResourcesCheck } from './resources.js';
import { swarmSecretsCheck } from './secrets.js';

/** `check`, skipped when a setting it compares is in a secret the audit could not read. */
function readable(
  check: Check,
  keys: readonly string[],
  envs: readonly AppEnv[] = ['staging', 'production'],
): Check {
  return {
    ...check,
    async run(s, p, docker) {
      const unread = [s, p]
        .filter((f) => envs.includes(f.env))
        .flatMap((f) =>
          keys.flatMap((k) =>
            f.service?.unread[k] ? [`${f.env}'s ${k} comes from ${f.service.unread[k]}`] : [],
          ),
        );
      if (unread.length)
        return skipped(
          `${unread.join('; ')}: Swarm does not give secret values out, and no env file here has it (run lugh doctor --dir <the directory of .env.staging and .env.prod> on a manager to compare them); the secrets check holds the two stacks' secrets apart`,
        );
      return check.run(s, p, docker);
    },
  };
}

const servicesSkipped: Check = {
  id: 'services',
  title: 'Every service of each set is isolated as its app is',
  async run() {
    return skipped(
      "service sets (lugh.yml containers labelled lugh.set) are the Docker runtime's; on Swarm each environment is its stack, whose app service the checks above audit",
    );
  },
};

/** In the order they run and print. */
export const SWARM_CHECKS: readonly Check[] = [
  swarmNetworkCheck,
  swarmPortsCheck,
  readable(swarmDatabasePortCheck, ['DATABASE_URL'], ['production']),
  readable(databaseNameCheck, ['DATABASE_URL']),
  readable(roleCheck('skipped'), ['DATABASE_URL']),
  redisPrefixCheck,
  homeCheck,
  deployContainerCheck,
  readable(botTokenCheck, ['TELEGRAM_BOT_TOKEN']),
  swarmSecretsCheck,
  swarmResourcesCheck,
  swarmPriorityCheck,
  servicesSkipped,
  ...swarmIdentityChecks,
  flagsCheck,
  readable(promoteKeysCheck, ['PROMOTE_SIGNING_KEY', 'PROMOTE_VERIFY_KEY']),
  // Reads production's DATABASE_URL only where staging_refresh is on there (skipped when a secret hides it).
  anonymiseRulesCheck(undefined),
  // The keys held in Docker secrets count as set; the shared REFRESH_DIR is read from the services' mounts.
  refreshSetupCheck,
];
