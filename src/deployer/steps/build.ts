import { found, type Step, succeeded } from './step.js';

/** The commit's image: built once, reused by every environment that runs the commit. */
export const buildStep: Step = {
  name: 'build',
  async run(ctx) {
    const sha = found(ctx.sha, 'commit');
    const image = await ctx.builder.ensure({
      env: ctx.env,
      sha,
      tarball: () => ctx.source.tarball(sha),
      buildArgs: ctx.settings.buildArgs,
    });
    await ctx.deployments.setImage(ctx.deployment.id, image.tag);
    ctx.image = image.tag;
    return succeeded(`${image.tag}${image.reused ? ' (reused)' : ''}`);
  },
  restore(ctx) {
    if (!ctx.deployment.image) return false;
    ctx.image = ctx.deployment.image;
    return true;
  },
};
