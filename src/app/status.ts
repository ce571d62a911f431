import type Docker from 'dockerode';
import { ENVIRONMENTS, otherEnv } from '../config/environments.js';
import type { Config } from '../config/index.js';
import { createContainerFacts } from '../deployer/container-facts.js';
import { findContainer } from '../deployer/docker-helpers.js';
import { SWARM_APP_SERVICE } from '../doctor/swarm-facts.js';
import type { Forge } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import type { Previews } from '../previews/preview.js';
import { desiredReplicas } from '../status/service-status.js';
import { ownStatus, type PublishedStatus } from '../status/status-report.js';
import { createStatusService } from '../status/status-service.js';
import { createUsageSampler, type UsageSampler } from '../status/usage-sampler.js';
import { createVersionLookup } from '../status/version-lookup.js';
import { createWebhookLog } from '../status/webhook-log.js';
import { inProgress } from '../store/deployments.js';
import { publishStatus, readStatus } from '../store/instance-registry.js';
import { deployLockName } from '../store/locks.js';
import type { PromotionStore } from '../store/promotions.js';
import { keyspace, type Redis } from '../store/redis.js';
import type { DeployParts } from './deploy-parts.js';
import type { Health } from './health.js';
import { setContainers } from './service-containers.js';
import { readSwarmService } from './swarm-services.js';

/** How often an instance publishes its status for the other one's /status. */
const STATUS_PUBLISH_MS = 10_000;

/** This instance's own status (health, lock, deploy under way, last deploy), and its publisher. */
export function buildSelfStatus(
  config: Config,
  logger: Logger,
  parts: {
    startedAt: Date;
    health: Health;
    redis: Redis;
    deploys: Pick<DeployParts, 'locks' | 'deployments'>;
  },
) {
  const { locks, deployments } = parts.deploys;
  const read = async () => {
    const [report, lock, unfinished, [last], running, set] = await Promise.all([
      parts.health(),
      locks.held(deployLockName(config.appEnv)),
      deployments.unfinished(config.appEnv),
      deployments.recent(config.appEnv, 1),
      deployments.runningSha(config.appEnv),
      // The set the running release deployed (lugh.yml): how many replicas of each /status expects.
      deployments
        .releases(config.appEnv, 1)
        .then(async ([r]) => (r ? desiredReplicas(await deployments.servicesOf(r.id)) : undefined))
        .catch(() => undefined),
    ]);
    return ownStatus({
      env: config.appEnv,
      // What the environment runs: its last successful deploy, else this build (see createRunningVersion).
      gitSha: running ?? config.build.gitSha,
      startedAt: parts.startedAt,
      container: config.deploy.containerName,
      health: report,
      lock,
      deploying: unfinished.find((d) => d.status === 'running'),
      last: last && !inProgress(last.status) ? last : undefined,
      set,
    });
  };
  const publish = async () => {
    try {
      await publishStatus(parts.redis, config.redisPrefix, await read());
    } catch (error) {
      logger.debug({ err: error }, 'could not publish the status');
    }
  };
  let timer: NodeJS.Timeout | undefined;
  return {
    read,
    publish,
    /** Keeps the published status current for the other instance's /status. */
    startPublishing: () => {
      timer ??= setInterval(() => void publish(), STATUS_PUBLISH_MS).unref();
    },
    stopPublishing: () => clearInterval(timer),
  };
}

export type SelfStatus = ReturnType<typeof buildSelfStatus>;

/**
 * CPU and memory of both app containers, sampled in the background (started and stopped
 * with the instance), so /status reads a figure instead of waiting for Docker's stats.
 */
export function buildUsageSampler(
  config: Config,
  parts: { docker: () => Promise<Docker>; redis: Redis; otherPrefix: string },
): UsageSampler {
  // Made on the first sample (dockerode is loaded then, after start-up).
  let made: Promise<ReturnType<typeof createContainerFacts>> | undefined;
  const facts = () => (made ??= parts.docker().then(createContainerFacts));
  const other = otherEnv(config.appEnv);
  return createUsageSampler({
    targets: async () => {
      // On Swarm the app is a service whose tasks may run on other nodes: no container to sample.
      if (config.deploy.runtime === 'swarm') return [];
      const published = await readStatus<PublishedStatus>(parts.redis, parts.otherPrefix).catch(
        () => undefined,
      );
      return [config.deploy.containerName, published?.container ?? ENVIRONMENTS[other].appContainer];
    },
    sample: async (name) => {
      const { name: _, state, health, ...usage } = await (await facts())(name);
      return state === 'running' ? usage : undefined;
    },
  });
}

/** A container's state and Docker's health check, without stats (the sampler has those). */
function containerState(docker: () => Promise<Docker>) {
  return async (name: string) => {
    const info = await findContainer(await docker(), name);
    if (!info) throw new Error(`there is no container ${name}`);
    return { name, state: info.State.Status, health: info.State.Health?.Status };
  };
}

/** What /status reads besides the configuration. */
export interface StatusParts {
  readonly self: SelfStatus;
  readonly usage: UsageSampler;
  readonly redis: Redis;
  readonly otherPrefix: string;
  /** The Docker client, made on first use (dockerode is not loaded before updates are taken). */
  readonly docker: () => Promise<Docker>;
  readonly forge?: Forge;
  readonly promotions: PromotionStore;
  /** Admins this bot cannot write to yet (chat-reach.ts). */
  readonly unreachableAdmins?: () => readonly number[] | undefined;
  /** The preview service (staging with the flag `previews` on): /status counts its previews. */
  readonly previews?: Previews;
}

/** /status: this instance's own status, the other's published one, Docker, GitHub and the promotion. */
export function buildStatusService(config: Config, parts: StatusParts) {
  return createStatusService({
    env: config.appEnv,
    own: () => parts.self.read(),
    ownContainer: config.deploy.containerName,
    ownSha: config.build.gitSha,
    other: () => readStatus<PublishedStatus>(parts.redis, parts.otherPrefix),
    container: containerState(parts.docker),
    setContainers: async (app) => setContainers(await parts.docker(), app),
    ...(config.deploy.runtime === 'swarm'
      ? {
          swarmService: async (name: string) => readSwarmService(await parts.docker(), name),
          otherDefault: SWARM_APP_SERVICE[otherEnv(config.appEnv)],
        }
      : {}),
    usage: (name) => parts.usage.latest(name),
    version: parts.forge ? createVersionLookup(parts.forge) : undefined,
    github: parts.forge,
    promotion: config.isStaging ? () => parts.promotions.inFlight() : undefined,
    unreachableAdmins: parts.unreachableAdmins,
    previews: parts.previews ? () => parts.previews!.counts() : undefined,
    webhooks: config.github.webhookSecret
      ? () => createWebhookLog(parts.redis, keyspace(config.redisPrefix)).read()
      : undefined,
  });
}
