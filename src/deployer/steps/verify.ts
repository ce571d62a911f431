import { onlyServiceOf } from './resolve.js';
import { isSetDeploy, setContainerNames, setProgressOf, setRuntimeOf } from './set-deploy.js';
import { found, type Step, succeeded } from './step.js';

/**
 * A rollback's verify window at most. /rollback offers only releases that ran here, each
 * having stayed healthy through a whole window then; what its verify must still show is
 * that the release runs against today's database and settings, which the health gates
 * (readiness) and five more probes of its /healthz show, while the incident that asked for
 * the rollback waits for its "verified".
 */
export const ROLLBACK_VERIFY_MS = 1_000;

/** How long the new version must stay healthy after the switch: DEPLOY_VERIFY_SECONDS, shorter for a rollback. */
export function verifyWindowMs(trigger: string, verifyMs: number): number {
  return trigger === 'rollback' ? Math.min(verifyMs, ROLLBACK_VERIFY_MS) : verifyMs;
}

/**
 * The new version must stay healthy for a while, or the previous one runs again. A set:
 * every container it switched, watched together; then the containers of services (or
 * replicas) the set no longer has are removed (none when one service was rolled back alone).
 * One service where a set ran before: every container of that set but the app's own is
 * removed.
 */
export const verifyStep: Step = {
  name: 'verify',
  async run(ctx) {
    if (isSetDeploy(ctx)) {
      const runtime = setRuntimeOf(ctx);
      ctx.undo = undefined; // verifySet puts the set back itself
      await runtime.verifySet(
        found(ctx.switchedSet, 'switched set'),
        verifyWindowMs(ctx.deployment.trigger, ctx.settings.verifyMs),
        setProgressOf(ctx),
      );
      // One service rolled back alone: the set is that service only, and the others stay.
      if (onlyServiceOf(ctx)) return succeeded(`${onlyServiceOf(ctx)} alone: no other service was touched`);
      const removed = await runtime.removeStrays(ctx.containerName, setContainerNames(ctx));
      return succeeded(removed.length ? `removed ${removed.join(', ')}: no longer in the set` : undefined);
    }
    const switched = found(ctx.switched, 'switched container');
    ctx.undo = undefined; // verify rolls back itself when the new version falls sick
    await ctx.runtime.verify(
      switched,
      verifyWindowMs(ctx.deployment.trigger, ctx.settings.verifyMs),
      ctx.progress,
    );
    // A set ran here before (a rollback to a release from before lugh.yml, or the file
    // removed): its other containers go now, as a service removed from lugh.yml does. The
    // one service is verified: an engine that cannot list them leaves them, said in the log.
    const removed =
      (await ctx.runtime.removeStrays?.(ctx.containerName, [ctx.containerName]).catch((error: unknown) => {
        ctx.log.warn({ err: error }, "the earlier set's other containers could not be removed");
        return [];
      })) ?? [];
    return succeeded(removed.length ? `removed ${removed.join(', ')}: no longer in the set` : undefined);
  },
  // Recorded as passed: the new version passed its gates and keeps running.
  restore: () => true,
};
