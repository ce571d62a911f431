import type { ImageOrigin } from '../../store/deployments.js';
import type { BuiltImage } from '../image-builder.js';
import { imageOrigin } from '../image-ledger.js';
import { buildKey } from '../image-plan.js';
import { APP_SERVICE, type Build, buildsOf, type ServiceSet } from '../service-set.js';
import { onlyServiceOf } from './resolve.js';
import { found, type Step, type StepContext, type StepResult, succeeded } from './step.js';

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
 * With a registry (DEPLOY_REGISTRY), the image pushed there, once: what the later steps
 * deploy is its digest reference, so every node runs the same bytes. Without one, the
 * local tag. Also what the step's record says of it.
 */
async function deployable(ctx: StepContext, image: BuiltImage): Promise<{ image: string; said: string }> {
  if (!ctx.registry) return { image: image.tag, said: '' };
  const published = await ctx.registry.publish({ imageId: image.imageId, localShaTag: image.shaTag });
  const how = published.pushedAs ? `pushed as ${published.pushedAs}` : 'pushed before';
  return { image: published.reference, said: ` → ${published.reference} (${how})` };
}

/** A build as lugh.yml names it: its Dockerfile, and its context when not the root. */
function buildText(build: Build): string {
  return build.context === '.' ? build.dockerfile : `${build.dockerfile} in ${build.context}`;
}

/**
 * Each distinct build of a declared set once (services that share one share its image),
 * from one download of the commit's source; fills each service's image. Returns the app
 * service's image (migrate runs it, the ledger and the row know it; none in a set cut to
 * one other service), the first build's, and what was built.
 */
async function buildSet(
  ctx: StepContext,
  set: ServiceSet,
  sha: string,
  tree: string | undefined,
): Promise<{
  app: BuiltImage | undefined;
  images: Map<string, string>;
  summary: string;
  first: BuiltImage;
  /** What is deployed of a local tag: itself, or with a registry its digest reference. */
  deployedAs: (image: BuiltImage) => string;
}> {
  let source: Promise<Buffer> | undefined;
  const tarball = () => {
    source ??= ctx.source.tarball(sha);
    return source;
  };
  const images = new Map<string, string>();
  /** Local tag → what is deployed (its digest reference with a registry): each image pushed once. */
  const deployed = new Map<string, string>();
  const built: string[] = [];
  const reused: string[] = [];
  let app: BuiltImage | undefined;
  let first: BuiltImage | undefined;
  for (const { build, services } of buildsOf(set)) {
    const image = await ctx.builder.ensure({
      env: ctx.env,
      sha,
      tree,
      tarball,
      buildArgs: ctx.settings.buildArgs,
      build,
    });
    if (!deployed.has(image.tag)) deployed.set(image.tag, (await deployable(ctx, image)).image);
    for (const service of services) images.set(service, deployed.get(image.tag)!);
    if (services.includes(APP_SERVICE)) app = image;
    first ??= image;
    (image.reused ? reused : built).push(`${buildText(build)} (${services.join(', ')})`);
  }
  const summary = [
    built.length ? `built ${built.join(', ')}` : '',
    reused.length ? `reused ${reused.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return {
    app,
    images,
    summary,
    first: found(first, 'image of the set'),
    deployedAs: (image) => deployed.get(image.tag) ?? image.tag,
  };
}

/**
 * The commit's image: built once per tree and build arguments, reused by every commit with
 * the same files (the merge commit production deploys runs the image staging ran). For a
 * set declared in lugh.yml, each distinct build once, and each service's image.
 */
export const buildStep: Step = {
  name: 'build',
  async run(ctx) {
    const sha = found(ctx.sha, 'commit');
    const tree = await treeOf(ctx, sha);
    const set = ctx.serviceSet;
    if (set?.declared) return buildDeclared(ctx, set, sha, tree);
    const image = await ctx.builder.ensure({
      env: ctx.env,
      sha,
      tree,
      tarball: () => ctx.source.tarball(sha),
      buildArgs: ctx.settings.buildArgs,
    });
    const origin = await originOf(ctx, image);
    const target = await deployable(ctx, image);
    await ctx.deployments.setImage(ctx.deployment.id, target.image, { imageId: image.imageId, tree, origin });
    ctx.image = target.image;
    ctx.imageId = image.imageId;
    ctx.tree = tree;
    ctx.buildKey = image.key;
    const how = howFound(ctx, origin, image.reused !== undefined);
    return succeeded(`${image.tag}${how ? ` (${how})` : ''}${target.said}`);
  },
  restore(ctx) {
    const d = ctx.deployment;
    if (!d.image) return false;
    const set = ctx.serviceSet;
    if (set?.declared) {
      // Every service's image, as this step found them before the crash; else build again.
      const recorded = d.serviceImages;
      if (!recorded || set.services.some((s) => typeof recorded[s.name] !== 'string')) return false;
      ctx.serviceImages = new Map(set.services.map((s) => [s.name, recorded[s.name]!]));
    }
    const appBuild = set?.services.find((s) => s.name === APP_SERVICE)?.build;
    ctx.image = d.image;
    ctx.imageId = d.imageId ?? undefined;
    ctx.tree = d.treeSha ?? undefined;
    // One service alone: no build key, as run() leaves it (the ledger is not told).
    ctx.buildKey =
      d.treeSha && !onlyServiceOf(ctx) ? buildKey(d.treeSha, ctx.settings.buildArgs, appBuild) : undefined;
    return true;
  },
};

async function buildDeclared(
  ctx: StepContext,
  set: ServiceSet,
  sha: string,
  tree: string | undefined,
): Promise<StepResult> {
  const built = await buildSet(ctx, set, sha, tree);
  const { images, summary, deployedAs } = built;
  if (onlyServiceOf(ctx)) {
    // One service rolled back alone: its image is the row's. It is not the environment's
    // image for its build key (the others run another commit), so the ledger is not told.
    await ctx.deployments.setImage(ctx.deployment.id, deployedAs(built.first), {
      imageId: built.first.imageId,
      tree,
    });
    await ctx.deployments.setServiceImages(ctx.deployment.id, Object.fromEntries(images));
    ctx.image = deployedAs(built.first);
    ctx.imageId = built.first.imageId;
    ctx.tree = tree;
    ctx.serviceImages = images;
    return succeeded(`${built.first.tag} · ${summary}`);
  }
  const app = found(built.app, `image of the ${APP_SERVICE} service`);
  const origin = await originOf(ctx, app);
  await ctx.deployments.setImage(ctx.deployment.id, deployedAs(app), { imageId: app.imageId, tree, origin });
  await ctx.deployments.setServiceImages(ctx.deployment.id, Object.fromEntries(images));
  ctx.image = deployedAs(app);
  ctx.imageId = app.imageId;
  ctx.tree = tree;
  ctx.buildKey = app.key;
  ctx.serviceImages = images;
  const how = howFound(ctx, origin, app.reused !== undefined);
  return succeeded(`${app.tag}${how ? ` (${how})` : ''} · ${summary}`);
}
