import type { AppEnv } from '../config/environments.js';
import type { Logger } from '../logger.js';
import { type Deployment, type DeploymentStore, isFinished } from '../store/deployments.js';
import { deployLockName, deploymentOwner, type LockStore } from '../store/locks.js';
import { announceAgain, endFailed, type Failure, failureOf, reporter } from './deploy-endings.js';
import { createDeploymentLock, type DeploymentLock } from './deploy-lock.js';
import type { DeployNotifier, DeployOutcome, DeployStep } from './deploy-notifier.js';
import { describeDockerError, EngineUnreachableError, LeftToNextRunError } from './errors.js';
import { type Failpoints, noFailpoints } from './failpoints.js';
import type { ImageBuilder } from './image-builder.js';
import type { ImageLedger } from './image-ledger.js';
import type { ImageRegistry } from './registry/image-registry.js';
import { convergeAfterCrash, recordsOf, stepsToRun } from './resume-after-crash.js';
import type { Runtime } from './runtime/runtime.js';
import type { SourceOfCommits } from './source-of-commits.js';
import { DEPLOY_PLAN } from './steps/deploy-steps.js';
import { found, type Step, type StepContext, type StepSettings } from './steps/step.js';

export interface StepRunnerDeps {
  /** The environment this instance deploys; a deployment of another is refused. */
  readonly env: AppEnv;
  readonly logger: Logger;
  readonly deployments: DeploymentStore;
  readonly locks: LockStore;
  readonly source: SourceOfCommits;
  readonly builder: ImageBuilder;
  /** Which image each environment ran per build key (production reuses staging's). */
  readonly images?: ImageLedger;
  /** DEPLOY_REGISTRY: each build pushed there and deployed by digest; absent: local tags. */
  readonly registry?: ImageRegistry;
  readonly runtime: Runtime;
  readonly notifier: DeployNotifier;
  /** The app container of each environment. */
  readonly containerName: (env: AppEnv) => string;
  /** Production: `pg_dump -Fc` before migrating; a string is why there is none (recorded as skipped). */
  readonly backup: StepSettings['backup'];
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly healthDeadlineMs?: number;
  readonly verifyMs?: number;
  readonly migrateTimeoutMs?: number;
  /** Images of the environment kept by cleanup (the running and previous ones included). */
  readonly keepImages?: number;
  /** A proxy fronts the app (DEPLOY_PROXY_ADMIN_URL). */
  readonly proxied?: boolean;
  /** How long a deployment holds the lock without renewing it (each step renews it). */
  readonly lockTtlMs?: number;
  /** The steps, in order; the deploy's own list unless a test says otherwise. */
  readonly steps?: readonly Step[];
  /** Where fault tests pause a deploy to kill it (`failpoints.ts`); none by default. */
  readonly failpoints?: Failpoints;
}

function settingsOf(deps: StepRunnerDeps): StepSettings {
  return {
    backup: deps.backup,
    buildArgs: deps.buildArgs,
    healthDeadlineMs: deps.healthDeadlineMs ?? 120_000,
    verifyMs: deps.verifyMs ?? 30_000,
    migrateTimeoutMs: deps.migrateTimeoutMs ?? 300_000,
    keepImages: deps.keepImages ?? 5,
    proxied: deps.proxied ?? false,
  };
}

const CLAIM_TRIES = 20;
const CLAIM_RETRY_MS = 500;

/**
 * Claims a deployment's run, asking again for a few seconds: the claim of a run whose
 * process was just killed is freed once Postgres sees its connection close.
 */
async function claimRun(deployments: DeploymentStore, deploymentId: number) {
  for (let i = 1; ; i++) {
    const claim = await deployments.claimRun(deploymentId);
    if (claim || i >= CLAIM_TRIES) return claim;
    await new Promise((resolve) => setTimeout(resolve, CLAIM_RETRY_MS));
  }
}

/**
 * The steps in order, each renewing the lock, recorded as it starts and ends, and
 * announced as it starts; `at.step` is the step reached, for the failure that may follow.
 */
async function runSteps(
  steps: readonly Step[],
  ctx: StepContext,
  lock: DeploymentLock,
  notifier: DeployNotifier,
  at: { step: DeployStep },
  failpoints: Failpoints,
  left: () => boolean,
): Promise<void> {
  const { deployments } = ctx;
  const id = ctx.deployment.id;
  for (const step of await stepsToRun(steps, ctx)) {
    if (left()) throw new LeftToNextRunError();
    const skip = step.skipWhy?.(ctx);
    if (skip !== undefined) {
      await deployments.stepFinished(id, step.name, 'skipped', skip);
      continue;
    }
    at.step = step.name;
    await lock.renew();
    await deployments.stepStarted(id, step.name);
    await notifier.step(id, ctx.env, step.name);
    await failpoints.reach(`step:${step.name}`);
    const result = await step.run(ctx);
    await deployments.stepFinished(id, step.name, result.status, result.detail);
  }
}

/**
 * The step runner: runs one deployment row through its named steps, each renewing the
 * environment's deploy lock, recorded in Postgres and announced as it starts. Running a
 * row again (a retried job after a crash) first puts the environment back to one running
 * app container, then deploys again; a finished row is left as it is.
 */
export function createStepRunner(deps: StepRunnerDeps) {
  const log = deps.logger.child({ component: 'deploy' });
  const { deployments, notifier, locks } = deps;
  const steps = deps.steps ?? DEPLOY_PLAN;
  const settings = settingsOf(deps);
  const report = reporter(deps.source, log);
  const failpoints = deps.failpoints ?? noFailpoints;
  /** The claims of the runs under way here, and whether this process left them (`leave`). */
  const claims = new Set<{ release(): Promise<void> }>();
  let leaving = false;
  const left = () => leaving;

  const contextOf = (deployment: Deployment, lock: DeploymentLock): StepContext => ({
    deployment,
    env: deployment.env,
    containerName: deps.containerName(deployment.env),
    reattached: deployment.status === 'running',
    runtime: deps.runtime,
    builder: deps.builder,
    images: deps.images,
    registry: deps.registry,
    source: deps.source,
    deployments,
    notifier,
    settings,
    log,
    // A step that asks to go on after its process left the run is stopped there (Swarm's
    // follow of an update asks between its polls): the next run resumes it.
    holdLock: async () => {
      if (leaving) throw new LeftToNextRunError();
      await lock.renew();
    },
    progress: async (detail) => {
      const step = (await deployments.get(deployment.id))?.step;
      if (!step) return;
      await deployments.stepProgress(deployment.id, step, detail);
      await notifier.progress?.(deployment.id, deployment.env);
    },
    reportToGitHub: (state, text) => report(deployment, state, text),
  });

  return {
    /**
     * Runs (or resumes) a deployment, unless another run of it is under way: that one
     * finishes it, and this one returns `running_elsewhere` at once.
     */
    async run(
      deploymentId: number,
    ): Promise<DeployOutcome | 'cancelled' | 'not_confirmed' | 'running_elsewhere'> {
      // A job taken in the moment this process is stopping is left for the next one too.
      if (leaving) throw new LeftToNextRunError();
      // A job BullMQ took for stalled may still run in a worker that only paused (a
      // blocked event loop, a Redis partition): the claim keeps it to one run at a time.
      const claim = await claimRun(deployments, deploymentId);
      if (!claim) {
        log.warn({ deploymentId }, 'another run of this deployment is under way');
        return 'running_elsewhere';
      }
      claims.add(claim);
      try {
        return await runClaimed(deploymentId);
      } finally {
        claims.delete(claim);
        await claim.release();
      }
    },

    /**
     * This process is stopping and a run here would not live to finish (on Swarm, the task
     * the update it follows replaces): its claims are let go at once, so that the next run
     * (the new task's) resumes the deployments now, and each run under way stops at its next
     * step or lock renewal, ending nothing and undoing nothing (LeftToNextRunError).
     */
    async leave(): Promise<void> {
      leaving = true;
      await Promise.all([...claims].map((claim) => claim.release()));
    },

    /**
     * Ends a deployment whose runner died and will not be tried again, as run()'s own
     * failure path would, once the environment is back to one running app container.
     * Does nothing while a run of it is under way. True when this call ended it.
     */
    async abandon(deploymentId: number, why: string, logTail?: readonly string[]): Promise<boolean> {
      const claim = await claimRun(deployments, deploymentId);
      if (!claim) return false;
      try {
        return await abandonClaimed(deploymentId, why, logTail);
      } finally {
        await claim.release();
      }
    },
  };

  async function runClaimed(deploymentId: number): Promise<DeployOutcome | 'cancelled' | 'not_confirmed'> {
    const deployment = await deployments.get(deploymentId);
    if (!deployment) throw new Error(`deployment #${deploymentId} does not exist`);
    if (isFinished(deployment.status)) {
      // Killed after finishing the row: the lock may still be held and the chat not told.
      await locks.release(deployLockName(deployment.env), deploymentOwner(deploymentId)).catch(() => {});
      return announceAgain(notifier, deployment);
    }
    if (deployment.status === 'awaiting_confirmation') return 'not_confirmed';
    const { env } = deployment;
    const lock = createDeploymentLock({
      locks,
      deployments,
      env,
      deploymentId,
      reason: `deploy #${deploymentId} of ${deployment.ref}`,
      ttlMs: deps.lockTtlMs ?? 30 * 60_000,
    });
    const ctx = contextOf(deployment, lock);
    const at: { step: DeployStep } = { step: 'resolve' };
    let resumeLater = false;
    try {
      if (env !== deps.env) {
        throw new Error(`deployment #${deploymentId} is for ${env}; only the ${env} instance deploys ${env}`);
      }
      await lock.take();
      await runSteps(steps, ctx, lock, notifier, at, failpoints, left);
      const sha = found(ctx.sha, 'commit');
      await failpoints.reach('record:after-finish');
      await lock.release();
      await notifier.finished(deploymentId, env, {
        status: 'succeeded',
        sha,
        message: `${env} runs ${sha.slice(0, 7)}`,
      });
      return 'succeeded';
    } catch (error) {
      if (leaving) {
        // Whatever failed once this process left the run (its claim, its pool going away) is
        // no outcome: the row stays running and the lock held for the run that resumes it.
        resumeLater = true;
        log.warn({ err: error, deploymentId, step: at.step }, 'stopping: the deploy is left to the next run');
        throw error instanceof LeftToNextRunError ? error : new LeftToNextRunError();
      }
      let failure: Failure;
      try {
        failure = await failureOf(log, ctx, at.step, error);
      } catch (unreachable) {
        if (!(unreachable instanceof EngineUnreachableError)) throw unreachable;
        // The engine went away (dockerd restarting) in the middle of the deploy, maybe with
        // the app stopped: finishing the row now would leave it down. The runner exits
        // instead, keeping the lock and the row running; Docker starts it again when the
        // engine is back (a container started again mounts the socket afresh, where a
        // dockerd that made a new one would leave this process talking to the old one for
        // good), and the resumed run converges and deploys on.
        resumeLater = true;
        log.warn(
          { err: unreachable.cause, deploymentId, step: at.step },
          'the Docker engine is unreachable: leaving the deploy to the restarted runner',
        );
        throw unreachable;
      }
      await endFailed({ deployments, notifier, report }, deployment, failure, lock.release);
      return failure.status;
    } finally {
      if (!resumeLater) await lock.release();
    }
  }

  async function abandonClaimed(
    deploymentId: number,
    why: string,
    logTail?: readonly string[],
  ): Promise<boolean> {
    const d = await deployments.get(deploymentId);
    if (!d || isFinished(d.status)) return false;
    const recorded = await recordsOf(deployments, deploymentId);
    const put = await convergeAfterCrash(
      deps.runtime,
      deps.containerName(d.env),
      recorded,
      deployments,
      deploymentId,
    ).then(
      () => 'the environment was put back to one running container',
      (error: unknown) =>
        `the environment could not be put back to one running container: ${describeDockerError(error)}`,
    );
    const step = (d.step as DeployStep | null) ?? 'resolve';
    const release = async () => {
      await locks.release(deployLockName(d.env), deploymentOwner(deploymentId)).catch(() => {});
    };
    const failure: Failure = { status: 'failed', step, message: `${why}; ${put}`, logTail };
    await endFailed({ deployments, notifier, report }, d, failure, release);
    return true;
  }
}

export type StepRunner = ReturnType<typeof createStepRunner>;
