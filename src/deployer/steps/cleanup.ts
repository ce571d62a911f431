import type { Step } from './step.js';
import { succeeded } from './step.js';

/** The environment's old images go, all but the newest few and the ones its containers use. */
export const cleanupStep: Step = {
  name: 'cleanup',
  async run(ctx) {
    const removed = await ctx.builder.prune(
      ctx.env,
      ctx.settings.keepImages,
      await ctx.runtime.imagesInUse(ctx.containerName),
    );
    return succeeded(removed.length ? `removed ${removed.join(', ')}` : 'nothing to remove');
  },
};
