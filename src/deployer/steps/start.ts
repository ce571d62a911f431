import { containersOf } from '../service-set.js';
import { onlyServiceOf } from './resolve.js';
import { isSetDeploy } from './set-deploy.js';
import { found, type Step, succeeded } from './step.js';

/**
 * `replaces <id>[ at <sha>]`: what the switch replaces, and what it ran. Docker: the running
 * container's id (hex); Swarm: the image reference the service ran (a tag or a digest
 * reference, never a space), which a resumed run updates the service back to.
 */
const REPLACES = /^replaces (\S+?)(?: at ([0-9a-f]{7,40}))?$/;

/** The container a deploy's switch replaces (and what it ran), from the start step's record. */
export function replacedOf(detail: string | null | undefined): { id: string; sha?: string } | undefined {
  const match = REPLACES.exec(detail ?? '');
  return match ? { id: match[1]!, sha: match[2] } : undefined;
}

/**
 * `set of <n> containers[, <service> at <sha>]`: a set deploy's start record, and the version
 * it replaces (the app's; a rollback of one service alone: that service's).
 */
const SET_START = /^set of \d+ containers(?:, [\w.-]+ at ([0-9a-f]{7,40}))?$/;

/**
 * The new version started beside the running one, taking no traffic. For a declared set:
 * the set and every container recorded as waiting; each container's pre-flight starts in
 * the switch step, one at a time (see set-deploy.ts).
 */
export const startStep: Step = {
  name: 'start',
  async run(ctx) {
    if (isSetDeploy(ctx)) {
      const set = found(ctx.serviceSet, 'service set');
      const containers = containersOf(set, ctx.containerName);
      // One service rolled back alone replaces that service's version, not the app's.
      const only = onlyServiceOf(ctx) ? containers[0] : undefined;
      ctx.previousSha = (await ctx.runtime.runningSha(only?.name ?? ctx.containerName)) ?? undefined;
      await ctx.deployments.setServices(ctx.deployment.id, set, containers);
      await ctx.notifier?.services?.(ctx.deployment.id, ctx.env);
      return succeeded(
        `set of ${containers.length} containers${ctx.previousSha ? `, ${only?.service ?? 'app'} at ${ctx.previousSha}` : ''}`,
      );
    }
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
    // Recorded for a run resumed after a crash: which container to put back if the switch
    // was not verified, and which version the record names as the previous one.
    return succeeded(`replaces ${preflight.currentId}${ctx.previousSha ? ` at ${ctx.previousSha}` : ''}`);
  },
  // Its work stands only once the switch it led to was verified, or completed by the
  // orchestrator while the run was away (Swarm: see the step runner).
  restore(ctx, detail) {
    if (!ctx.switchVerified && !ctx.switched) return false;
    ctx.previousSha = replacedOf(detail)?.sha ?? SET_START.exec(detail ?? '')?.[1];
    return true;
  },
};
