import type { AppEnv } from '../config/environments.js';
import type { Logger } from '../logger.js';
import type { Deployment, DeploymentStore } from '../store/deployments.js';
import type { Runtime } from './runtime/runtime.js';

const FULL_SHA = /^[0-9a-f]{40}$/;

/**
 * When lugh first starts on a server, the app container runs a version lugh never deployed:
 * its commit (GIT_SHA, else the labels, see `runtime.runningSha`) is recorded as the
 * environment's first release, so /rollback can go back to it after lugh's first deploy.
 * Nothing is recorded once the environment has a release, nor when the commit is unknown
 * (logged, with what makes it known).
 */
export async function recordFirstRelease(deps: {
  runtime: Pick<Runtime, 'runningSha'>;
  deployments: Pick<DeploymentStore, 'recordFirstRelease'>;
  env: AppEnv;
  containerName: string;
  logger: Logger;
}): Promise<Deployment | undefined> {
  const { env, containerName, logger } = deps;
  const sha = await deps.runtime.runningSha(containerName);
  if (!sha || !FULL_SHA.test(sha)) {
    logger.info(
      { container: containerName, env },
      `the commit ${containerName} runs is unknown (no GIT_SHA, COMMIT_SHA or org.opencontainers.image.revision label with a full SHA, or no such container): the version before lugh's first deploy of ${env} cannot be offered by /rollback`,
    );
    return undefined;
  }
  const recorded = await deps.deployments.recordFirstRelease(env, sha);
  if (recorded)
    logger.info(
      { deploymentId: recorded.id, sha, env },
      `recorded ${sha.slice(0, 7)}, running in ${containerName}, as ${env}'s first release (/rollback can go back to it)`,
    );
  return recorded;
}
