import { found, type Step, succeeded } from './step.js';

/** The new version must stay healthy for a while, or the previous one runs again. */
export const verifyStep: Step = {
  name: 'verify',
  async run(ctx) {
    const switched = found(ctx.switched, 'switched container');
    ctx.undo = undefined; // verify rolls back itself when the new version falls sick
    await ctx.runtime.verify(switched, ctx.settings.verifyMs);
    return succeeded();
  },
  // Recorded as passed: the new version passed its gates and keeps running.
  restore: () => true,
};
