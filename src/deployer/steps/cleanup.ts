import { containersOf } from '../service-set.js';
import { onlyServiceOf } from './resolve.js';
import type { Step, StepContext } from './step.js';
import { succeeded } from './step.js';

/** The images the environment's containers run, and their previous versions': every container of a declared set. */
async function imagesInUse(ctx: StepContext): Promise<string[]> {
  const set = ctx.serviceSet;
  const names = set?.declared ? containersOf(set, ctx.containerName).map((c) => c.name) : [ctx.containerName];
  const used = await Promise.all(names.map((name) => ctx.runtime.imagesInUse(name)));
  return [...new Set(used.flat())];
}

/**
 * The registry's side of retention (DEPLOY_REGISTRY): the manifests of the images no
 * environment keeps any more, in a few words; a registry that refuses is said, not failed.
 */
async function pruneRegistry(ctx: StepContext, inUse: readonly string[]): Promise<string | undefined> {
  if (!ctx.registry) return undefined;
  const { deleted, notDeleted } = await ctx.registry.prune(inUse);
  const host = ctx.registry.repository.host;
  const parts = [deleted.length ? `deleted ${deleted.join(', ')} from ${host}` : ''];
  if (notDeleted) {
    const which = notDeleted.tags.length ? `: ${notDeleted.tags.join(', ')} stay` : '';
    parts.push(`could not delete old tags from ${host} (${notDeleted.why})${which}`);
  }
  return parts.filter(Boolean).join('; ') || undefined;
}

/**
 * The environment's old images go, all but the newest few of each build and the ones its
 * containers use; with a registry, their manifests there too.
 */
export const cleanupStep: Step = {
  name: 'cleanup',
  // Its set is that service only: the images the other services run are not known here.
  skipWhy: (ctx) =>
    onlyServiceOf(ctx)
      ? 'one service rolled back alone: the images stay until the next deploy of the set'
      : undefined,
  async run(ctx) {
    const inUse = await imagesInUse(ctx);
    const removed = await ctx.builder.prune(ctx.env, ctx.settings.keepImages, inUse);
    const registry = await pruneRegistry(ctx, inUse);
    const local = removed.length ? `removed ${removed.join(', ')}` : registry ? '' : 'nothing to remove';
    return succeeded([local, registry].filter(Boolean).join('; '));
  },
};
