import { found, type Step, succeeded } from './step.js';

/** The running version stops and the new one takes its name and ports; rolled back if it is not healthy. */
export const switchStep: Step = {
  name: 'switch',
  async run(ctx) {
    const switched = await ctx.runtime.switchOver(
      found(ctx.preflight, 'pre-flight container'),
      ctx.settings.healthDeadlineMs,
      ctx.holdLock,
    );
    ctx.switched = switched;
    // Unverified: a deploy that stops before verify has taken over puts the previous one back.
    ctx.undo = async () => (await ctx.runtime.rollback(switched, 'was not verified')).message;
    return succeeded();
  },
  // Its work stands once the switch was verified; before that a resumed run does it again.
  restore: (ctx) => ctx.switchVerified === true,
};
