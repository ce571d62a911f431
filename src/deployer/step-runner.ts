import type { AppEnv } from '../config/environments.js';
import type { Logger } from '../logger.js';
import { type Deployment, type DeploymentStore, isFinished } from '../store/deployments.js';
import { deployLockName, deploymentOwner, type LockStore } from '../store/locks.js';
import { createDeploymentLock, type DeploymentLock } from './deploy-lock.js';
import type { DeployNotifier, DeployOutcome, DeployStep } from './deploy-notifier.js';
import {
  DeployFailureWithLog,
  describeDockerError,
  EngineUnreachableError,
  isEngineUnreachable,
  RolledBackError,
} from './errors.js';
import { type Failpoints, noFailpoints } from './failpoints.js';
import type { ImageBuilder } from './image-builder.js';
import type { ImageLedger } from './image-ledger.js';
import type { Runtime } from './runtime/runtime.js';
import type { SourceOfCommits } from './source-of-commits.js';
import { DEPLOY_PLAN } from './steps/deploy-steps.js';
import { replacedOf } from './steps/start.js';
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
  /** How long a deployment holds the lock without renewing it (each step renews it). */
  readonly lockTtlMs?: number;
  /** The steps, in order; the deploy's own list unless a test says otherwise. */
  readonly steps?: readonly Step[];
  /** Where fault tests pause a deploy to kill it (`failpoints.ts`); none by default. */
  readonly failpoints?: Failpoints;
}

interface Failure {
  readonly status: 'failed' | 'rolled_back';
  readonly step: DeployStep;
  readonly sha?: string;
  readonly message: string;
  readonly logTail?: readonly string[];
}

type GitHubState = 'in_progress' | 'success' | 'failure' | 'error';
type Report = (d: Deployment, state: GitHubState, text: string) => Promise<void>;

/** Tells GitHub how a deploy goes, when a GitHub Deployment asked for it; never fails the deploy. */
function reporter(source: SourceOfCommits, log: Logger): Report {
  return async (d, state, text) => {
    if (!d.githubDeploymentId || !source.setDeploymentStatus) return;
    await source
      .setDeploymentStatus(d.githubDeploymentId, state, text)
      .catch((error: unknown) => log.warn({ err: error, deploymentId: d.id }, 'could not report to GitHub'));
  };
}

function settingsOf(deps: StepRunnerDeps): StepSettings {
  return {
    backup: deps.backup,
    buildArgs: deps.buildArgs,
    healthDeadlineMs: deps.healthDeadlineMs ?? 120_000,
    verifyMs: deps.verifyMs ?? 30_000,
    migrateTimeoutMs: deps.migrateTimeoutMs ?? 300_000,
    keepImages: deps.keepImages ?? 5,
  };
}

/**
 * The steps during which the app may be stopped or half-switched (and a resumed run, whose
 * convergence comes first): an engine that stops answering there must not end the deploy.
 * Before them the app was not touched, and a deploy fails at once, saying the engine is
 * unreachable (a socket that is not mounted must not make the runner try again and again).
 */
const APP_AT_STAKE: ReadonlySet<DeployStep> = new Set(['switch', 'verify']);
const appAtStake = (ctx: StepContext, step: DeployStep) => ctx.reattached || APP_AT_STAKE.has(step);

/**
 * What a failed step means: its outcome, and the environment put back if a step left it
 * half-switched. Rejects with EngineUnreachableError, undoing nothing, when the step or
 * its undo met an engine that does not answer while the app is at stake: that is no
 * outcome (see runClaimed).
 */
async function failureOf(log: Logger, ctx: StepContext, step: DeployStep, error: unknown): Promise<Failure> {
  const atStake = appAtStake(ctx, step);
  if (atStake && isEngineUnreachable(error)) throw new EngineUnreachableError(error);
  const logTail = error instanceof DeployFailureWithLog ? error.logTail : undefined;
  const message = error instanceof DeployFailureWithLog ? error.message : describeDockerError(error);
  log.warn({ err: error, deploymentId: ctx.deployment.id, step }, 'deploy failed');
  const undone = await ctx.undo?.().catch((undoError: unknown) => {
    if (atStake && isEngineUnreachable(undoError)) throw new EngineUnreachableError(undoError);
    return `it could not be put back: ${describeDockerError(undoError)}`;
  });
  ctx.undo = undefined;
  return {
    status: error instanceof RolledBackError ? 'rolled_back' : 'failed',
    step,
    sha: ctx.sha,
    message: undone ? `${message}; ${undone}` : message,
    logTail,
  };
}

/** Killed after the row was finished but maybe before the chat heard: say it now (once, the notifier sees to it). */
async function announceAgain(notifier: DeployNotifier, d: Deployment): Promise<DeployOutcome | 'cancelled'> {
  if (d.status !== 'cancelled') {
    const sha = d.sha ?? undefined;
    await notifier.finished(d.id, d.env, {
      status: d.status as DeployOutcome,
      sha,
      step: (d.step as DeployStep | null) ?? undefined,
      message: d.error ?? `${d.env} runs ${sha?.slice(0, 7)}`,
    });
  }
  return d.status as DeployOutcome | 'cancelled';
}

/**
 * How every failed deployment ends, in this order: its step failed, the row finished,
 * GitHub told, the lock freed (whoever reads the result may /lock or deploy at once),
 * then the chat told.
 */
async function endFailed(
  to: { deployments: DeploymentStore; notifier: DeployNotifier; report: Report },
  d: Deployment,
  failure: Failure,
  releaseLock: () => Promise<void>,
): Promise<void> {
  const { status, step, sha, message, logTail } = failure;
  await to.deployments.stepFinished(d.id, step, 'failed', message);
  await to.deployments.finish(d.id, { status, sha, error: message });
  await to.report(d, status === 'rolled_back' ? 'failure' : 'error', message);
  await releaseLock();
  await to.notifier.finished(d.id, d.env, { status, sha, step, message, logTail });
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

type StepRecords = ReadonlyMap<string, { status: string; detail: string | null }>;

/**
 * Puts the environment of an interrupted deployment back to one running app container:
 * the new version if its switch was verified (it passed its gates), else the container
 * the switch replaced (recorded by the start step), even if the new one runs.
 */
async function convergeAfterCrash(
  runtime: Runtime,
  containerName: string,
  recorded: StepRecords,
): Promise<{ converged?: string; verified: boolean }> {
  const verified = recorded.get('verify')?.status === 'succeeded';
  const replaced = verified ? undefined : replacedOf(recorded.get('start')?.detail);
  const converged = await runtime.converge(containerName, replaced && { replacedId: replaced.id });
  return { converged, verified };
}

const recordsOf = async (deployments: DeploymentStore, id: number): Promise<StepRecords> =>
  new Map((await deployments.steps(id)).map((r) => [r.step, r]));

/**
 * What is left of a deployment's steps. A fresh run runs them all. A run resumed after a
 * crash first puts the environment back to one running app container, then skips the
 * leading steps an earlier run finished whose work still stands (the commit, the image,
 * the backup, the migration, and the switch once verified), and runs the rest: it never
 * starts over.
 */
async function stepsToRun(steps: readonly Step[], ctx: StepContext): Promise<readonly Step[]> {
  if (!ctx.reattached) return steps;
  const id = ctx.deployment.id;
  const recorded = await recordsOf(ctx.deployments, id);
  const { converged, verified } = await convergeAfterCrash(ctx.runtime, ctx.containerName, recorded);
  if (converged) ctx.log.warn({ deploymentId: id, converged }, 'converged after an interrupted deploy');
  ctx.switchVerified = verified;
  let resumeAt = 0;
  for (const step of steps) {
    const r = recorded.get(step.name);
    const finished = r?.status === 'succeeded' || r?.status === 'skipped';
    if (!finished || !step.restore?.(ctx, r.detail)) break;
    resumeAt++;
  }
  if (resumeAt > 0)
    ctx.log.info({ deploymentId: id, step: steps[resumeAt]?.name }, 'resuming an interrupted deploy');
  return steps.slice(resumeAt);
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
): Promise<void> {
  const { deployments } = ctx;
  const id = ctx.deployment.id;
  for (const step of await stepsToRun(steps, ctx)) {
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

  const contextOf = (deployment: Deployment, lock: DeploymentLock): StepContext => ({
    deployment,
    env: deployment.env,
    containerName: deps.containerName(deployment.env),
    reattached: deployment.status === 'running',
    runtime: deps.runtime,
    builder: deps.builder,
    images: deps.images,
    source: deps.source,
    deployments,
    settings,
    log,
    holdLock: lock.renew,
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
      // A job BullMQ took for stalled may still run in a worker that only paused (a
      // blocked event loop, a Redis partition): the claim keeps it to one run at a time.
      const claim = await claimRun(deployments, deploymentId);
      if (!claim) {
        log.warn({ deploymentId }, 'another run of this deployment is under way');
        return 'running_elsewhere';
      }
      try {
        return await runClaimed(deploymentId);
      } finally {
        await claim.release();
      }
    },

    /**
     * Ends a deployment whose runner died and will not be tried again, as run()'s own
     * failure path would, once the environment is back to one running app container.
     * Does nothing while a run of it is under way.
     */
    async abandon(deploymentId: number, why: string, logTail?: readonly string[]): Promise<void> {
      const claim = await claimRun(deployments, deploymentId);
      if (!claim) return;
      try {
        await abandonClaimed(deploymentId, why, logTail);
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
      await runSteps(steps, ctx, lock, notifier, at, failpoints);
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
  ): Promise<void> {
    const d = await deployments.get(deploymentId);
    if (!d || isFinished(d.status)) return;
    const recorded = await recordsOf(deployments, deploymentId);
    const put = await convergeAfterCrash(deps.runtime, deps.containerName(d.env), recorded).then(
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
  }
}

export type StepRunner = ReturnType<typeof createStepRunner>;
