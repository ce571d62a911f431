import type { AppEnv } from '../environments.js';
import type { Logger } from '../logger.js';
import { type Deployment, type DeploymentStore, isFinished } from '../store/deployments.js';
import { deployLockName, deploymentOfOwner, deploymentOwner, type LockStore } from '../store/locks.js';
import { DeployFailureWithLog, describeDockerError, LockedError, RolledBackError } from './errors.js';
import type { ImageBuilder } from './image-builder.js';
import type { createContainerSwitch } from './runtime/docker-runtime.js';

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

export type DeployOutcome = 'succeeded' | 'failed' | 'rolled_back';

/** How the deployer reports, implemented by the bot (the deployer never imports it). */
export interface DeployNotifier {
  /** A step started; the deployment and its steps are in Postgres already. */
  step(deploymentId: number, env: AppEnv, step: DeployStep): Promise<void>;
  finished(
    deploymentId: number,
    env: AppEnv,
    outcome: {
      status: DeployOutcome;
      sha?: string;
      /** The step that failed. */
      step?: DeployStep;
      message: string;
      logTail?: readonly string[];
    },
  ): Promise<void>;
}

/** What the runner needs from GitHub: a ref's commit, its source, and where to report. */
export interface SourceOfCommits {
  branchSha(ref: string): Promise<string>;
  tarball(sha: string): Promise<Buffer>;
  setDeploymentStatus?(
    githubDeploymentId: number,
    state: 'in_progress' | 'success' | 'failure' | 'error',
    description: string,
  ): Promise<void>;
}

export interface DeployRunnerDeps {
  /** The environment this instance deploys; a deployment of another is refused. */
  readonly env: AppEnv;
  readonly logger: Logger;
  readonly deployments: DeploymentStore;
  readonly locks: LockStore;
  readonly source: SourceOfCommits;
  readonly builder: ImageBuilder;
  readonly switcher: ReturnType<typeof createContainerSwitch>;
  readonly notifier: DeployNotifier;
  /** The app container of each environment. */
  readonly containerName: (env: AppEnv) => string;
  /** Production: `pg_dump -Fc` before migrating; a string is why there is none (recorded as skipped). */
  readonly backup: ((sha: string) => Promise<string>) | string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly healthDeadlineMs?: number;
  readonly verifyMs?: number;
  readonly migrateTimeoutMs?: number;
  /** Images of the environment kept by cleanup (the running and previous ones included). */
  readonly keepImages?: number;
  /** How long a deployment holds the lock without renewing it (each step renews it). */
  readonly lockTtlMs?: number;
}

const SHA = /^[0-9a-f]{40}$/;
const LOCK_WAIT_POLL_MS = 2_000;

/**
 * Runs one deployment row through its named steps, each recorded in Postgres and
 * announced as it starts, under the environment's deploy lock. Running a row again (a
 * retried job after a crash) first puts the environment back to one running app container,
 * then deploys again; a finished row is left as it is.
 */
export function createDeployRunner(deps: DeployRunnerDeps) {
  const log = deps.logger.child({ component: 'deploy' });
  const { deployments, notifier, locks } = deps;
  const lockTtlMs = deps.lockTtlMs ?? 30 * 60_000;

  const report = async (
    d: Deployment,
    state: 'in_progress' | 'success' | 'failure' | 'error',
    text: string,
  ) => {
    if (!d.githubDeploymentId || !deps.source.setDeploymentStatus) return;
    await deps.source
      .setDeploymentStatus(d.githubDeploymentId, state, text)
      .catch((error: unknown) => log.warn({ err: error, deploymentId: d.id }, 'could not report to GitHub'));
  };

  return {
    async run(deploymentId: number): Promise<DeployOutcome | 'cancelled' | 'not_confirmed'> {
      const deployment = await deployments.get(deploymentId);
      if (!deployment) throw new Error(`deployment #${deploymentId} does not exist`);
      if (isFinished(deployment.status)) {
        // Killed after the row was finished but maybe before the chat heard: say it now
        // (the notifier sends a deployment's final message once, however often asked).
        if (deployment.status !== 'cancelled') {
          const status = deployment.status as DeployOutcome;
          const sha = deployment.sha ?? undefined;
          await notifier.finished(deploymentId, deployment.env, {
            status,
            sha,
            step: (deployment.step as DeployStep | null) ?? undefined,
            message: deployment.error ?? `${deployment.env} runs ${sha?.slice(0, 7)}`,
          });
        }
        return deployment.status as DeployOutcome | 'cancelled';
      }
      if (deployment.status === 'awaiting_confirmation') return 'not_confirmed';
      const env = deployment.env;
      const containerName = deps.containerName(env);
      const owner = deploymentOwner(deploymentId);
      const lockName = deployLockName(env);
      const reattached = deployment.status === 'running';

      let current: DeployStep = 'resolve';
      const renewLock = async () => {
        const taken = await locks.acquire({
          name: lockName,
          owner,
          reason: `deploy #${deploymentId} of ${deployment.ref}`,
          ttlMs: lockTtlMs,
        });
        if (!taken.acquired) {
          const h = taken.holder;
          throw new LockedError(
            `${env} is locked by ${h.owner} (${h.reason}) until ${h.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC; /unlock ${env} frees it`,
          );
        }
      };
      /**
       * The first taking of the lock: a person's lock refuses the deploy; another
       * deployment's is waited for (deploys of one environment queue behind each other),
       * and one left by a deployment that has ended is taken over.
       */
      const takeLock = async () => {
        const until = Date.now() + lockTtlMs;
        for (;;) {
          try {
            await renewLock();
            return;
          } catch (error) {
            if (!(error instanceof LockedError)) throw error;
            const holder = await locks.held(lockName);
            if (!holder) continue;
            const other = deploymentOfOwner(holder.owner);
            if (other === undefined || Date.now() > until) throw error;
            const d = await deployments.get(other);
            if (!d || isFinished(d.status)) {
              await locks.release(lockName, holder.owner);
              continue;
            }
            await new Promise((resolve) => setTimeout(resolve, LOCK_WAIT_POLL_MS));
          }
        }
      };
      const begin = async (step: DeployStep) => {
        current = step;
        await renewLock();
        await deployments.stepStarted(deploymentId, step);
        await notifier.step(deploymentId, env, step);
      };
      const done = (step: DeployStep, detail?: string) =>
        deployments.stepFinished(deploymentId, step, 'succeeded', detail);
      const skip = (step: DeployStep, why: string) =>
        deployments.stepFinished(deploymentId, step, 'skipped', why);

      let sha: string | undefined;
      let phases: Promise<void> = Promise.resolve();
      let lockTaken = false;
      // Freed before the result is announced: whoever reads "done" may /lock or deploy at once.
      const unlock = async () => {
        if (!lockTaken) return;
        lockTaken = false;
        await locks.release(lockName, owner).catch(() => {});
      };
      try {
        if (env !== deps.env) {
          throw new Error(
            `deployment #${deploymentId} is for ${env}; only the ${env} instance deploys ${env}`,
          );
        }
        current = 'resolve';
        await takeLock();
        lockTaken = true;
        await begin('resolve');
        if (reattached) {
          // A worker or runner died in this deployment: back to one running container first.
          const converged = await deps.switcher.converge(containerName);
          if (converged) log.warn({ deploymentId, converged }, 'converged after an interrupted deploy');
        }
        await deps.switcher.requireContainer(containerName);
        await report(deployment, 'in_progress', `lugh deploys ${deployment.ref}`);
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
        await deployments.setImage(deploymentId, image.tag);
        await done('build', `${image.tag}${image.reused ? ' (reused)' : ''}`);

        if (typeof deps.backup === 'function') {
          await begin('backup');
          await done('backup', await deps.backup(sha));
        } else {
          await skip('backup', deps.backup);
        }

        await begin('migrate');
        const migration = await deps.switcher.runMigration({
          containerName,
          image: image.tag,
          sha,
          timeoutMs: deps.migrateTimeoutMs ?? 300_000,
        });
        if (migration) await done('migrate', migration.command.join(' '));
        else await skip('migrate', 'the image declares no lugh.migrate command');

        await begin('start');
        const previousSha = (await deps.switcher.runningSha(containerName)) ?? undefined;
        await deps.switcher.switchTo({
          containerName,
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

        await begin('cleanup');
        const removed = await deps.builder.prune(
          env,
          deps.keepImages ?? 5,
          await deps.switcher.imagesInUse(containerName),
        );
        await done('cleanup', removed.length ? `removed ${removed.join(', ')}` : 'nothing to remove');

        await begin('record');
        await deployments.finish(deploymentId, { status: 'succeeded', sha, previousSha });
        await report(deployment, 'success', `${env} runs ${sha.slice(0, 7)}`);
        await done('record');
        await unlock();
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
        const message = error instanceof DeployFailureWithLog ? error.message : describeDockerError(error);
        await phases.catch(() => {});
        log.warn({ err: error, deploymentId, step: current }, 'deploy failed');
        await deployments.stepFinished(deploymentId, current, 'failed', message);
        await deployments.finish(deploymentId, { status, sha, error: message });
        await report(deployment, rolledBack ? 'failure' : 'error', message);
        await unlock();
        await notifier.finished(deploymentId, env, { status, sha, step: current, message, logTail });
        return status;
      } finally {
        await unlock();
      }
    },

    /**
     * Ends a deployment whose runner died and will not be tried again, as run()'s own
     * failure path would: the environment back to one running app container, the step it
     * reached failed, GitHub told, the lock freed, then the chat told.
     */
    async abandon(deploymentId: number, why: string, logTail?: readonly string[]): Promise<void> {
      const d = await deployments.get(deploymentId);
      if (!d || isFinished(d.status)) return;
      const put = await deps.switcher.converge(deps.containerName(d.env)).then(
        () => 'the environment was put back to one running container',
        (error: unknown) =>
          `the environment could not be put back to one running container: ${describeDockerError(error)}`,
      );
      const message = `${why}; ${put}`;
      const step = (d.step as DeployStep | null) ?? 'resolve';
      await deployments.stepFinished(deploymentId, step, 'failed', message);
      await deployments.finish(deploymentId, { status: 'failed', error: message });
      await report(d, 'error', message);
      await locks.release(deployLockName(d.env), deploymentOwner(deploymentId)).catch(() => {});
      await notifier.finished(deploymentId, d.env, { status: 'failed', step, message, logTail });
    },
  };
}

export type DeployRunner = ReturnType<typeof createDeployRunner>;
