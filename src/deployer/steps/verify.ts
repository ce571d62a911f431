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

/** The new version must stay healthy for a while, or the previous one runs again. */
export const verifyStep: Step = {
  name: 'verify',
  async run(ctx) {
    const switched = found(ctx.switched, 'switched container');
    ctx.undo = undefined; // verify rolls back itself when the new version falls sick
    await ctx.runtime.verify(switched, verifyWindowMs(ctx.deployment.trigger, ctx.settings.verifyMs));
    return succeeded();
  },
  // Recorded as passed: the new version passed its gates and keeps running.
  restore: () => true,
};
