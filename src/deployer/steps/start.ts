import { found, type Step, succeeded } from './step.js';

/** `replaces <container id>[ at <sha>]`: the container the switch replaces, and what it ran. */
const REPLACES = /^replaces ([0-9a-f]{12,64})(?: at ([0-9a-f]{7,40}))?$/;

/** The container a deploy's switch replaces (and what it ran), from the start step's record. */
export function replacedOf(detail: string | null | undefined): { id: string; sha?: string } | undefined {
  const match = REPLACES.exec(detail ?? '');
  return match ? { id: match[1]!, sha: match[2] } : undefined;
}

/** The new version started beside the running one, taking no traffic. */
export const startStep: Step = {
  name: 'start',
  async run(ctx) {
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
  // Its work stands only once the switch it led to was verified (see the step runner).
  restore(ctx, detail) {
    if (!ctx.switchVerified) return false;
    ctx.previousSha = replacedOf(detail)?.sha;
    return true;
  },
};
