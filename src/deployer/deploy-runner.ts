import type { AppEnv } from '../environments.js';
import type { Logger } from '../logger.js';
import type { DeploymentStore } from '../store/deployments.js';
import type { createContainerSwitch } from './container-switch.js';
import { DeployFailureWithLog, RolledBackError } from './errors.js';
import type { ImageBuilder } from './image-builder.js';

/** The named steps of a deploy, in order (DESIGN §4). */
export const DEPLOY_STEPS = [
  'resolve',
  'build',
  'backup',
  'migrate',
  'start',
  'health',
  'switch',
  'verify',
  'cleanup',
  'record',
] as const;
export type DeployStep = (typeof DEPLOY_STEPS)[number];

/** How the deployer reports, implemented by the bot (the deployer never imports it). */
export interface DeployNotifier {
  step(deploymentId: number, env: AppEnv, step: DeployStep): Promise<void>;
  finished(
    deploymentId: number,
    env: AppEnv,
    outcome: {
      status: 'succeeded' | 'failed' | 'rolled_back';
      sha?: string;
      message: string;
      logTail?: readonly string[];
    },
  ): Promise<void>;
}

/** What the runner needs from GitHub: a ref's commit and its source. */
export interface SourceOfCommits {
  branchSha(ref: string): Promise<string>;
  tarball(sha: string): Promise<Buffer>;
}

export interface DeployRunnerDeps {
  readonly logger: Logger;
  readonly deployments: DeploymentStore;
  readonly source: SourceOfCommits;
  readonly builder: ImageBuilder;
  readonly switcher: ReturnType<typeof createContainerSwitch>;
  readonly notifier: DeployNotifier;
  /** The app container of each environment. */
  readonly containerName: (env: AppEnv) => string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly healthDeadlineMs?: number;
  readonly verifyMs?: number;
}

const SHA = /^[0-9a-f]{40}$/;

/**
 * Runs one deployment row through its steps, recording each in Postgres and announcing it
 * as it starts. Steps this version does not do yet (backup, migrate, cleanup) are recorded
 * as skipped, so the history says so.
 */
export function createDeployRunner(deps: DeployRunnerDeps) {
  const log = deps.logger.child({ component: 'deploy' });
  const { deployments, notifier } = deps;

  return {
    async run(deploymentId: number): Promise<'succeeded' | 'failed' | 'rolled_back'> {
      const deployment = await deployments.get(deploymentId);
      if (!deployment) throw new Error(`deployment #${deploymentId} does not exist`);
      const env = deployment.env;
      let current: DeployStep = 'resolve';
      const begin = async (step: DeployStep) => {
        current = step;
        await deployments.stepStarted(deploymentId, step);
        await notifier.step(deploymentId, env, step);
      };
      const done = (step: DeployStep, detail?: string) =>
        deployments.stepFinished(deploymentId, step, 'succeeded', detail);
      const skip = (step: DeployStep, why: string) =>
        deployments.stepFinished(deploymentId, step, 'skipped', why);

      let sha: string | undefined;
      let phases: Promise<void> = Promise.resolve();
      try {
        await begin('resolve');
        sha =
          deployment.sha && SHA.test(deployment.sha)
            ? deployment.sha
            : await deps.source.branchSha(deployment.ref).catch((error: { status?: number }) => {
                if (error.status === 404)
                  throw new Error(`"${deployment.ref}" is not a branch of the repository`);
                throw error;
              });
        await done('resolve', sha);

        await begin('build');
        const image = await deps.builder.ensure({
          env,
          sha,
          tarball: () => deps.source.tarball(sha!),
          buildArgs: deps.buildArgs,
        });
        await done('build', `${image.tag}${image.reused ? ' (reused)' : ''}`);

        await skip('backup', 'not done by this version of the deployer');
        await skip('migrate', 'not done by this version of the deployer');

        await begin('start');
        await deps.switcher.switchTo({
          containerName: deps.containerName(env),
          image: image.tag,
          sha,
          healthDeadlineMs: deps.healthDeadlineMs ?? 120_000,
          verifyMs: deps.verifyMs ?? 30_000,
          onPhase: (phase) => {
            if (phase === 'health' || phase === 'switch' || phase === 'verify') {
              // Recorded in order, while the switch goes on.
              phases = phases.then(async () => {
                await done(current);
                await begin(phase);
              });
            }
          },
        });
        await phases;
        await done(current);
        await skip('cleanup', 'not done by this version of the deployer');

        await begin('record');
        await deployments.finish(deploymentId, { status: 'succeeded', sha });
        await done('record');
        await notifier.finished(deploymentId, env, {
          status: 'succeeded',
          sha,
          message: `${env} runs ${sha.slice(0, 7)}`,
        });
        return 'succeeded';
      } catch (error) {
        const rolledBack = error instanceof RolledBackError;
        const status = rolledBack ? 'rolled_back' : 'failed';
        const logTail = error instanceof DeployFailureWithLog ? error.logTail : undefined;
        const message = error instanceof Error ? error.message : String(error);
        await phases.catch(() => {});
        log.warn({ err: error, deploymentId, step: current }, 'deploy failed');
        await deployments.stepFinished(deploymentId, current, 'failed', message);
        await deployments.finish(deploymentId, { status, sha, error: message });
        await notifier.finished(deploymentId, env, { status, sha, message, logTail });
        return status;
      }
    },
  };
}

export type DeployRunner = ReturnType<typeof createDeployRunner>;

/** The app container of each environment, as the compose files name them. */
export function composeContainerName(env: AppEnv): string {
  return env === 'staging' ? 'lugh-staging-app' : 'lugh-prod-app';
}
