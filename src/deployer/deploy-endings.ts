/**
 * How a deploy run ends when it does not succeed: what a failed step means (its outcome,
 * the environment put back), the order in which a failed deployment is finished, and the
 * chat told again of a row finished by a run that was killed before it could say so.
 */
import type { Logger } from '../logger.js';
import type { Deployment, DeploymentStore } from '../store/deployments.js';
import type { DeployNotifier, DeployOutcome, DeployStep } from './deploy-notifier.js';
import {
  DeployFailureWithLog,
  describeDockerError,
  EngineUnreachableError,
  isEngineUnreachable,
  RolledBackError,
} from './errors.js';
import type { SourceOfCommits } from './source-of-commits.js';
import type { StepContext } from './steps/step.js';

export interface Failure {
  readonly status: 'failed' | 'rolled_back';
  readonly step: DeployStep;
  readonly sha?: string;
  readonly message: string;
  readonly logTail?: readonly string[];
}

type GitHubState = 'in_progress' | 'success' | 'failure' | 'error';
export type Report = (d: Deployment, state: GitHubState, text: string) => Promise<void>;

/** Tells GitHub how a deploy goes, when a GitHub Deployment asked for it; never fails the deploy. */
export function reporter(source: SourceOfCommits, log: Logger): Report {
  return async (d, state, text) => {
    if (!d.githubDeploymentId || !source.setDeploymentStatus) return;
    await source
      .setDeploymentStatus(d.githubDeploymentId, state, text)
      .catch((error: unknown) => log.warn({ err: error, deploymentId: d.id }, 'could not report to GitHub'));
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
export async function failureOf(
  log: Logger,
  ctx: StepContext,
  step: DeployStep,
  error: unknown,
): Promise<Failure> {
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
export async function announceAgain(
  notifier: DeployNotifier,
  d: Deployment,
): Promise<DeployOutcome | 'cancelled'> {
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
export async function endFailed(
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
