import { found, type Step, succeeded } from './step.js';

/** The new version started beside the running one, taking no traffic. */
export const startStep: Step = {
  name: 'start',
  async run(ctx) {
    ctx.previousSha = (await ctx.runtime.runningSha(ctx.containerName)) ?? undefined;
    const preflight = await ctx.runtime.startPreflight({
      containerName: ctx.containerName,
      image: found(ctx.image, 'image'),
      sha: found(ctx.sha, 'commit'),
    });
    ctx.preflight = preflight;
    ctx.undo = async () => {
      await ctx.runtime.removePreflight(preflight);
      return `${ctx.containerName} keeps running`;
    };
    return succeeded();
  },
};
