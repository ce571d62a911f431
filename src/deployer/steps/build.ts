import type { ImageOrigin } from '../../store/deployments.js';
import { imageOrigin } from '../image-ledger.js';
import { buildKey } from '../image-plan.js';
import { found, type Step, type StepContext, succeeded } from './step.js';

/** The commit's tree; without it the image is found by the commit alone. */
async function treeOf(ctx: StepContext, sha: string): Promise<string | undefined> {
  try {
    return await ctx.source.commitTree(sha);
  } catch (error) {
    ctx.log.warn(
      { err: error, sha },
      'the tree of the commit is unknown: its image is found by the commit only',
    );
    return undefined;
  }
}

/** Compared with what upstream (staging) ran for the same key; undefined when that cannot be asked. */
async function originOf(
  ctx: StepContext,
  image: { imageId: string; key?: string; reused?: 'sha' | 'tree' },
): Promise<ImageOrigin | undefined> {
  const upstream = ctx.images?.upstream;
  if (!upstream || !image.key) return undefined;
  try {
    return imageOrigin(image, await upstream.ran(image.key));
  } catch (error) {
    ctx.log.warn({ err: error }, `could not read which image ${upstream.env} ran`);
    return undefined;
  }
}

/** What the step's record says of the image: how it was found, in a few words. */
function howFound(ctx: StepContext, origin: ImageOrigin | undefined, reused: boolean): string | undefined {
  const upstream = ctx.images?.upstream?.env;
  if (origin?.kind === 'reused') return `same image ${origin.fromEnv} ran`;
  if (origin?.kind === 'built') return 'built new: tree differs';
  if (origin?.kind === 'rebuilt') return `built new: the image ${upstream} ran is gone`;
  return reused ? 'reused' : undefined;
}

/**
 * The commit's image: built once per tree and build arguments, reused by every commit with
 * the same files (the merge commit production deploys runs the image staging ran).
 */
export const buildStep: Step = {
  name: 'build',
  async run(ctx) {
    const sha = found(ctx.sha, 'commit');
    const tree = await treeOf(ctx, sha);
    const image = await ctx.builder.ensure({
      env: ctx.env,
      sha,
      tree,
      tarball: () => ctx.source.tarball(sha),
      buildArgs: ctx.settings.buildArgs,
    });
    const origin = await originOf(ctx, image);
    await ctx.deployments.setImage(ctx.deployment.id, image.tag, { imageId: image.imageId, tree, origin });
    ctx.image = image.tag;
    ctx.imageId = image.imageId;
    ctx.tree = tree;
    ctx.buildKey = image.key;
    const how = howFound(ctx, origin, image.reused !== undefined);
    return succeeded(`${image.tag}${how ? ` (${how})` : ''}`);
  },
  restore(ctx) {
    const d = ctx.deployment;
    if (!d.image) return false;
    ctx.image = d.image;
    ctx.imageId = d.imageId ?? undefined;
    ctx.tree = d.treeSha ?? undefined;
    ctx.buildKey = d.treeSha ? buildKey(d.treeSha, ctx.settings.buildArgs) : undefined;
    return true;
  },
};
