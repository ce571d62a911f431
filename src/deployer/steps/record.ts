import { found, type Step, type StepContext, succeeded } from './step.js';

/**
 * Says which image this environment now runs for its build key, for the environment
 * downstream to reuse; never fails the deploy (production then builds its own).
 */
async function sayWhichImageRuns(ctx: StepContext, sha: string): Promise<void> {
  const { images, imageId, buildKey, tree } = ctx;
  if (!images || !imageId || !buildKey || !tree) return;
  await images
    .ran(buildKey, {
      env: ctx.env,
      deploymentId: ctx.deployment.id,
      imageId,
      sha,
      tree,
      since: new Date().toISOString(),
    })
    .catch((error: unknown) => ctx.log.warn({ err: error }, 'could not say which image runs'));
}

/** The deployed commit recorded, only now that it is healthy, and GitHub told. */
export const recordStep: Step = {
  name: 'record',
  async run(ctx) {
    const sha = found(ctx.sha, 'commit');
    await ctx.deployments.finish(ctx.deployment.id, {
      status: 'succeeded',
      sha,
      previousSha: ctx.previousSha,
    });
    await sayWhichImageRuns(ctx, sha);
    await ctx.reportToGitHub('success', `${ctx.env} runs ${sha.slice(0, 7)}`);
    return succeeded();
  },
};
