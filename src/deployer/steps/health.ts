import { isSetDeploy } from './set-deploy.js';
import { found, type Step, succeeded } from './step.js';

/**
 * The new version must become healthy before the running one stops; it is removed, unless a
 * proxy will send it the traffic during the switch (then the switch removes it, or this undo).
 * A set's containers are gated one by one inside the switch step (set-deploy.ts).
 */
export const healthStep: Step = {
  name: 'health',
  skipWhy: (ctx) =>
    isSetDeploy(ctx) ? 'each container of the set is gated in the switch, one at a time' : undefined,
  async run(ctx) {
    const preflight = found(ctx.preflight, 'pre-flight container');
    ctx.undo = undefined; // awaitPreflight removes it, whatever happens
    await ctx.runtime.awaitPreflight(preflight, ctx.settings.healthDeadlineMs, ctx.progress);
    // A pre-flight kept for the proxy goes if the deploy stops before the switch takes it
    // (already gone otherwise: a no-op that adds nothing to the message).
    ctx.undo = async () => {
      await ctx.runtime.removePreflight(preflight);
      return undefined;
    };
    return succeeded();
  },
  // Its work stands once the switch was verified (or completed by Swarm while the run was
  // away); before that a resumed run does it again.
  restore: (ctx) => ctx.switchVerified === true || ctx.switched !== undefined,
};
