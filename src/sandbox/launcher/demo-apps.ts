import type Docker from 'dockerode';
import { type AppEnv, ENVIRONMENTS } from '../../config/environments.js';
import { removeRepositoryTags } from '../../deployer/docker-helpers.js';
import { createImageBuilder } from '../../deployer/image-builder.js';
import type { Forge } from '../../forge/forge.js';
import type { Logger } from '../../logger.js';
import { sandboxPreviewNamespace } from './sandbox-previews.js';

/** The Docker names of one sandbox run: never those of a real lugh. */
export function sandboxDockerNames(id: string) {
  return {
    repository: `lugh-sandbox-${id}`,
    container: (env: AppEnv) => `lugh-sandbox-${id}-${ENVIRONMENTS[env].marker}-app`,
    network: (env: AppEnv) => `lugh-sandbox-${id}-${ENVIRONMENTS[env].marker}-net`,
  };
}

/** As docker-compose.*.yml sets them: production has priority (see /doctor). */
const LIMITS: Record<AppEnv, { NanoCpus: number; Memory: number; CpuShares: number; OomScoreAdj: number }> = {
  staging: { NanoCpus: 0.5e9, Memory: 384 * 2 ** 20, CpuShares: 256, OomScoreAdj: 500 },
  production: { NanoCpus: 1.5e9, Memory: 768 * 2 ** 20, CpuShares: 1024, OomScoreAdj: 0 },
};

/**
 * The app containers the sandbox's two instances deploy: the seeded repository's main,
 * built once and run as each environment's container, so /deploy and a promotion's
 * production deploy go all the way on this machine. Removed by `removeSandboxApps`.
 * Returns false when the sandbox began stopping first.
 */
export async function startSandboxApps(options: {
  docker: Docker;
  forge: Forge;
  id: string;
  mainSha: string;
  baseImage?: string;
  logger: Logger;
  /** True once the sandbox is stopping: nothing more is created. */
  cancelled: () => boolean;
}): Promise<boolean> {
  const { docker, id } = options;
  const names = sandboxDockerNames(id);
  const builder = createImageBuilder({ docker, logger: options.logger, repository: names.repository });
  for (const env of ['staging', 'production'] as const) {
    if (options.cancelled()) return false;
    const image = await builder.ensure({
      env,
      sha: options.mainSha,
      tarball: () => options.forge.tarball(options.mainSha),
      buildArgs: options.baseImage ? { BASE_IMAGE: options.baseImage } : undefined,
    });
    // Each on its own network with the compose files' limits, as the real containers are.
    await docker.createNetwork({ Name: names.network(env), Labels: { 'lugh.sandbox': id } });
    const container = await docker.createContainer({
      name: names.container(env),
      Image: image.tag,
      Env: [`APP_ENV=${env}`, `GIT_SHA=${options.mainSha}`],
      Labels: { 'lugh.sandbox': id },
      HostConfig: { NetworkMode: names.network(env), ...LIMITS[env] },
    });
    await container.start();
  }
  return true;
}

/**
 * Removes every container, network and image one sandbox run made: the demo app containers
 * and all a deploy made of them — their `-previous`, and a set's replicas and services
 * (`…-app-2`, `…-app-worker-1`), named after the app container (they do not carry its
 * lugh.sandbox label: a set's containers leave lugh's labels of the app behind) — and its
 * previews (`lugh-sandbox-<id>-preview-pr-<n>`, their networks labelled with the run's
 * preview namespace, their images in the run's repository).
 */
export async function removeSandboxApps(docker: Docker, id: string): Promise<void> {
  const names = sandboxDockerNames(id);
  const containers = await docker.listContainers({ all: true, filters: { name: [`^/lugh-sandbox-${id}-`] } });
  for (const c of containers)
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  const networks = [
    ...(await docker.listNetworks({ filters: { label: [`lugh.sandbox=${id}`] } })),
    ...(await docker.listNetworks({ filters: { label: [`lugh.preview=${sandboxPreviewNamespace(id)}`] } })),
  ];
  for (const network of networks)
    await docker
      .getNetwork(network.Id)
      .remove()
      .catch(() => {});
  await removeRepositoryTags(docker, names.repository);
}
