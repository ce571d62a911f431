import { found, type Step, succeeded } from './step.js';

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
    await ctx.reportToGitHub('success', `${ctx.env} runs ${sha.slice(0, 7)}`);
    return succeeded();
  },
};
