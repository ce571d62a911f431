import { hostname } from 'node:os';
import path from 'node:path';
import type { Queue } from 'bullmq';
import type Docker from 'dockerode';
import { ENVIRONMENTS } from '../config/environments.js';
import type { Config } from '../config/index.js';
import type { Forge } from '../forge/forge.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AuditLog } from '../store/audit-log.js';
import { type DeploymentStore, inProgress, isFinished } from '../store/deployments.js';
import type { LockStore } from '../store/locks.js';
import { closeRedis, type Redis } from '../store/redis.js';
import { backupDatabase } from './backup.js';
import { countDeployEnded, deployCountClaim } from './deploy-metrics.js';
import type { DeployNotifier } from './deploy-notifier.js';
import { createDeploySweeper, DEPLOY_SWEEP_MS } from './deploy-sweeper.js';
import { createDeployWorker } from './deploy-worker.js';
import { findContainer, nameOf } from './docker-helpers.js';
import { createFailpoints } from './failpoints.js';
import { recordFirstRelease } from './first-release.js';
import { createImageBuilder } from './image-builder.js';
import type { ImageLedger } from './image-ledger.js';
import { createDeployIntake, type HandoffRefusal } from './intake.js';
import { createHaproxyProxy } from './proxy/haproxy-proxy.js';
import { type DeployJobData, enqueueDeploy } from './queue.js';
import { createImageRegistry } from './registry/image-registry.js';
import { createRunResumer } from './run-resumer.js';
import { createRunnerLauncher, type RunnerLauncher } from './runner-container.js';
import { createRuntime } from './runtime/create-runtime.js';
import { SET_LABEL } from './service-set.js';
import type { SourceOfCommits } from './source-of-commits.js';
import { createStepRunner, type StepRunner } from './step-runner.js';
import type { StepSettings } from './steps/step.js';

export interface DeployEngineDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly docker: Docker;
  readonly redis: Redis;
  readonly queue: Queue<DeployJobData>;
  readonly deployments: DeploymentStore;
  readonly locks: LockStore;
  /** Absent without GITHUB_TOKEN/GITHUB_REPO: deploys then fail at resolve, saying so. */
  readonly forge?: Forge;
  readonly notifier: DeployNotifier;
  /** Which image each environment ran per build key (production reuses staging's). */
  readonly images?: ImageLedger;
  /** Where refused handoffs are recorded and announced (see intake.ts). */
  readonly audit?: AuditLog;
  readonly announceRefusal?: (refusal: HandoffRefusal) => Promise<void>;
  /** Groups that became supergroups (old id → new id), for the chats a handoff may name. */
  readonly movedChats?: () => Promise<ReadonlyMap<number, number>>;
  /** Where each ended deploy is counted (/metrics). */
  readonly metrics?: Pick<Metrics, 'deployFinished'>;
}

const noGitHub: SourceOfCommits = {
  branchSha: () => Promise.reject(new Error('GitHub is not configured: set GITHUB_TOKEN and GITHUB_REPO')),
  commitTree: () => Promise.reject(new Error('GitHub is not configured: set GITHUB_TOKEN and GITHUB_REPO')),
  tarball: () => Promise.reject(new Error('GitHub is not configured: set GITHUB_TOKEN and GITHUB_REPO')),
  // Without GitHub no lugh.yml can be read: one service, as such a deploy always was (a
  // commit whose image was built before still deploys, e.g. a rollback).
  serviceFile: async () => undefined,
};

/** Production's `pg_dump -Fc` before migrating, or why there is none. */
function backupOf(config: Config): StepSettings['backup'] {
  const env = config.appEnv;
  if (env !== 'production') return `${env} is not backed up before a deploy`;
  if (config.deploy.backup === 'off') return 'DEPLOY_BACKUP=off: production is not backed up';
  return async (sha) => {
    const dump = await backupDatabase(
      {
        databaseUrl: config.databaseUrl,
        dir: path.join(config.home, 'backups'),
        keep: config.deploy.keepBackups,
      },
      { env, sha },
    );
    return `${path.basename(dump.file)} (${Math.ceil(dump.bytes / 1024)} KiB)`;
  };
}

/**
 * The app container this process runs in (`host`: its hostname, Docker's short id), when a
 * deploy would replace it.
 */
export async function ownAppContainer(
  docker: Docker,
  target: string,
  host = hostname(),
): Promise<Docker.ContainerInspectInfo | undefined> {
  const me = await findContainer(docker, host).catch(() => undefined);
  const myName = me && nameOf(me);
  // In a service set lugh may be any container a deploy switches (app replica 2, a worker):
  // labelled a member of the target's set, as an app container (not a pre-flight or a runner).
  const labels = me?.Config.Labels ?? {};
  const member = labels[SET_LABEL] === target && labels['lugh.role'] === 'app';
  return me && (myName === target || myName === `${target}-previous` || member) ? me : undefined;
}

/**
 * Runs a deployment in its runner container (started, or re-attached to after a crash)
 * and waits for it. A runner that dies without finishing the row gets one more try,
 * which converges first; after that the deployment is abandoned.
 */
async function runInRunnerContainer(
  parts: { launcher: RunnerLauncher; runner: StepRunner; deployments: DeploymentStore },
  deploymentId: number,
  self: Docker.ContainerInspectInfo,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const { exitCode, logTail } = await parts.launcher.run(deploymentId, self, async () => {
      const d = await parts.deployments.get(deploymentId);
      return d !== undefined && inProgress(d.status);
    });
    const d = await parts.deployments.get(deploymentId);
    if (!d || !inProgress(d.status)) return d?.status ?? 'missing';
    if (attempt >= 2) {
      await parts.runner.abandon(
        deploymentId,
        `the deploy runner stopped twice without finishing (exit code ${exitCode})`,
        logTail,
      );
      return 'failed';
    }
  }
}

/**
 * The deploy engine, the deployer's public facade: one instance's runner, worker, intake
 * and container logs, built from its config. It deploys its own environment only. Jobs come from its chat
 * (/deploy), pushes to its branch and GitHub Deployments handed to it (a promotion on
 * staging hands production its deploy that way).
 */
export function createDeployEngine(deps: DeployEngineDeps) {
  const { config, logger, docker, deployments, queue } = deps;
  const env = config.appEnv;
  // Inert unless a fault test sets LUGH_FAILPOINTS.
  const failpoints = createFailpoints(config.deploy.failpoints);
  const proxyAdminUrl = config.deploy.proxyAdminUrl;
  const proxy = proxyAdminUrl ? createHaproxyProxy({ adminUrl: proxyAdminUrl }) : undefined;
  // With a registry each build is pushed once and deployed by digest (both runtimes run it).
  const registry = config.deploy.registry
    ? createImageRegistry({
        docker,
        logger,
        registry: config.deploy.registry,
        imageRepository: config.deploy.imageRepository,
        username: config.deploy.registryUsername,
        password: config.deploy.registryPassword,
      })
    : undefined;
  const runtime = createRuntime({
    kind: config.deploy.runtime,
    docker,
    logger,
    failpoints,
    proxy,
    // Swarm's nodes pull the digest with the registry's credentials (X-Registry-Auth).
    registryAuth: registry?.auth,
  });
  const builder = createImageBuilder({ docker, logger, repository: config.deploy.imageRepository });
  const enqueue = (id: number) => enqueueDeploy(queue, id);
  const runner = createStepRunner({
    env,
    logger,
    deployments,
    locks: deps.locks,
    source: deps.forge ?? noGitHub,
    builder,
    images: deps.images,
    registry,
    runtime,
    notifier: deps.notifier,
    containerName: () => config.deploy.containerName,
    backup: backupOf(config),
    buildArgs: config.deploy.baseImage ? { BASE_IMAGE: config.deploy.baseImage } : undefined,
    healthDeadlineMs: config.deploy.healthDeadlineMs,
    verifyMs: config.deploy.verifyMs,
    keepImages: config.deploy.keepImages,
    proxied: proxy !== undefined,
    failpoints,
  });
  const intake = deps.forge
    ? createDeployIntake({
        env,
        logger,
        source: deps.forge,
        deployments,
        enqueue,
        handoff: {
          verifyKey: config.promote.verifyKey,
          adminIds: config.adminIds,
          chatIds: [config.notify.chatId, ...config.promote.allowedChatIds],
          branch: ENVIRONMENTS.production.branch,
          movedChats: deps.movedChats,
        },
        audit: deps.audit,
        announceRefusal: deps.announceRefusal,
        pushBranch: config.flags.deploy_on_push ? ENVIRONMENTS[env].branch : undefined,
      })
    : undefined;

  const launcher = createRunnerLauncher({ docker, logger, containerName: config.deploy.containerName });
  /** The app container this process runs in, when a deploy would replace it. */
  let self: Docker.ContainerInspectInfo | undefined;

  /** A job: run the deployment here, or in a runner container when this process would be replaced. */
  const counting = deps.metrics && {
    deployments,
    metrics: deps.metrics,
    claim: deployCountClaim(deps.redis, config.redisPrefix),
    logger,
  };
  const handle = async (deploymentId: number): Promise<string> => {
    try {
      return self
        ? await runInRunnerContainer({ launcher, runner, deployments }, deploymentId, self)
        : await runner.run(deploymentId);
    } finally {
      // Once per environment, by the first job that sees it ended (deploy-metrics.ts).
      if (counting) await countDeployEnded(counting, deploymentId);
    }
  };

  const sweeper = createDeploySweeper({
    env,
    queue,
    deployments,
    abandon: (id, why) => runner.abandon(id, why),
    counted: counting && ((id) => countDeployEnded(counting, id, 'abandoned')),
    logger,
  });
  /** Runner containers whose launcher died after they ended; running or restarting ones are left alone. */
  const removeLeftoverRunners = () =>
    launcher.removeLeftovers(async (id) => {
      const d = await deployments.get(id);
      return !d || isFinished(d.status);
    });

  // On Swarm a deploy runs in the task its update replaces: the next task resumes it at once.
  const resumesInPlace = config.deploy.runtime === 'swarm';
  const resumer = createRunResumer({ env, deployments, run: (id) => runner.run(id), logger });

  let worker: ReturnType<typeof createDeployWorker> | undefined;
  let workerConnection: Redis | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  const log = logger.child({ component: 'deploy-engine' });

  return {
    runner,
    intake,
    enqueue,
    logs: (lines: number) => runtime.logs(config.deploy.containerName, lines),

    /**
     * Takes jobs, re-queues deployments left without a live job (a crash, a job BullMQ gave
     * up on) now and every minute while it lives, and polls GitHub for Deployments handed
     * to this environment.
     */
    async start(): Promise<void> {
      // A pre-flight container is removed once its health is known; a runner runs one deploy.
      if (worker || config.deploy.role !== 'app') return;
      await sweeper.sweep();
      await recordFirstRelease({
        runtime,
        deployments,
        env: config.appEnv,
        containerName: config.deploy.containerName,
        logger: log,
      }).catch((error: unknown) => log.warn({ err: error }, 'could not record the release running now'));
      const leftovers = () =>
        removeLeftoverRunners().catch((error: unknown) =>
          log.warn({ err: error }, 'could not look for leftover runner containers'),
        );
      await leftovers();
      const sweep = () =>
        Promise.all([
          sweeper.sweep().catch((error: unknown) => log.warn({ err: error }, 'could not sweep deployments')),
          leftovers(),
        ]);
      sweepTimer = setInterval(sweep, DEPLOY_SWEEP_MS);
      sweepTimer.unref();
      // On Swarm no runner container is used, even when lugh deploys its own service: Swarm
      // starts the new task beside this one (start-first) and stops this one only once the
      // new one is healthy; the new lugh reconciles whatever this one left unfinished.
      self =
        config.deploy.runtime === 'swarm'
          ? undefined
          : await ownAppContainer(docker, config.deploy.containerName);
      if (self) log.info({ container: nameOf(self) }, 'deploys of this container run in runner containers');
      workerConnection = deps.redis.duplicate();
      worker = createDeployWorker(workerConnection, config.redisPrefix, { run: handle }, logger);
      if (resumesInPlace)
        void resumer
          .resume()
          .catch((error: unknown) => log.warn({ err: error }, 'could not resume interrupted deployments'));
      if (intake) {
        const tick = () =>
          intake
            .poll()
            .catch((error: unknown) => log.warn({ err: error }, 'could not poll GitHub deployments'));
        void tick();
        pollTimer = setInterval(tick, config.promote.pollIntervalMs);
        pollTimer.unref();
      }
      log.info(
        'deploy engine started: it takes deploy jobs and looks every minute for deployments left without one',
      );
    },

    /**
     * Stops taking jobs. A deploy in flight here is finished first (BullMQ waits for it);
     * one that runs in a runner container is not waited for: the runner outlives this
     * process (it is what stops it, in a self-deploy) and the next worker re-attaches to it,
     * so waiting only held the old bot's exit, and with it the new bot's first update.
     * On Swarm a deploy in flight here is left at once (`runner.leave`): this task is most
     * likely the one its update replaces, and the next task resumes it.
     */
    async stop(): Promise<void> {
      clearInterval(pollTimer);
      clearInterval(sweepTimer);
      resumer.stop();
      if (resumesInPlace) await runner.leave();
      await worker?.close(self !== undefined || resumesInPlace);
      if (workerConnection) await closeRedis(workerConnection);
    },
  };
}

export type DeployEngine = ReturnType<typeof createDeployEngine>;
