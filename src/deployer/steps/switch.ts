import { isSetDeploy, setProgressOf, setRuntimeOf, setTargetOf } from './set-deploy.js';
import { found, type Step, succeeded } from './step.js';

/**
 * The running version stops and the new one takes its name and ports; rolled back if it is not
 * healthy. A declared set: each container in order gets its pre-flight, its health gate and its
 * switch, one at a time; one that fails puts back every container switched before it.
 */
export const switchStep: Step = {
  name: 'switch',
  async run(ctx) {
    if (isSetDeploy(ctx)) {
      const runtime = setRuntimeOf(ctx);
      const progress = setProgressOf(ctx);
      const switchedSet = await runtime.switchSet(
        setTargetOf(ctx),
        ctx.settings.healthDeadlineMs,
        progress,
        ctx.holdLock,
      );
      ctx.switchedSet = switchedSet;
      ctx.undo = async () => (await runtime.rollbackSet(switchedSet, 'was not verified', progress)).message;
      return succeeded(`switched ${switchedSet.members.length} containers`);
    }
    const switched = await ctx.runtime.switchOver(
      found(ctx.preflight, 'pre-flight container'),
      ctx.settings.healthDeadlineMs,
      ctx.holdLock,
      ctx.progress,
    );
    ctx.switched = switched;
    // Unverified: a deploy that stops before verify has taken over puts the previous one back.
    ctx.undo = async () => (await ctx.runtime.rollback(switched, 'was not verified')).message;
    return succeeded();
  },
  // Its work stands once the switch was verified (or completed by Swarm while the run was
  // away); before that a resumed run does it again.
  restore: (ctx) => ctx.switchVerified === true || ctx.switched !== undefined,
};
