import { randomUUID } from 'node:crypto';
import type { DeployNotifier, DeployStep } from '../../src/deployer/deploy-notifier.js';
import type { ImageBuilder } from '../../src/deployer/image-builder.js';
import type { Runtime } from '../../src/deployer/runtime/runtime.js';
import { createStepRunner } from '../../src/deployer/step-runner.js';
import { type Step, type StepContext, succeeded } from '../../src/deployer/steps/step.js';
import { createDeploymentStore } from '../../src/store/deployments.js';
import { createLockStore } from '../../src/store/locks.js';
import { createPool } from '../../src/store/pool.js';
import { silentLogger as logger } from './logger.js';

/**
 * One lugh process whose deploys run scripted steps (no Docker, no forge: `branchSha`
 * answers `sha`): its own Postgres pool named `<name>-<label>-…` (so that ending it frees
 * its run's claim) and its step runner over it.
 */
export function scriptedProcess(options: {
  readonly databaseUrl: string;
  readonly name: string;
  readonly label: string;
  readonly sha: string;
  readonly steps: Step[];
  readonly notifier: DeployNotifier;
}) {
  const appName = `${options.name}-${options.label}-${randomUUID().slice(0, 8)}`;
  const pool = createPool(options.databaseUrl, appName);
  const deployments = createDeploymentStore(pool);
  const runner = createStepRunner({
    env: 'staging',
    logger,
    deployments,
    locks: createLockStore(pool),
    source: {
      branchSha: async () => options.sha,
      commitTree: () => Promise.reject(new Error('no tree')),
      tarball: () => Promise.reject(new Error('no tarball')),
      serviceFile: async () => undefined,
    },
    builder: {} as ImageBuilder,
    runtime: { converge: async () => undefined } as unknown as Runtime,
    notifier: options.notifier,
    containerName: () => `lugh-test-${options.name}-app`,
    backup: 'not backed up',
    steps: options.steps,
  });
  return { pool, deployments, runner, appName };
}

/**
 * Stand-ins of the deploy's steps `names`, each run counted in `runs` (`<id> <step>`); the
 * first three keep their work across a crash, as the real ones do (resolve the commit,
 * build the image, migrate done once done), and record finishes the row. `hold` is where a
 * test makes a step wait (a hang, a gate, an update followed until it ends).
 */
export function scriptedSteps(options: {
  readonly sha: string;
  readonly runs: Map<string, number>;
  readonly names: readonly DeployStep[];
  readonly hold?: (name: DeployStep, ctx: StepContext) => Promise<void>;
}): Step[] {
  const { sha, runs } = options;
  const restores: Partial<Record<DeployStep, Step['restore']>> = {
    resolve: (ctx, detail) => {
      ctx.sha = detail ?? undefined;
      return detail === sha;
    },
    build: (ctx) => Boolean(ctx.deployment.image),
    migrate: () => true,
  };
  return options.names.map((name) => ({
    name,
    async run(ctx) {
      const key = `${ctx.deployment.id} ${name}`;
      runs.set(key, (runs.get(key) ?? 0) + 1);
      await options.hold?.(name, ctx);
      if (name === 'resolve') ctx.sha = sha;
      if (name === 'build') await ctx.deployments.setImage(ctx.deployment.id, `app:${sha.slice(0, 7)}`);
      if (name === 'record')
        await ctx.deployments.finish(ctx.deployment.id, { status: 'succeeded', sha: ctx.sha });
      return succeeded(name === 'resolve' ? sha : undefined);
    },
    restore: restores[name],
  }));
}
