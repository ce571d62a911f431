import { found, type Step, succeeded } from './step.js';

/** The new version must become healthy before the running one stops; it is removed either way. */
export const healthStep: Step = {
  name: 'health',
  async run(ctx) {
    const preflight = found(ctx.preflight, 'pre-flight container');
    ctx.undo = undefined; // awaitPreflight removes it, whatever happens
    await ctx.runtime.awaitPreflight(preflight, ctx.settings.healthDeadlineMs);
    return succeeded();
  },
  // Its work stands once the switch was verified; before that a resumed run does it again.
  restore: (ctx) => ctx.switchVerified === true,
};
